/**
 * berth's network metadata under `<data-root>/network/`: one file per network
 * (`networks/<id>.json`) and one per container attachment
 * (`sandboxes/<container-id>.json`). Address allocations are the addresses
 * recorded in the sandboxes, so they survive restarts with nothing else to
 * keep consistent. Every write is atomic.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { log } from '../common/log.js';
import { readJsonIfExists, removeStaleTempFiles, writeJsonAtomic } from '../store/atomic.js';
import type { EndpointIPAMConfig, IPAM } from '../types/network.js';
import type { PortMap } from '../types/container.js';
import type { PublishedPort } from './ports.js';

/** A network as stored: Docker's fields (minus Containers) plus the bridge interface. */
export interface NetworkRecord {
  Id: string;
  Name: string;
  Created: string;
  Driver: 'bridge' | 'host' | 'null';
  Scope: 'local';
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: Required<Pick<IPAM, 'Driver'>> & {
    Options: Record<string, string> | null;
    Config: NonNullable<IPAM['Config']>;
  };
  Internal: boolean;
  Attachable: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** Linux bridge interface (bridge driver only). */
  bridge?: string;
}

export type EndpointState = 'configuring' | 'ready';

/** One container interface on one network. */
export interface EndpointRecord {
  networkId: string;
  endpointId: string;
  /** eth0, eth1, ... inside the container. */
  interfaceName: string;
  ipv4?: string;
  ipv4PrefixLen?: number;
  ipv4Gateway?: string;
  ipv6?: string;
  ipv6PrefixLen?: number;
  ipv6Gateway?: string;
  mac?: string;
  /** As requested: EndpointSettings.Aliases, IPAMConfig, Links, DriverOpts, MacAddress. */
  aliases: string[];
  ipamConfig?: EndpointIPAMConfig | null;
  links?: string[] | null;
  driverOpts?: Record<string, string> | null;
  requestedMac?: string;
  /** Names the network's DNS answers for (user-defined networks). */
  dnsNames: string[];
  /** Whether published ports are set up on this endpoint. */
  publishesPorts: boolean;
  /** configuring: written before netavark ran, so a crash leaves a record a restart can clean. */
  state: EndpointState;
}

export type SandboxMode = 'bridge' | 'none' | 'host' | 'container';

/** Everything berth set up for one container's networking. */
export interface SandboxRecord {
  containerId: string;
  containerName: string;
  hostname: string;
  domainname: string;
  mode: SandboxMode;
  /** container mode: the container whose namespace is shared. */
  sharedWith?: string;
  netnsPath?: string;
  /** True when berth created the namespace (and removes it at detach). */
  ownsNetns: boolean;
  /** Where hosts, resolv.conf and hostname are written. */
  filesDir?: string;
  extraHosts: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  exposedPorts: Record<string, unknown>;
  portBindings: PortMap;
  publishAllPorts: boolean;
  ports: PublishedPort[];
  endpoints: EndpointRecord[];
  /** removing: detach started, so a restart finishes it. */
  state: 'ready' | 'removing';
}

export class NetworkStore {
  readonly networksDir: string;
  readonly sandboxesDir: string;

  constructor(readonly root: string) {
    this.networksDir = path.join(root, 'networks');
    this.sandboxesDir = path.join(root, 'sandboxes');
  }

  async load(): Promise<{ networks: NetworkRecord[]; sandboxes: SandboxRecord[] }> {
    await fs.mkdir(this.networksDir, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.sandboxesDir, { recursive: true, mode: 0o700 });
    await removeStaleTempFiles(this.networksDir);
    await removeStaleTempFiles(this.sandboxesDir);
    return {
      networks: await readAll<NetworkRecord>(this.networksDir),
      sandboxes: await readAll<SandboxRecord>(this.sandboxesDir),
    };
  }

  saveNetwork(network: NetworkRecord): Promise<void> {
    return writeJsonAtomic(path.join(this.networksDir, `${network.Id}.json`), network);
  }

  async deleteNetwork(id: string): Promise<void> {
    await fs.rm(path.join(this.networksDir, `${id}.json`), { force: true });
  }

  saveSandbox(sandbox: SandboxRecord): Promise<void> {
    return writeJsonAtomic(path.join(this.sandboxesDir, `${sandbox.containerId}.json`), sandbox);
  }

  async deleteSandbox(containerId: string): Promise<void> {
    await fs.rm(path.join(this.sandboxesDir, `${containerId}.json`), { force: true });
  }
}

async function readAll<T>(dir: string): Promise<T[]> {
  const records: T[] = [];
  for (const name of (await fs.readdir(dir)).filter((n) => n.endsWith('.json'))) {
    try {
      const record = await readJsonIfExists<T>(path.join(dir, name));
      if (record) records.push(record);
    } catch (err) {
      log.warn('skipping unreadable network record', { file: name, error: String(err) });
    }
  }
  return records;
}
