/**
 * RUN steps as transient containerd containers: the step's snapshot as
 * rootfs, a spec from the same OCI machinery as `docker run` (default
 * capabilities, seccomp, masked paths, the build's resource limits), the
 * default bridge (or none/host) through the network service, stdout and
 * stderr read from FIFOs into the build's progress stream. Nothing of it
 * outlives the step.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage, isEngineError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerdClient } from '../../containerd/client.js';
import { createFifoSet, openFifoSet, removeFifoSet } from '../../containerd/fifo.js';
import { RUNC_RUNTIME, runcOptionsAny, runcRoot, specAny } from '../../containerd/runtime.js';
import type { Mount } from '../../containerd/types.js';
import { cgroupUnified, hostNofileHard, swapAccounting } from '../../engine/containers/host.js';
import { layersOf, resolveUserInLayers } from '../../engine/containers/rootfs.js';
import { SNAPSHOTTER } from '../../engine/images/content.js';
import type { AttachRequest, AttachResult } from '../../engine/networks/types.js';
import { buildSpec, serializeSpec, type OciMount } from '../../oci/index.js';
import type { HostConfig } from '../../types/container.js';

/** What RUN needs of the network service. */
export interface BuildNetworking {
  attachContainer(request: AttachRequest): Promise<AttachResult>;
  detachContainer(containerId: string): Promise<void>;
}

/** Resource limits and host settings of a build's RUN containers (the /build query). */
export interface BuildHostSettings {
  memory?: number;
  memorySwap?: number;
  cpuShares?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  cgroupParent?: string;
  shmSize?: number;
  extraHosts?: string[];
}

/** A network namespace shared by a build's RUN steps (attached once per build and network mode). */
export interface BuildSandbox {
  /** Namespace to join; undefined for the host's network. */
  netnsPath?: string;
  hostsPath?: string;
  resolvConfPath?: string;
  /** The hostname the network service wrote into the hosts file. */
  hostname: string;
  /** The network mode as the spec needs it (bridge, none, host, a network name). */
  networkMode: string;
}

export interface RunOptions {
  leased: ContainerdClient;
  execRoot: string;
  scratchDir: string;
  /** The active snapshot the step runs in (already prepared). */
  snapshotKey: string;
  rootfs: Mount[];
  args: string[];
  env: string[];
  user: string;
  workingDir: string;
  /** The build's network sandbox; without one the step gets a namespace with only lo. */
  sandbox?: BuildSandbox;
  privileged: boolean;
  mounts: OciMount[];
  host: BuildHostSettings;
  /** Raw output of the process. */
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** Called once the container exists, with its ID. */
  onCreated?(id: string): void;
  signal?: AbortSignal;
}

const NOFILE_HARD = hostNofileHard();
const UNIFIED = cgroupUnified();
const SWAP_LIMIT = swapAccounting();

/** Paths the runtime may create in the rootfs as mount points (what Docker keeps in the init layer). */
export function mountPointsOf(spec: { mounts?: { destination: string }[] }): string[] {
  return (spec.mounts ?? []).map((m) => m.destination);
}

