import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatHostAddress, parseHostAddress, type HostAddress } from '../../common/host-address.js';

export const DEFAULT_HOST = 'unix:///var/run/berth.sock';

/** The global options the docker CLI takes, before environment defaults are applied. */
export interface GlobalOptions {
  host?: string[];
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  config?: string;
  debug?: boolean;
  logLevel?: string;
}

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  verify: boolean;
}

export interface ConnectionSettings {
  address: HostAddress;
  display: string;
  tls?: TlsMaterial;
  /** A version pinned with DOCKER_API_VERSION skips negotiation. */
  pinnedVersion?: string;
  configDir: string;
}

export function configDir(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return options.config ?? env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
}

/** Resolves where and how to connect, with the docker CLI's precedence: flags, then env, then defaults. */
export function resolveConnection(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionSettings {
  const hosts = options.host ?? [];
  if (hosts.length > 1) throw new Error('Specify only one -H');
  const verify = options.tlsverify ?? (env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '');
  const useTls = verify || options.tls === true;
  const hostText = hosts[0] ?? env.DOCKER_HOST ?? DEFAULT_HOST;
  const address = parseHostAddress(hostText, '/var/run/berth.sock', useTls);
  if (address.proto === 'fd') throw new Error(`unable to parse docker host \`${hostText}\``);
  const settings: ConnectionSettings = {
    address,
    display: formatHostAddress(address),
    pinnedVersion: env.DOCKER_API_VERSION || undefined,
    configDir: configDir(options, env),
  };
  if (useTls) settings.tls = loadTls(options, env, verify);
  return settings;
}

function loadTls(options: GlobalOptions, env: NodeJS.ProcessEnv, verify: boolean): TlsMaterial {
  const certDir = env.DOCKER_CERT_PATH || configDir(options, env);
  const pick = (flag: string | undefined, name: string): Buffer | undefined => {
    const file = flag ?? path.join(certDir, name);
    if (existsSync(file)) return readFileSync(file);
    if (flag) throw new Error(`Could not load X509 key pair: open ${flag}: no such file or directory`);
    return undefined;
  };
  return {
    ca: pick(options.tlscacert, 'ca.pem'),
    cert: pick(options.tlscert, 'cert.pem'),
    key: pick(options.tlskey, 'key.pem'),
    verify,
  };
}
