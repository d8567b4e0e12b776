/**
 * The daemon's registry settings (insecure-registries, registry-mirrors)
 * turned into a RegistryClient, rebuilt when a reload changes them, and the
 * X-Registry-Auth header decoded into credentials.
 */
import type { RegistryCredentials } from '../../registry/auth.js';
import { RegistryClient } from '../../registry/client.js';

export interface RegistrySettings {
  insecureRegistries: string[];
  /**
   * daemon.json "registry-mirrors". A plain URL mirrors Docker Hub, as in
   * Docker. A URL with `?registry=<host[:port]>` mirrors that registry
   * instead (repeat the parameter for several registries), so mirrors work for any registry while a Docker Hub cache is never asked for
   * another registry's repositories. Mirrors serve pulls only; a failing
   * mirror falls back to the next one, then to the registry itself.
   */
  mirrors: string[];
}

export interface MirrorPlan {
  /** Docker Hub mirrors. */
  hub: string[];
  /** Mirrors by registry host[:port]. */
  byRegistry: Record<string, string[]>;
}

/** Splits mirror entries into Docker Hub mirrors and per-registry ones. */
export function planMirrors(entries: string[]): MirrorPlan {
  const plan: MirrorPlan = { hub: [], byRegistry: {} };
  for (const entry of entries) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      continue;
    }
    const registries = url.searchParams.getAll('registry');
    url.search = '';
    url.hash = '';
    const base = url.toString().replace(/\/+$/, '');
    if (registries.length === 0) plan.hub.push(base);
    for (const registry of registries) (plan.byRegistry[registry.toLowerCase()] ??= []).push(base);
  }
  return plan;
}

/** Keeps one RegistryClient for the current settings, replacing it when they change. */
export class RegistryClients {
  private current?: { key: string; client: RegistryClient };

  constructor(private readonly settings: () => RegistrySettings) {}

  get(): RegistryClient {
    const settings = this.settings();
    const key = JSON.stringify(settings);
    if (this.current?.key !== key) {
      this.current?.client.close();
      const plan = planMirrors(settings.mirrors);
      const client = new RegistryClient({
        insecureRegistries: settings.insecureRegistries,
        mirrors: plan.hub,
        registryMirrors: plan.byRegistry,
        userAgent: 'berth (linux)',
      });
      this.current = { key, client };
    }
    return this.current.client;
  }

  close(): void {
    this.current?.client.close();
    this.current = undefined;
  }
}

/**
 * Decodes X-Registry-Auth (base64url JSON of Docker's AuthConfig). Like
 * moby, an undecodable header counts as no credentials.
 */
export function decodeRegistryAuth(header: string | undefined): RegistryCredentials | undefined {
  if (!header) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const creds: RegistryCredentials = {};
    for (const key of [
      'username',
      'password',
      'auth',
      'email',
      'serveraddress',
      'identitytoken',
      'registrytoken',
    ] as const) {
      const value = (parsed as Record<string, unknown>)[key];
      if (typeof value === 'string' && value !== '') creds[key] = value;
    }
    return Object.keys(creds).length > 0 ? creds : undefined;
  } catch {
    return undefined;
  }
}