/** Runs the process to completion; resolves with its exit code. */
export async function runContainer(
  options: RunOptions,
): Promise<{ exitCode: number; mountPoints: string[] }> {
  const id = randomBytes(32).toString('hex');
  const { leased } = options;
  const runDir = path.join(options.scratchDir, `run-${id.slice(0, 12)}`);
  await fs.mkdir(runDir, { recursive: true, mode: 0o700 });
  let containerCreated = false;
  let taskCreated = false;
  const fifos = await createFifoSet(path.join(runDir, 'fifo'), id);
  const streams = openFifoSet(fifos);
  try {
    const user = await resolveUserInLayers(layersOf(options.rootfs), runDir, options.user, []);
    const hostname = id.slice(0, 12);
    const etcFiles = await writeEtcFiles(path.join(runDir, 'etc'), hostname, options.sandbox);
    const netnsPath = options.sandbox?.netnsPath;
    const hostConfig: HostConfig = {
      NetworkMode: options.sandbox?.networkMode ?? 'none',
      Privileged: options.privileged,
      ShmSize: options.host.shmSize || undefined,
      Memory: options.host.memory || undefined,
      MemorySwap: options.host.memorySwap || undefined,
      CpuShares: options.host.cpuShares || undefined,
      CpuPeriod: options.host.cpuPeriod || undefined,
      CpuQuota: options.host.cpuQuota || undefined,
      CpusetCpus: options.host.cpusetCpus || undefined,
      CpusetMems: options.host.cpusetMems || undefined,
      CgroupParent: options.host.cgroupParent || undefined,
    };
    const spec = buildSpec({
      id,
      config: {
        Hostname: hostname,
        Env: options.env,
        Cmd: options.args,
        Entrypoint: null,
        User: options.user,
        WorkingDir: options.workingDir,
      },
      hostConfig,
      user,
      etcFiles,
      namespacePaths: { network: netnsPath },
      hostNofileHard: NOFILE_HARD,
      mounts: options.mounts,
      defaultCgroupnsMode: UNIFIED ? 'private' : 'host',
      swapLimit: SWAP_LIMIT,
    });
    const specText = serializeSpec(spec);
    await leased.containers.create({
      id,
      labels: { 'io.berth.build': 'true' },
      runtime: { name: RUNC_RUNTIME, options: runcOptionsAny({ root: runcRoot(options.execRoot) }) },
      spec: specAny(JSON.parse(specText) as object),
      snapshotter: SNAPSHOTTER,
      snapshotKey: options.snapshotKey,
    });
    containerCreated = true;
    options.onCreated?.(id);
    const drained = Promise.all([
      drain(streams.stdout, options.onStdout),
      drain(streams.stderr, options.onStderr),
    ]);
    await leased.tasks.create({
      containerId: id,
      rootfs: options.rootfs,
      stdout: fifos.stdout,
      stderr: fifos.stderr,
    });
    taskCreated = true;
    const exited = leased.tasks.wait(id);
    const onAbort = (): void => void leased.tasks.kill(id, 9, { all: true }).catch(() => undefined);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await leased.tasks.start(id);
      const exit = await exited;
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 2000))]);
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('build cancelled');
      return { exitCode: exit.exitStatus, mountPoints: mountPointsOf(spec) };
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    streams.close();
    if (taskCreated) {
      await leased.tasks.delete(id).catch(async (err: unknown) => {
        if (isEngineError(err, 'NotFound')) return;
        await leased.tasks.kill(id, 9, { all: true }).catch(() => undefined);
        await leased.tasks
          .delete(id)
          .catch((again: unknown) =>
            log.warn('removing a build task failed', { id, error: errorMessage(again) }),
          );
      });
    }
    if (containerCreated) await leased.containers.delete(id).catch(() => undefined);
    await removeFifoSet(fifos).catch(() => undefined);
    await fs.rm(runDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function drain(stream: NodeJS.ReadableStream | undefined, sink: (chunk: Buffer) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => sink(chunk));
    stream.on('end', () => resolve());
    stream.on('close', () => resolve());
    stream.on('error', () => resolve());
  });
}

/**
 * The step's own /etc/hostname and /etc/hosts (its hostname is its short ID,
 * as Docker's build containers have it) next to the sandbox's resolv.conf.
 */
async function writeEtcFiles(
  dir: string,
  hostname: string,
  sandbox: BuildSandbox | undefined,
): Promise<{ hostname: string; hosts: string; resolvConf: string }> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const files = {
    hostname: path.join(dir, 'hostname'),
    hosts: path.join(dir, 'hosts'),
    resolvConf: sandbox?.resolvConfPath ?? path.join(dir, 'resolv.conf'),
  };
  await fs.writeFile(files.hostname, `${hostname}\n`);
  let hosts = `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t${hostname}\n`;
  if (sandbox?.hostsPath) {
    const shared = await fs.readFile(sandbox.hostsPath, 'utf8').catch(() => '');
    const word = new RegExp(
      `(^|\\s)${sandbox.hostname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=\\s|$)`,
      'gm',
    );
    if (shared) hosts = shared.replace(word, `$1${hostname}`);
  }
  await fs.writeFile(files.hosts, hosts);
  if (!sandbox?.resolvConfPath) await fs.writeFile(files.resolvConf, '');
  return files;
}
