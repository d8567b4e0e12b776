import { isEngineError, invalidParameter } from '../../common/errors.js';
import { parseCidr } from '../../common/cidr.js';
import { parseHostAddress } from '../../common/host-address.js';
import { isLogLevel } from '../../common/log.js';
import { DEFAULT_UNIX_SOCKET, OPTIONS, type DaemonConfig } from './options.js';

export const LOG_DRIVERS = ['json-file', 'local', 'none'] as const;
export const BUILTIN_RUNTIMES = ['runc'] as const;

type Check = (config: DaemonConfig) => string | undefined;

const typeChecks: Check[] = OPTIONS.map((option) => (config) => {
  const value = config[option.key] as unknown;
  if (value === undefined) return undefined;
  const ok = {
    bool: () => typeof value === 'boolean',
    string: () => typeof value === 'string',
    int: () => Number.isInteger(value),
    list: () => Array.isArray(value) && value.every((v) => typeof v === 'string'),
    map: () => isRecord(value) && Object.values(value).every((v) => typeof v === 'string'),
    runtime: () =>
      isRecord(value) && Object.values(value).every((v) => isRecord(v) && typeof v.path === 'string'),
    pool: () =>
      Array.isArray(value) &&
      value.every((v) => isRecord(v) && typeof v.base === 'string' && Number.isInteger(v.size)),
  }[option.kind]();
  return ok ? undefined : `invalid value for ${option.key}: ${JSON.stringify(value)}`;
});

const semanticChecks: Check[] = [
  (c) => (isLogLevel(c['log-level']) ? undefined : `invalid log level: ${c['log-level']}`),
  (c) =>
    c['max-concurrent-downloads'] < 0
      ? `invalid max concurrent downloads: ${c['max-concurrent-downloads']}`
      : undefined,
  (c) =>
    c['max-concurrent-uploads'] < 0
      ? `invalid max concurrent uploads: ${c['max-concurrent-uploads']}`
      : undefined,
  (c) => (c['shutdown-timeout'] < -1 ? `invalid shutdown-timeout: ${c['shutdown-timeout']}` : undefined),
  (c) =>
    (LOG_DRIVERS as readonly string[]).includes(c['log-driver'])
      ? undefined
      : `logging driver not supported: ${c['log-driver']} (supported: ${LOG_DRIVERS.join(', ')})`,
  (c) =>
    c.bip === undefined || parseCidr(c.bip)?.family === 4
      ? undefined
      : `invalid bip: ${c.bip}: must be an IPv4 CIDR`,
  (c) => c['default-address-pools'].map(checkPool).find((m) => m !== undefined),
  (c) =>
    c.bridge === undefined || /^[A-Za-z0-9_.-]{1,15}$/.test(c.bridge)
      ? undefined
      : `invalid bridge name: ${c.bridge}`,
  (c) => (c.mtu === undefined || (c.mtu >= 68 && c.mtu <= 65535) ? undefined : `invalid MTU: ${c.mtu}`),
  (c) =>
    c.labels
      .map((l) => (/^[^=]+=/.test(l) ? undefined : `invalid label '${l}': must be key=value`))
      .find(Boolean),
  (c) => c['registry-mirrors'].map(checkMirror).find((m) => m !== undefined),
  (c) => c['insecure-registries'].map(checkRegistry).find((m) => m !== undefined),
  (c) => checkRuntimes(c),
  (c) => checkHosts(c),
  (c) => (c.tlsverify && !c.tlscacert ? 'tlsverify needs tlscacert' : undefined),
  (c) =>
    (c.tls || c.tlsverify) && (!c.tlscert || !c.tlskey) ? 'TLS needs both tlscert and tlskey' : undefined,
];

function checkPool(pool: { base: string; size: number }): string | undefined {
  const cidr = parseCidr(pool.base);
  if (!cidr) return `invalid default address pool base: ${pool.base}`;
  if (pool.size < cidr.prefix || pool.size > (cidr.family === 4 ? 32 : 128)) {
    return `invalid default address pool size ${pool.size} for base ${pool.base}`;
  }
  return undefined;
}

function checkMirror(mirror: string): string | undefined {
  try {
    const url = new URL(mirror);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return `invalid mirror: unsupported scheme "${url.protocol.slice(0, -1)}" in "${mirror}"`;
    return undefined;
  } catch {
    return `invalid mirror: "${mirror}" is not a valid URI`;
  }
}

function checkRegistry(registry: string): string | undefined {
  if (registry.includes('://')) return `insecure registry ${registry} should not contain '://'`;
  if (registry.includes('/') && !parseCidr(registry))
    return `insecure registry ${registry} is not a valid CIDR or host`;
  return undefined;
}

function checkRuntimes(c: DaemonConfig): string | undefined {
  for (const name of Object.keys(c.runtimes)) {
    if ((BUILTIN_RUNTIMES as readonly string[]).includes(name)) return `runtime name '${name}' is reserved`;
  }
  const known = [...BUILTIN_RUNTIMES, ...Object.keys(c.runtimes)];
  return known.includes(c['default-runtime'])
    ? undefined
    : `default runtime ${c['default-runtime']} does not exist`;
}

function checkHosts(c: DaemonConfig): string | undefined {
  for (const host of c.hosts) {
    try {
      parseHostAddress(host, DEFAULT_UNIX_SOCKET, c.tls || c.tlsverify);
    } catch (err) {
      if (isEngineError(err)) return err.message;
      throw err;
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Throws an InvalidParameter error naming the first problem found. */
export function validateConfig(config: DaemonConfig, source: string): void {
  for (const check of [...typeChecks, ...semanticChecks]) {
    const problem = check(config);
    if (problem) throw invalidParameter(`invalid configuration (${source}): ${problem}`);
  }
}
