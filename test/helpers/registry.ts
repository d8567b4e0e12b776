/**
 * A real registry for tests: Debian's docker-registry (distribution 2.8) on
 * 127.0.0.1 with storage in a temp dir, optionally behind htpasswd, TLS, or
 * token auth served by a small token server written here (RS256 JWTs whose
 * x5c header carries a certificate the registry trusts).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TokenAuthOptions {
  /** The one account the token server knows; without it every request is anonymous and gets full access. */
  user?: string;
  password?: string;
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
}

export interface StartRegistryOptions {
  htpasswd?: { user: string; password: string };
  tokenAuth?: boolean | TokenAuthOptions;
  /** Serve HTTPS with a self-signed certificate (the client must treat it as insecure). */
  tls?: boolean;
}

export interface TokenRequestRecord {
  method: string;
  account?: string;
  scopes: string[];
  grantType?: string;
  offline: boolean;
}

export interface RunningRegistry {
  url: string;
  /** 127.0.0.1:PORT */
  host: string;
  /** Filesystem storage root of the registry. */
  storageDir: string;
  /** Requests the token server answered (token auth only). */
  tokenRequests: TokenRequestRecord[];
  /** The token server's URL (token auth only). */
  tokenRealm?: string;
  /** Where the registry keeps the bytes of a blob (for corruption tests). */
  blobDataPath(digest: string): string;
  stop(): Promise<void>;
}

export const TOKEN_SERVICE = 'berth-test-registry';
const TOKEN_ISSUER = 'berth-test-issuer';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A self-signed certificate (CA:TRUE) for 127.0.0.1, made with openssl. */
function makeCertificate(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

interface TokenServer {
  url: string;
  requests: TokenRequestRecord[];
  close(): Promise<void>;
}

/**
 * A token server in the shape of Docker Hub's: GET with Basic credentials
 * (and offline_token for a refresh token) or the OAuth2 POST; grants what is
 * asked to the configured account, nothing to anyone else.
 */
async function startTokenServer(
  keyPath: string,
  certPath: string,
  options: TokenAuthOptions,
): Promise<TokenServer> {
  const privateKey = createPrivateKey(readFileSync(keyPath));
  const certDer = new X509Certificate(readFileSync(certPath)).raw;
  const requests: TokenRequestRecord[] = [];
  const refreshTokens = new Map<string, string>();
  const expiresIn = options.expiresIn ?? 300;

  const issue = (account: string | undefined, scopes: string[], granted: boolean): string => {
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const now = Math.floor(Date.now() / 1000);
    const access = granted
      ? scopes.map((scope) => {
          const [type, ...rest] = scope.split(':');
          const actions = rest.pop() ?? '';
          return { type, name: rest.join(':'), actions: actions.split(',').filter(Boolean) };
        })
      : [];
    const claims = {
      iss: TOKEN_ISSUER,
      sub: account ?? '',
      aud: TOKEN_SERVICE,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    return `${signingInput}.${base64url(sign('sha256', Buffer.from(signingInput), privateKey))}`;
  };

  const checkPassword = (user: string | undefined, password: string | undefined): boolean =>
    options.user !== undefined && user === options.user && password === options.password;

  const reply = (res: http.ServerResponse, status: number, body: object): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (url.pathname !== '/token') return reply(res, 404, { details: 'not found' });
      if (req.method === 'GET') {
        const scopes = url.searchParams
          .getAll('scope')
          .flatMap((s) => s.split(' '))
          .filter(Boolean);
        const offline = url.searchParams.get('offline_token') === 'true';
        let account: string | undefined;
        const authz = req.headers.authorization ?? '';
        if (authz.startsWith('Basic ')) {
          const decoded = Buffer.from(authz.slice(6), 'base64').toString();
          const colon = decoded.indexOf(':');
          account = decoded.slice(0, colon);
          requests.push({ method: 'GET', account, scopes, offline });
          if (!checkPassword(account, decoded.slice(colon + 1))) {
            return reply(res, 401, { details: 'incorrect username or password' });
          }
        } else {
          requests.push({ method: 'GET', scopes, offline });
        }
        const granted = options.user === undefined || account !== undefined;
        const token = issue(account, scopes, granted);
        const body: Record<string, unknown> = {
          token,
          access_token: token,
          expires_in: expiresIn,
          issued_at: new Date().toISOString(),
        };
        if (offline && account !== undefined) {
          const refresh = randomUUID();
          refreshTokens.set(refresh, account);
          body.refresh_token = refresh;
        }
        return reply(res, 200, body);
      }
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        const grantType = form.get('grant_type') ?? '';
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const offline = form.get('access_type') === 'offline';
        let account: string | undefined;
        if (grantType === 'refresh_token') account = refreshTokens.get(form.get('refresh_token') ?? '');
        else if (
          grantType === 'password' &&
          checkPassword(form.get('username') ?? undefined, form.get('password') ?? undefined)
        ) {
          account = form.get('username') ?? undefined;
        }
        requests.push({ method: 'POST', account, scopes, grantType, offline });
        if (account === undefined) return reply(res, 401, { details: 'invalid grant' });
        const token = issue(account, scopes, true);
        const body: Record<string, unknown> = {
          access_token: token,
          expires_in: expiresIn,
          scope: scopes.join(' '),
        };
        if (offline) {
          const refresh = randomUUID();
          refreshTokens.set(refresh, account);
          body.refresh_token = refresh;
        }
        return reply(res, 200, body);
      }
      reply(res, 405, { details: 'method not allowed' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function registryConfig(
  storageDir: string,
  host: string,
  auth: string,
  tls: { key: string; cert: string } | undefined,
): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${host}`,
    `  secret: ${randomUUID()}`,
    ...(tls ? ['  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`] : []),
    auth,
  ].join('\n');
}

