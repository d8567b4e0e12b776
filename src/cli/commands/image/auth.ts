/**
 * Registry credentials as the docker CLI keeps them: `auths` in
 * $DOCKER_CONFIG/config.json (base64 "user:password" or an identity token),
 * looked up by registry host, and sent to the daemon as X-Registry-Auth.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, parseNormalizedNamed } from '../../../registry/reference.js';
import type { AuthConfig } from '../../../types/system.js';
import { CliError, type CliContext } from '../../context.js';
import { configDir } from '../../client/connection.js';

/** Where Docker Hub credentials live in config.json. */
export const HUB_SERVER = 'https://index.docker.io/v1/';

interface StoredAuth {
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
}

interface ConfigFile {
  auths?: Record<string, StoredAuth>;
  [key: string]: unknown;
}

export function configFilePath(ctx: CliContext): string {
  return path.join(configDir(ctx.globals()), 'config.json');
}

export function readConfigFile(file: string): ConfigFile {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ConfigFile;
  } catch (err) {
    throw new CliError(`loading config file: ${file}: ${(err as Error).message}`);
  }
}

/** Writes config.json atomically with mode 0600, as the docker CLI does. */
export function writeConfigFile(file: string, config: ConfigFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(config, null, '\t') + '\n', { mode: 0o600 });
  renameSync(temp, file);
}

/** credentials.ConvertToHostname: "https://host:5000/v2/" → "host:5000". */
export function convertToHostname(address: string): string {
  return address.replace(/^[a-z]+:\/\//i, '').split('/')[0];
}

/** The config key for a registry domain: Docker Hub's URL, else the host. */
export function serverKeyForDomain(domain: string): string {
  return domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN ? HUB_SERVER : domain;
}

/** Stored credentials of a registry, matched like the docker CLI does (by hostname). */
export function credentialsFor(config: ConfigFile, serverKey: string): AuthConfig | undefined {
  const auths = config.auths ?? {};
  const wanted = serverKey === HUB_SERVER ? HUB_SERVER : convertToHostname(serverKey);
  for (const [key, stored] of Object.entries(auths)) {
    const host = key === HUB_SERVER ? HUB_SERVER : convertToHostname(key);
    if (host !== wanted) continue;
    const auth: AuthConfig = { serveraddress: key };
    if (stored.auth) {
      const decoded = Buffer.from(stored.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        auth.username = decoded.slice(0, colon);
        auth.password = decoded.slice(colon + 1);
      }
    }
    if (stored.identitytoken) auth.identitytoken = stored.identitytoken;
    if (stored.registrytoken) auth.registrytoken = stored.registrytoken;
    return auth;
  }
  return undefined;
}

/** X-Registry-Auth for an auth config: padded base64url of its JSON ("e30=" for none, as docker sends). */
export function encodeRegistryAuth(auth: AuthConfig | undefined): string {
  const encoded = Buffer.from(JSON.stringify(auth ?? {})).toString('base64url');
  return encoded + '='.repeat((4 - (encoded.length % 4)) % 4);
}

/** The X-Registry-Auth header for pulling or pushing `image`. */
export function registryAuthHeader(ctx: CliContext, image: string): Record<string, string> {
  let domain = DEFAULT_DOMAIN;
  try {
    domain = parseNormalizedNamed(image).domain;
  } catch {
    // An invalid name: the daemon will say so; no credentials to send.
  }
  const auth = credentialsFor(readConfigFile(configFilePath(ctx)), serverKeyForDomain(domain));
  return { 'X-Registry-Auth': encodeRegistryAuth(auth) };
}
