/**
 * The containerd side of each container: the containerd container holding
 * its writable snapshot and runtime spec (built here from the Docker
 * configuration), the /etc files it mounts, and what an interrupted task
 * leaves behind. containerd labels mirror the container's Docker identity.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { conflict, errorMessage, invalidParameter, isEngineError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { RUNC_RUNTIME, runcOptionsAny, runcRoot, specAny } from '../../containerd/runtime.js';
import type { Mount } from '../../containerd/types.js';
import { buildSpec, type SpecInput } from '../../oci/spec.js';
import { serializeSpec, type OciMount } from '../../oci/types.js';
import type { ResolvedUser } from '../../oci/user.js';
import type { HostConfig } from '../../types/container.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { ContainerContext } from './context.js';
import { writeEtcFiles } from './etc-files.js';
import { cgroupUnified, hostNofileHard, shimPids, swapAccounting } from './host.js';
import type { RunIpc } from './ipc.js';
import type { Container } from './record.js';
import { layersOf, resolveUserInLayers } from './rootfs.js';
import { SIGKILL } from './signals.js';

export const LABEL_NAME = 'io.berth.container.name';
const LABEL_IMAGE = 'io.berth.container.image';
export const SNAPSHOTTER = 'overlayfs';

export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Resolves true if `promise` settles within `ms`, false otherwise. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms === Infinity) {
    await promise;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class ContainerRuntime {
  readonly nofileHard = hostNofileHard();
  /** Whether the host runs cgroup v2 only (Docker's default cgroupns is private there). */
  readonly unified = cgroupUnified();
  /** Whether the host accounts swap. */
  readonly swapLimit = swapAccounting();

  constructor(private readonly context: ContainerContext) {}

  private get ctr(): ContainerdClient {
    return this.context.ctr();
  }

  /** The runc options of the container's runtime: a configured runtime's binary; unknown names are refused. */
  runtimeOptions(hostConfig: HostConfig): { binaryName?: string } {
    const settings = this.context.deps.settings();
    const name = hostConfig.Runtime || settings.defaultRuntime;
    if (name === 'runc') return {};
    const runtime = settings.runtimes[name];
    if (!runtime) throw invalidParameter(`unknown or invalid runtime name: ${name}`);
    return { binaryName: runtime.path };
  }

  /** containerd labels mirroring the container's Docker identity (label values within containerd's limits). */
  private containerdLabels(c: Container): Record<string, string> {
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(c.Config.Labels ?? {})) {
      if (key.length + value.length < 4000) labels[key] = value;
    }
    labels[LABEL_NAME] = c.Name.slice(1);
    labels[LABEL_IMAGE] = c.Config.Image ?? '';
    return labels;
  }

  /**
   * Prepares the writable snapshot (key = container ID) on the image's top
   * layer and the containerd container that holds it, under a lease so GC
   * cannot take the snapshot before the container references it. The user
   * is resolved against the image's files for the placeholder spec; an
   * unknown user is an error of start, not create, as on Docker.
   */
  async createContainerdContainer(c: Container, image: { chainId: string }): Promise<void> {
    const lease = await this.ctr.leases.create({ expiresInMs: 5 * 60_000 });
    try {
      const leased = this.ctr.withLease(lease.id);
      const mounts = await leased.snapshots.prepare(c.ID, image.chainId);
      c.User = await this.resolveUser(c, mounts).catch(() => c.User);
      const spec = this.buildSpec(c, { placeholderNamespaces: true });
      const specText = serializeSpec(spec);
      c.SpecDigest = digest(specText);
      await leased.containers.create({
        id: c.ID,
        image: c.Config.Image ?? '',
        labels: this.containerdLabels(c),
        runtime: { name: RUNC_RUNTIME, options: this.runcOptions(c) },
        spec: specAny(JSON.parse(specText) as object),
        snapshotter: SNAPSHOTTER,
        snapshotKey: c.ID,
      });
    } catch (err) {
      await this.ctr.snapshots.remove(c.ID).catch(() => undefined);
      throw err;
    } finally {
      await this.ctr.leases.delete(lease.id).catch(() => undefined);
    }
  }

  /**
   * The container's User against its own /etc/passwd and /etc/group (the
   * image's, with whatever the container changed), as Docker resolves it at
   * every start.
   */
  async resolveUser(c: Container, mounts: Mount[]): Promise<ResolvedUser> {
    await fs.mkdir(this.context.scratchDir(), { recursive: true, mode: 0o700 });
    return resolveUserInLayers(
      layersOf(mounts),
      this.context.scratchDir(),
      c.Config.User,
      c.HostConfig.GroupAdd,
    );
  }

  private runcOptions(c: Container) {
    return runcOptionsAny({
      root: runcRoot(this.context.deps.settings().execRoot),
      ...this.runtimeOptions(c.HostConfig),
    });
  }

  async writeEtcFiles(c: Container): Promise<void> {
    const hc = c.HostConfig;
    await writeEtcFiles(
      { hostname: c.HostnamePath, hosts: c.HostsPath, resolvConf: c.ResolvConfPath },
      {
        hostname: c.Config.Hostname ?? '',
        domainname: c.Config.Domainname,
        hostNetwork: hc.NetworkMode === 'host',
        extraHosts: hc.ExtraHosts,
        dns: hc.Dns,
        dnsSearch: hc.DnsSearch,
        dnsOptions: hc.DnsOptions,
      },
    );
  }

  /**
   * The runtime spec for the container. Namespaces shared with another
   * container need its PID, known only when starting; at create a
   * placeholder path keeps the spec valid.
   */
  buildSpec(
    c: Container,
    options: { placeholderNamespaces?: boolean; netnsPath?: string; mounts?: OciMount[]; ipc?: RunIpc } = {},
  ): ReturnType<typeof buildSpec> {
    const hc = c.HostConfig;
    const namespaceOf = (mode: string | undefined, ns: string): string | undefined => {
      if (!mode?.startsWith('container:')) return undefined;
      if (options.placeholderNamespaces) return `/proc/1/ns/${ns}`;
      const other = this.context.find(mode.slice('container:'.length));
      if (!other.c.State.Running || other.c.State.Restarting) {
        throw conflict(`cannot join namespace of a non running container: ${other.id}`);
      }
      return `/proc/${other.c.State.Pid}/ns/${ns}`;
    };
    const network = namespaceOf(hc.NetworkMode, 'net') ?? options.netnsPath;
    const input: SpecInput = {
      id: c.ID,
      config: c.Config,
      hostConfig: hc,
      user: c.User,
      etcFiles:
        hc.NetworkMode?.startsWith('container:') && !options.placeholderNamespaces
          ? this.sharedEtcFiles(hc.NetworkMode.slice('container:'.length))
          : { hostname: c.HostnamePath, hosts: c.HostsPath, resolvConf: c.ResolvConfPath },
      namespacePaths: {
        network,
        pid: namespaceOf(hc.PidMode, 'pid'),
        ipc: options.placeholderNamespaces ? namespaceOf(hc.IpcMode, 'ipc') : options.ipc?.namespacePath,
      },
      shmPath: options.ipc?.shmPath,
      mounts: options.mounts ?? this.context.mounts.plannedMounts(c.MountPoints ?? []),
      hostNofileHard: this.nofileHard,
      initPath: this.context.deps.initPath,
      defaultCgroupnsMode: this.unified ? 'private' : 'host',
      swapLimit: this.swapLimit,
    };
    return buildSpec(input);
  }

  /** A container in another's network namespace takes its hostname too, as Docker does at start. */
  adoptSharedHostname(c: Container): void {
    const mode = c.HostConfig.NetworkMode ?? '';
    if (!mode.startsWith('container:')) return;
    const other = this.context.find(mode.slice('container:'.length)).c;
    c.Config.Hostname = other.Config.Hostname;
    c.Config.Domainname = other.Config.Domainname;
  }

  /** A container joining another's network namespace sees that container's /etc files. */
  sharedEtcFiles(term: string): { hostname: string; hosts: string; resolvConf: string } {
    const other = this.context.find(term).c;
    return { hostname: other.HostnamePath, hosts: other.HostsPath, resolvConf: other.ResolvConfPath };
  }

  /**
   * After a failed Tasks.Create: deals with what a berthd crash in the middle
   * of a start or an exit leaves, and says whether to try again. containerd
   * finishes a create or delete after its client is gone (possibly after
   * berthd listed the tasks at restore), so a task that already exists (it
   * never ran for us) is killed and deleted, and a bundle directory still
   * being removed is waited for.
   */
  async clearStaleTask(id: string, err: unknown, attempt: number): Promise<boolean> {
    if (attempt >= 10) return false;
    const message = errorMessage(err);
    if (isEngineError(err, 'Conflict') && /already exists/.test(message)) {
      log.warn('replacing a task left by an interrupted start', { container: id });
      await this.ctr.tasks.kill(id, SIGKILL, { all: true }).catch(() => undefined);
      await withTimeout(
        this.ctr.tasks.wait(id).catch(() => undefined),
        10_000,
      );
      await this.ctr.tasks.delete(id).catch(() => undefined);
      return true;
    }
    if (/file exists/.test(message)) {
      // A delete interrupted by the crash: its shim must be gone before a new one starts,
      // or containerd would hand the new task to the dying shim.
      log.debug('the previous task of the container is still being removed; retrying', { container: id });
      await this.waitForShimExit(id);
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
      return true;
    }
    return false;
  }

  /** Waits (a second at most) for the shims of a task without a task record to go, then kills them. */
  async waitForShimExit(id: string): Promise<void> {
    const find = (): number[] => shimPids(this.ctr.namespace, id, this.ctr.address);
    for (let i = 0; i < 10 && find().length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    for (const pid of find()) {
      log.warn('killing the shim of a task that no longer exists', { container: id, pid });
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  }

  /** Replaces the containerd container's spec; recreates the container if containerd lost it. */
  async updateContainerdSpec(c: Container, specText: string): Promise<void> {
    try {
      await this.ctr.containers.update({ id: c.ID, spec: specAny(JSON.parse(specText) as object) }, ['spec']);
    } catch (err) {
      if (!isEngineError(err, 'NotFound')) throw err;
      log.warn('containerd lost the container record; recreating it', { container: c.ID });
      await this.createContainerdContainer(c, { chainId: c.ImageChainId });
    }
  }

  /** Snapshot first, then the record: without the record containerd's GC may take the snapshot first. */
  async removeContainerdContainer(id: string): Promise<void> {
    await this.ctr.snapshots.remove(id);
    try {
      await this.ctr.containers.delete(id);
    } catch (err) {
      if (!isEngineError(err, 'NotFound')) throw err;
    }
  }
}
