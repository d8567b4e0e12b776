/**
 * IPC sharing as Docker does it. A shareable container's /dev/shm is a tmpfs
 * berth mounts under the container's directory for the length of each run;
 * a container joining its IPC namespace bind-mounts that same tmpfs, so both
 * see the same POSIX shared memory. Private containers get their tmpfs from
 * the runtime spec, host ones the host's /dev/shm.
 */
import { execFile } from 'node:child_process';
import { promises as fs, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { conflict, invalidParameter, isEngineError, systemError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { DEFAULT_SHM_SIZE } from '../../oci/mounts.js';
import type { HostConfig } from '../../types/container.js';
import type { Container } from './record.js';

const execFileAsync = promisify(execFile);

const HOST_SHM = '/dev/shm';
const CONTAINER_PREFIX = 'container:';

/** Where a container's own shareable /dev/shm is mounted: `<container dir>/mounts/shm`, as in Docker. */
export function shmMountPath(containerDir: string): string {
  return path.join(containerDir, 'mounts', 'shm');
}

/** The container named by `IpcMode: container:<name>`, or undefined for other modes. */
export function ipcDonorTerm(hostConfig: HostConfig): string | undefined {
  const mode = hostConfig.IpcMode ?? '';
  return mode.startsWith(CONTAINER_PREFIX) ? mode.slice(CONTAINER_PREFIX.length) : undefined;
}

/** A container the user gave its own /dev/shm (bind, volume or tmpfs) shares none, as Docker's HasMountFor. */
function hasShmMount(c: Container): boolean {
  if (c.MountPoints?.some((p) => path.posix.normalize(p.Destination) === HOST_SHM)) return true;
  return Object.keys(c.HostConfig.Tmpfs ?? {}).some((d) => path.posix.normalize(d) === HOST_SHM);
}

function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function isMountPoint(target: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] !== undefined && unescapeMountinfo(line.split(' ')[4]) === target);
}

/** Unmounts `target`, mounts stacked on it included. */
async function unmount(target: string): Promise<void> {
  for (let i = 0; i < 10 && isMountPoint(target); i++) {
    await execFileAsync('umount', [target]).catch(() => execFileAsync('umount', ['-l', target]));
  }
}

export interface IpcDonor {
  id: string;
  c: Container;
}

/** What a run needs for IPC: the IPC namespace to join and the /dev/shm to bind. */
export interface RunIpc {
  namespacePath?: string;
  shmPath?: string;
}

/**
 * Sets up the IPC of a starting container and records its ShmPath (Docker's
 * field): its own tmpfs when shareable, the host's for `host`, the donor's
 * for `container:<name>` (which must be running and shareable, with Docker's
 * errors otherwise). `release` undoes it when the run ends.
 */
export class ContainerIpc {
  constructor(
    private readonly dirOf: (id: string) => string,
    private readonly find: (term: string) => IpcDonor,
  ) {}

  async prepare(c: Container): Promise<RunIpc> {
    const mode = c.HostConfig.IpcMode ?? '';
    const donorTerm = ipcDonorTerm(c.HostConfig);
    if (donorTerm !== undefined) {
      const donor = this.donor(donorTerm);
      c.ShmPath = donor.c.ShmPath;
      return { namespacePath: `/proc/${donor.c.State.Pid}/ns/ipc`, shmPath: c.ShmPath };
    }
    if (mode === 'host') {
      if (!statSync(HOST_SHM, { throwIfNoEntry: false })) {
        throw systemError('/dev/shm is not mounted, but must be for --ipc=host');
      }
      c.ShmPath = HOST_SHM;
      return { shmPath: HOST_SHM };
    }
    if (mode !== 'shareable' || hasShmMount(c)) {
      c.ShmPath = undefined;
      return {};
    }
    c.ShmPath = await this.mountOwn(c);
    return { shmPath: c.ShmPath };
  }

  /** Unmounts a container's own /dev/shm tmpfs, if it has one mounted. */
  async release(id: string): Promise<void> {
    const target = shmMountPath(this.dirOf(id));
    // Most containers never had one: no need to read the mount table for them.
    if (!statSync(target, { throwIfNoEntry: false })) return;
    try {
      await unmount(target);
      await fs.rmdir(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      log.warn('unmounting the /dev/shm of a container failed', { container: id, error: String(err) });
    }
  }

  private async mountOwn(c: Container): Promise<string> {
    const target = shmMountPath(this.dirOf(c.ID));
    // A tmpfs left by a berthd that died during a run holds that run's data: each run starts empty.
    await unmount(target);
    await fs.mkdir(target, { recursive: true, mode: 0o700 });
    const size = c.HostConfig.ShmSize && c.HostConfig.ShmSize > 0 ? c.HostConfig.ShmSize : DEFAULT_SHM_SIZE;
    try {
      await execFileAsync('mount', [
        '-t',
        'tmpfs',
        '-o',
        `nosuid,noexec,nodev,mode=1777,size=${size}`,
        'shm',
        target,
      ]);
    } catch (err) {
      throw systemError(`mounting shm tmpfs: ${(err as { stderr?: string }).stderr || err}`, err);
    }
    return target;
  }

  /** Docker's getIPCContainer: the donor exists, runs, is not restarting, and shares its /dev/shm. */
  private donor(term: string): IpcDonor {
    const failed = 'failed to join IPC namespace';
    let donor: IpcDonor;
    try {
      donor = this.find(term);
    } catch (err) {
      if (isEngineError(err, 'NotFound')) throw invalidParameter(`${failed}: ${err.message}`);
      throw err;
    }
    const state = donor.c.State;
    if (!state.Running) throw conflict(`${failed}: Container ${term} is not running`);
    if (state.Restarting) {
      throw conflict(`${failed}: Container ${term} is restarting, wait until the container is running`);
    }
    const shm = donor.c.ShmPath;
    if (!shm || !statSync(shm, { throwIfNoEntry: false })?.isDirectory()) {
      throw invalidParameter(
        `${failed}: container ${term}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`,
      );
    }
    return donor;
  }
}