/** Polls /v2/ until the registry answers (any status) or the process dies. */
async function waitForRegistry(url: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`docker-registry exited early:\n${readFileSync(logPath, 'utf8')}`);
    const answered = await new Promise<boolean>((resolve) => {
      const get = url.startsWith('https:') ? https.get : http.get;
      const req = get(`${url}/v2/`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
    });
    if (answered) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer on ${url}:\n${readFileSync(logPath, 'utf8')}`);
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const storageDir = join(dir, 'storage');
  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await tokenServer?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    let auth = '';
    if (options.htpasswd) {
      const line = execFileSync('htpasswd', ['-Bbn', options.htpasswd.user, options.htpasswd.password], {
        encoding: 'utf8',
      });
      const htpasswdPath = join(dir, 'htpasswd');
      writeFileSync(htpasswdPath, line.trim() + '\n');
      auth = ['auth:', '  htpasswd:', '    realm: berth-test', `    path: ${htpasswdPath}`].join('\n');
    } else if (options.tokenAuth) {
      const signing = makeCertificate(dir, 'token-signer');
      tokenServer = await startTokenServer(
        signing.key,
        signing.cert,
        options.tokenAuth === true ? {} : options.tokenAuth,
      );
      auth = [
        'auth:',
        '  token:',
        `    realm: ${tokenServer.url}`,
        `    service: ${TOKEN_SERVICE}`,
        `    issuer: ${TOKEN_ISSUER}`,
        `    rootcertbundle: ${signing.cert}`,
      ].join('\n');
    }
    const tls = options.tls ? makeCertificate(dir, 'registry-tls') : undefined;
    const configPath = join(dir, 'config.yml');
    writeFileSync(configPath, registryConfig(storageDir, host, auth, tls));
    const logPath = join(dir, 'registry.log');
    const logFd = openSync(logPath, 'a');
    try {
      child = spawn('/usr/bin/docker-registry', ['serve', configPath], { stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    const url = `${tls ? 'https' : 'http'}://${host}`;
    await waitForRegistry(url, child, logPath);
    return {
      url,
      host,
      storageDir,
      tokenRequests: tokenServer?.requests ?? [],
      tokenRealm: tokenServer?.url,
      blobDataPath: (digest: string) => {
        const [algorithm, hex] = digest.split(':');
        return join(storageDir, 'docker/registry/v2/blobs', algorithm, hex.slice(0, 2), hex, 'data');
      },
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
