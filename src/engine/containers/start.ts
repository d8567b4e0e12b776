/**
 * Starting a run: the task created and started over the container's
 * snapshot, with its network, mounts, IPC and stdio prepared first; and
 * releasing what a run held once it is over.
 */
import { errorMessage, invalidParameter, isEngineError, systemError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { createFifoSet, openFifoSet, type FifoSet } from '../../containerd/fifo.js';
import type { CreateTaskRequest } from '../../containerd/services/tasks.js';
import { serializeSpec } from '../../oci/types.js';
import type { ContainerContext } from './context.js';
import type { ContainerEntry } from './entry.js';
import type { ContainerIpc } from './ipc.js';
import { attachRequestOf, attachesThroughNetworkService, startNetworkMode } from './networking.js';
import type { ContainerOutput } from './output.js';
import { nowRfc3339Nano, type Container } from './record.js';
import { digest, type ContainerRuntime } from './runtime.js';

/** Exit code Docker records when it cannot know the real one. */
export const EXIT_UNKNOWN = 255;
const EXIT_CMD_NOT_FOUND = 127;
const EXIT_EACCES = 126;

export class ContainerStarter {
  constructor(
    private readonly context: ContainerContext,
    private readonly runtime: ContainerRuntime,
    private readonly ipc: ContainerIpc,
    private readonly output: ContainerOutput,
    /** Removes an AutoRemove container whose start failed. */
    private readonly autoRemove: (entry: ContainerEntry) => Promise<void>,
  ) {}

  /**
   * Creates and starts the task. Output FIFOs are opened before the task is
   * created (the shim blocks until they have a reader). On failure the
   * container is left stopped with Docker's exit code for the cause.
   */
  async startTask(entry: ContainerEntry): Promise<void> {
    const c = entry.c;
    let fifos: FifoSet | undefined;
    let taskCreated = false;
    let startedAt = '';
    entry.runStarting();
    try {
      this.runtime.adoptSharedHostname(c);
      entry.mounts ??= await this.context.ctr().snapshots.mounts(c.ID);
      c.User = await this.runtime.resolveUser(c, entry.mounts).catch((err) => {
        throw systemError(errorMessage(err), err);
      });
      const ipc = await this.ipc.prepare(c);
      const mounts = await this.context.mounts.mountForRun(c.ID, c.MountPoints ?? []);
      const network = await this.attachNetwork(c);
      const specText = serializeSpec(
        this.runtime.buildSpec(c, { netnsPath: network?.netnsPath, mounts, ipc }),
      );
      const specDigest = digest(specText);
      if (specDigest !== c.SpecDigest) {
        await this.runtime.updateContainerdSpec(c, specText);
        c.SpecDigest = specDigest;
      }
      fifos = await createFifoSet(this.context.fifoDir(c.ID), c.ID, {
        stdin: c.Config.OpenStdin === true,
        terminal: c.Config.Tty === true,
      });
      this.output.openLogger(entry);
      entry.oomKilled = false;
      const request: CreateTaskRequest = {
        containerId: c.ID,
        rootfs: entry.mounts,
        stdin: fifos.stdin,
        stdout: fifos.stdout,
        stderr: fifos.stderr,
        terminal: c.Config.Tty === true,
      };
      let pid: number;
      for (let attempt = 0; ; attempt++) {
        entry.drained = entry.streams.beginRun(openFifoSet(fifos));
        try {
          ({ pid } = await this.context.ctr().tasks.create(request));
          break;
        } catch (err) {
          // Our FIFO ends are reopened for the next try: a stale shim going away leaves them at EOF.
          entry.streams.endRun();
          if (!(await this.runtime.clearStaleTask(c.ID, err, attempt))) throw err;
        }
      }
      taskCreated = true;
      entry.currentPid = pid;
      // Taken before the process runs, so no log line predates StartedAt
      // (clients read a restarted container's logs with since=StartedAt).
      startedAt = nowRfc3339Nano();
      await this.context.ctr().tasks.start(c.ID);
      entry.streams.processStarted();
    } catch (err) {
      entry.currentPid = 0;
      if (taskCreated)
        await this.context
          .ctr()
          .tasks.delete(c.ID)
          .catch(() => undefined);
      await this.releaseRun(entry);
      const failure = startFailure(err);
      c.State.Running = false;
      c.State.Restarting = false;
      c.State.Pid = 0;
      c.State.Error = failure.message;
      c.State.ExitCode = failure.exitCode;
      await this.context.save(entry);
      if (c.HostConfig.AutoRemove) void this.autoRemove(entry);
      throw failure.error;
    }
    const state = c.State;
    Object.assign(state, {
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: entry.currentPid,
      ExitCode: 0,
      Error: '',
      StartedAt: startedAt,
    });
    c.HasBeenStartedBefore = true;
    await this.context.save(entry);
    this.context.event(c, 'start');
    entry.runStartPublished();
  }

  /** Gives a starting container its network (not for `container:`, which shares another's). */
  private async attachNetwork(c: Container): Promise<{ netnsPath?: string } | undefined> {
    const networks = this.context.deps.networks;
    if (!networks || !attachesThroughNetworkService(c.HostConfig)) return undefined;
    const networkMode = startNetworkMode(c.HostConfig, c.EndpointsConfig, networks);
    if (networkMode === undefined) return undefined;
    return networks.attachContainer(
      attachRequestOf({
        id: c.ID,
        name: c.Name,
        config: c.Config,
        hostConfig: c.HostConfig,
        endpoints: c.EndpointsConfig ?? {},
        filesDir: this.context.dir(c.ID),
        networkMode,
      }),
    );
  }

  /**
   * Everything a run held once its task is gone: its stdio and log writer,
   * and outside the container its network, its volumes and its shareable /dev/shm.
   */
  async releaseRun(entry: ContainerEntry): Promise<void> {
    const id = entry.id;
    entry.streams.endRun();
    await this.output.closeLogger(entry);
    await this.context.deps.networks
      ?.detachContainer(id)
      .catch((err) =>
        log.warn('releasing the network of a container failed', { container: id, error: errorMessage(err) }),
      );
    await this.context.mounts.unmountAfterRun(id);
    await this.ipc.release(id);
  }
}

/**
 * Docker's exit codes for a failed start (from the runtime's message):
 * 126 not executable, 127 not found, 255 otherwise; the first two are the
 * caller's fault (400), the rest the daemon's (500).
 */
function startFailure(err: unknown): { exitCode: number; message: string; error: Error } {
  const message = errorMessage(err);
  const lower = message.toLowerCase();
  if (lower.includes('permission denied')) return invalid(EXIT_EACCES, message);
  if (lower.includes('is a directory')) return invalid(EXIT_EACCES, `${message}: permission denied`);
  if (lower.includes('not a directory')) {
    return invalid(
      EXIT_CMD_NOT_FOUND,
      `${message}: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`,
    );
  }
  if (
    lower.includes('executable file not found') ||
    lower.includes('no such file or directory') ||
    lower.includes('system cannot find the file specified')
  ) {
    return invalid(EXIT_CMD_NOT_FOUND, message);
  }
  if (isEngineError(err)) return { exitCode: EXIT_UNKNOWN, message, error: err };
  return { exitCode: EXIT_UNKNOWN, message, error: systemError(message, err) };
}

function invalid(exitCode: number, message: string): { exitCode: number; message: string; error: Error } {
  return { exitCode, message, error: invalidParameter(message) };
}
