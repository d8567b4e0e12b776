import { readFileSync, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Server } from 'node:net';
import { invalidParameter } from '../common/errors.js';
import {
  formatHostAddress,
  isLoopbackHost,
  parseHostAddress,
  type HostAddress,
} from '../common/host-address.js';
import { log } from '../common/log.js';
import type { ApiServer } from '../api/server.js';
import { DEFAULT_UNIX_SOCKET, type DaemonConfig } from './config/options.js';

const SD_LISTEN_FDS_START = 3;

export interface Listener {
  address: string;
  server: http.Server | https.Server;
}

/** Opens every configured listener; fails before any is left half-open. */
export async function openListeners(config: DaemonConfig, api: ApiServer): Promise<Listener[]> {
  const hosts = config.hosts.length > 0 ? config.hosts : [`unix://${DEFAULT_UNIX_SOCKET}`];
  const tlsOn = config.tls || config.tlsverify;
  const addresses = hosts.map((h) => parseHostAddress(h, DEFAULT_UNIX_SOCKET, tlsOn));
  for (const address of addresses) checkAllowed(address, config);
  const opened: Listener[] = [];
  try {
    for (const address of addresses) opened.push(...(await openOne(address, config, api)));
  } catch (err) {
    await closeListeners(opened);
    throw err;
  }
  return opened;
}

/** A daemon API reachable from the network without client certificates is root for anyone. */
function checkAllowed(address: HostAddress, config: DaemonConfig): void {
  if (
    address.proto !== 'tcp' ||
    isLoopbackHost(address.host) ||
    config.tlsverify ||
    config['allow-insecure-tcp']
  )
    return;
  throw invalidParameter(
    `refusing to listen on ${formatHostAddress(address)} without --tlsverify: anyone who reaches it controls this host (set allow-insecure-tcp to override)`,
  );
}

function createServer(config: DaemonConfig, api: ApiServer, tls: boolean): http.Server | https.Server {
  const server = tls
    ? https.createServer(
        {
          key: readFileSync(config.tlskey!),
          cert: readFileSync(config.tlscert!),
          ca: config.tlscacert ? readFileSync(config.tlscacert) : undefined,
          requestCert: config.tlsverify,
          rejectUnauthorized: config.tlsverify,
          minVersion: 'TLSv1.2',
        },
        api.handleRequest,
      )
    : http.createServer(api.handleRequest);
  server.on('upgrade', api.handleUpgrade);
  // Streams such as logs -f, events and attach stay open for as long as the client wants.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 60_000;
  return server;
}

async function openOne(address: HostAddress, config: DaemonConfig, api: ApiServer): Promise<Listener[]> {
  switch (address.proto) {
    case 'unix':
      return [await listenUnix(address.path, config, api)];
    case 'tcp': {
      const server = createServer(config, api, config.tls || config.tlsverify);
      await listen(server, { host: address.host, port: address.port });
      log.info('API listen on', { address: formatHostAddress(address) });
      return [{ address: formatHostAddress(address), server }];
    }
    case 'fd':
      return listenActivated(address.fd, config, api);
  }
}

async function listenUnix(path: string, config: DaemonConfig, api: ApiServer): Promise<Listener> {
  // A socket file left by a daemon that died is stale: nothing can be listening on it while we hold the pidfile.
  await fs.rm(path, { force: true });
  const server = createServer(config, api, false);
  await listen(server, { path });
  const gid = groupId(config.group);
  if (gid !== undefined) await fs.chown(path, 0, gid);
  await fs.chmod(path, 0o660);
  log.info('API listen on', { address: path });
  return { address: `unix://${path}`, server };
}

/** systemd socket activation: LISTEN_FDS descriptors from fd 3 on, if meant for this process. */
function listenActivated(fd: number | undefined, config: DaemonConfig, api: ApiServer): Promise<Listener[]> {
  const pid = Number(process.env.LISTEN_PID);
  const count = Number(process.env.LISTEN_FDS);
  if (pid !== process.pid || !Number.isInteger(count) || count < 1) {
    throw invalidParameter(
      'no sockets found via socket activation: make sure the service was started by systemd',
    );
  }
  const fds = Array.from({ length: count }, (_, i) => SD_LISTEN_FDS_START + i);
  const chosen = fd === undefined ? fds : fds.filter((f) => f === fd);
  if (chosen.length === 0)
    throw invalidParameter(`too few socket activated files passed in by systemd: fd ${fd} not found`);
  return Promise.all(
    chosen.map(async (f) => {
      const server = createServer(config, api, config.tls || config.tlsverify);
      await listen(server, { fd: f });
      log.info('API listen on', { address: `fd://${f}` });
      return { address: `fd://${f}`, server };
    }),
  );
}

function listen(
  server: Server,
  options: { path?: string; host?: string; port?: number; fd?: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function groupId(name: string): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[0] === name);
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}

export async function closeListeners(listeners: readonly Listener[]): Promise<void> {
  await Promise.all(
    listeners.map(
      (l) =>
        new Promise<void>((resolve) => {
          l.server.close(() => resolve());
          l.server.closeAllConnections();
        }),
    ),
  );
}
