/**
 * docker cp: stat, read and write paths of a container's filesystem, running
 * or not, resolved inside its root with its mounts in place.
 */
import { promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  archivePath,
  containerFileNotFound,
  extractArchive,
  PathNotFoundError,
  statPath,
  type PathStat,
} from '../../archive/index.js';
import type { ContainerdClient } from '../../containerd/client.js';
import { openContainerRoot, type ContainerRoot, type RootContext } from './archive.js';
import type { ContainerContext } from './context.js';
import type { ContainerEntry } from './entry.js';
import type { ContainerRuntime } from './runtime.js';

export class ContainerCopy {
  constructor(
    private readonly context: ContainerContext,
    private readonly runtime: ContainerRuntime,
  ) {}

  private get ctr(): ContainerdClient {
    return this.context.ctr();
  }

  private rootContext(entry: ContainerEntry): RootContext {
    const c = entry.c;
    const mode = c.HostConfig.NetworkMode ?? '';
    return {
      execRoot: this.context.deps.settings().execRoot,
      namespace: this.ctr.namespace,
      scratchDir: this.context.scratchDir(),
      snapshotMounts: async () => (entry.mounts ??= await this.ctr.snapshots.mounts(c.ID)),
      mounts: this.context.mounts,
      etcFiles: mode.startsWith('container:')
        ? this.runtime.sharedEtcFiles(mode.slice('container:'.length))
        : { hostname: c.HostnamePath, hosts: c.HostsPath, resolvConf: c.ResolvConfPath },
    };
  }

  private async openRoot(entry: ContainerEntry, writable: boolean): Promise<ContainerRoot> {
    await fs.mkdir(this.context.scratchDir(), { recursive: true, mode: 0o700 });
    return openContainerRoot(entry.c, this.rootContext(entry), writable);
  }

  /** `HEAD /containers/{id}/archive`: the path's stat, resolved inside the container. */
  async archiveStat(term: string, containerPath: string): Promise<PathStat> {
    const entry = this.context.find(term);
    const root = await this.openRoot(entry, false);
    try {
      return await statPath(root.root, containerPath, { mounts: root.mounts });
    } catch (err) {
      throw archiveError(err, containerPath, term);
    } finally {
      await root.release();
    }
  }

  /** `GET /containers/{id}/archive`: the stat and a tar stream of the path (the root is released when it ends). */
  async archiveGet(term: string, containerPath: string): Promise<{ stat: PathStat; stream: Readable }> {
    const entry = this.context.find(term);
    const root = await this.openRoot(entry, false);
    let archive: { stat: PathStat; stream: Readable };
    try {
      archive = await archivePath(root.root, containerPath, { mounts: root.mounts });
    } catch (err) {
      await root.release();
      throw archiveError(err, containerPath, term);
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      void root.release();
    };
    archive.stream.once('close', release);
    archive.stream.once('error', release);
    this.context.event(entry.c, 'archive-path');
    return archive;
  }

  /**
   * `PUT /containers/{id}/archive`: extracts a tar into a directory of the
   * container. Serialised with starts and exits, so a stopped container's
   * snapshot is never mounted twice for writing.
   */
  async archivePut(
    term: string,
    containerPath: string,
    input: Readable,
    options: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {},
  ): Promise<void> {
    const entry = this.context.find(term);
    await entry.lock(async () => {
      const c = entry.c;
      const root = await this.openRoot(entry, true);
      try {
        await extractArchive(root.root, containerPath, input, {
          mounts: root.mounts,
          noOverwriteDirNonDir: options.noOverwriteDirNonDir,
          owner: options.copyUIDGID ? { uid: c.User.uid, gid: c.User.gid } : undefined,
          readOnlyRoot: root.readOnlyRoot,
        });
      } catch (err) {
        input.resume();
        throw archiveError(err, containerPath, term);
      } finally {
        await root.release();
      }
      this.context.mounts.noteWritten(c.MountPoints ?? [], containerPath);
      this.context.layerSizes.changed(c.ID);
      this.context.event(c, 'extract-to-dir');
    });
  }
}

/** A missing path is worded as Docker words it, with the container as the client named it. */
function archiveError(err: unknown, containerPath: string, term: string): unknown {
  if (err instanceof PathNotFoundError) return containerFileNotFound(containerPath, term);
  return err;
}
