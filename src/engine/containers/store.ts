/**
 * Containers on disk: one directory per container under
 * <data-root>/containers/<id>/ with config.v2.json (the record and its
 * state) and hostconfig.json, each replaced atomically so a berthd killed at
 * any moment restarts from a whole file.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { log } from '../../common/log.js';
import { readJsonIfExists, removeStaleTempFiles, writeJsonAtomic } from '../../store/atomic.js';
import type { HostConfig } from '../../types/container.js';
import type { Container, ContainerRecord } from './record.js';

const CONFIG_FILE = 'config.v2.json';
const HOSTCONFIG_FILE = 'hostconfig.json';

export class ContainerStore {
  readonly root: string;

  constructor(dataRoot: string) {
    this.root = path.join(dataRoot, 'containers');
  }

  dir(id: string): string {
    return path.join(this.root, id);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o710 });
  }

  /** Writes the record and its HostConfig (creating the directory the first time). */
  async save(container: Container): Promise<void> {
    const dir = this.dir(container.ID);
    await fs.mkdir(dir, { recursive: true, mode: 0o710 });
    const { HostConfig, ...record } = container;
    await writeJsonAtomic(path.join(dir, HOSTCONFIG_FILE), HostConfig, 0o644);
    await writeJsonAtomic(path.join(dir, CONFIG_FILE), record, 0o600);
  }

  /** Writes only the record (state changes): one file, one rename. */
  async saveRecord(container: Container): Promise<void> {
    const { HostConfig: _hostConfig, ...record } = container;
    await writeJsonAtomic(path.join(this.dir(container.ID), CONFIG_FILE), record, 0o600);
  }

  async saveHostConfig(container: Container): Promise<void> {
    await writeJsonAtomic(path.join(this.dir(container.ID), HOSTCONFIG_FILE), container.HostConfig, 0o644);
  }

  /**
   * Every container with a complete record. A directory without one is what
   * a create interrupted before its first write leaves; it is removed.
   */
  async loadAll(): Promise<Container[]> {
    let ids: string[];
    try {
      ids = await fs.readdir(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const containers: Container[] = [];
    for (const id of ids) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const dir = this.dir(id);
      await removeStaleTempFiles(dir);
      try {
        const record = await readJsonIfExists<ContainerRecord>(path.join(dir, CONFIG_FILE));
        const hostConfig = await readJsonIfExists<HostConfig>(path.join(dir, HOSTCONFIG_FILE));
        if (!record || !hostConfig) {
          log.warn('removing incomplete container directory', { container: id });
          await fs.rm(dir, { recursive: true, force: true });
          continue;
        }
        containers.push({ ...record, HostConfig: hostConfig });
      } catch (err) {
        log.error('cannot load container, skipping it', { container: id, error: String(err) });
      }
    }
    return containers;
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }
}
