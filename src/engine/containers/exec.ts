/**
 * docker exec: extra processes in a running container, as containerd exec
 * processes of its task. An exec is created (its config checked and kept),
 * then started once: its stdio FIFOs are opened, the process is added and
 * started, and its output streams to the client that started it (or is
 * dropped when detached) until it exits. Exit codes and Docker's
 * exec_create/exec_start/exec_die events follow Docker's.
 *
 * Latency: nothing but containerd's own Exec and Start waits on the way in
 * (the container's process spec is kept per run, and the stdout/stderr FIFO
 * pair of a plain exec comes ready from a small per-container pool), and on
 * the way out the client has its stream and exit code as soon as the exit
 * is recorded; containerd's process delete and the FIFOs' return to the
 * pool follow.
 */
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  conflict,
  errorMessage,
  invalidParameter,
  isEngineError,
  notFound,
  systemError,
} from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerdClient } from '../../containerd/client.js';
import { createFifoSet, openFifoSet, removeFifoSet, type FifoSet } from '../../containerd/fifo.js';
import { specFromAny } from '../../containerd/runtime.js';
import type { ExitStatus } from '../../containerd/services/tasks.js';
import { buildExecProcess } from '../../oci/exec.js';
import type { OciSpec } from '../../oci/types.js';
import { resolveUser, type ResolvedUser } from '../../oci/user.js';
import type { ExecConfig, ExecInspect } from '../../types/container.js';
import { parseDetachKeys } from './detach-keys.js';
import type { ContainerEntry } from './entry.js';
import { generateId } from './names.js';
import type { Container } from './record.js';
import { ContainerStreams, type OutputSink } from './stdio.js';

/** How long an exit waits for the exec's last output (a child may hold its pipes open). */
const DRAIN_TIMEOUT_MS = 2000;
/** How long a resize waits for the exec to start (Docker: 10 s). */
const START_WAIT_MS = 10_000;
/** FIFO pairs kept ready per container: enough for an exec and a health check at once. */
const SPARE_FIFO_PAIRS = 2;
const EXIT_CMD_NOT_FOUND = 127;
const EXIT_CANNOT_INVOKE = 126;

/** What the exec service needs of the container service. */
export interface ExecContainers {
  entryOf(term: string): ContainerEntry;
  stdioDir(id: string): string;
  publishEvent(c: Container, action: string, extra?: Record<string, string>): void;
}

export interface ExecServiceDeps {
  containerd: () => ContainerdClient;
  containers: ExecContainers;
}

export interface ExecStartRequest {
  detach: boolean;
  /** [height, width] of the terminal (API 1.42+). */
  consoleSize?: [number, number] | null;
  /** The client's input, when it attached stdin. */
  stdin?: Readable;
  /** The client's output side. */
  sink?: OutputSink;
}

interface Exec {
  id: string;
  containerId: string;
  config: ExecConfig;
  detachKeys: Buffer;
  started: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  /** Resolves once the process runs (or failed to start). */
  whenStarted: Promise<void>;
  markStarted: () => void;
  /** Resolves once the exit is recorded. */
  done?: Promise<void>;
}

/** The container's process settings for one run of it (execs inherit them). */
interface RunProcess {
  startedAt: string;
  process: Promise<NonNullable<OciSpec['process']>>;
}

/**
 * stdout+stderr FIFO pairs ready for execs without stdin or a terminal (the
 * shape of `docker exec c cmd` and of health checks), per container stdio
 * directory: a FIFO needs a mkfifo process, which would otherwise cost every
 * exec a few milliseconds. Pairs come back after their exec is deleted.
 */
class SpareFifos {
  private readonly spares = new Map<string, FifoSet[]>();
  private readonly filling = new Map<string, Promise<void>>();
  /** Directories of removed containers with a pair still being made. */
  private readonly gone = new Set<string>();

  /** Starts making a spare pair for `dir` unless one is ready or on its way. */
  prepare(dir: string): void {
    if ((this.spares.get(dir)?.length ?? 0) > 0 || this.filling.has(dir)) return;
    const filling = createFifoSet(dir, `spare-${generateId().slice(0, 16)}`)
      .then((set) => this.give(set))
      .catch((err: unknown) => log.debug('making spare exec FIFOs failed', { error: errorMessage(err) }))
      .finally(() => this.filling.delete(dir));
    this.filling.set(dir, filling);
  }

  /** A ready pair for `dir` (waiting for one on its way), or undefined. */
  async take(dir: string): Promise<FifoSet | undefined> {
    const ready = this.spares.get(dir)?.pop();
    if (ready) return ready;
    await this.filling.get(dir);
    return this.spares.get(dir)?.pop();
  }

  /** Keeps a pair nobody has open any more, or removes it when enough are kept. */
  async give(set: FifoSet): Promise<void> {
    // Its container went meanwhile (and the directory with it).
    if (!existsSync(set.dir)) return;
    const kept = this.spares.get(set.dir) ?? [];
    if (kept.length >= SPARE_FIFO_PAIRS || this.gone.has(set.dir)) return removeFifoSet(set);
    kept.push(set);
    this.spares.set(set.dir, kept);
  }

  /** The container went: its pairs went with its directory, and one still being made is removed. */
  forget(dir: string): void {
    this.spares.delete(dir);
    const filling = this.filling.get(dir);
    if (!filling) return;
    this.gone.add(dir);
    void filling.finally(() => this.gone.delete(dir));
  }
}

export interface ExecResult {
  exitCode: number;
  output: Buffer;
}

export class ExecService {
  private readonly execs = new Map<string, Exec>();
  private readonly watched = new WeakSet<ContainerEntry>();
  private readonly runProcesses = new WeakMap<ContainerEntry, RunProcess>();
  private readonly spareFifos = new SpareFifos();

  constructor(private readonly deps: ExecServiceDeps) {}

  private get ctr(): ContainerdClient {
    return this.deps.containerd();
  }

  private find(id: string): Exec {
    const exec = this.execs.get(id);
    if (!exec) throw notFound(`No such exec instance: ${id}`);
    return exec;
  }

  /** Docker's refusals for a container that cannot take an exec now. */
  private runningEntry(term: string): ContainerEntry {
    const entry = this.deps.containers.entryOf(term);
    const state = entry.c.State;
    if (!state.Running) throw conflict(`Container ${entry.id} is not running`);
    if (state.Paused) throw conflict(`Container ${entry.id} is paused, unpause the container before exec`);
    if (state.Restarting)
      throw conflict(`Container ${entry.id} is restarting, wait until the container is running`);
    return entry;
  }

  create(term: string, config: ExecConfig): { Id: string } {
    const entry = this.runningEntry(term);
    if (!config.Cmd || config.Cmd.length === 0) throw invalidParameter('No exec command specified');
    const detachKeys = parseDetachKeys(config.DetachKeys || undefined);
    let markStarted!: () => void;
    const whenStarted = new Promise<void>((resolve) => (markStarted = resolve));
    const exec: Exec = {
      id: generateId(),
      containerId: entry.id,
      config: { ...config, Cmd: [...config.Cmd] },
      detachKeys,
      started: false,
      running: false,
      exitCode: null,
      pid: 0,
      whenStarted,
      markStarted,
    };
    this.execs.set(exec.id, exec);
    this.forgetWithContainer(entry);
    // Ready by the time the client starts the exec.
    if (takesSpareFifos(exec.config)) this.spareFifos.prepare(this.deps.containers.stdioDir(entry.id));
    void this.containerProcess(entry).catch(() => undefined);
    this.deps.containers.publishEvent(entry.c, `exec_create: ${commandLine(exec.config)}`, {
      execID: exec.id,
    });
    return { Id: exec.id };
  }

  /** Docker drops a container's execs when it stops or goes. */
  private forgetWithContainer(entry: ContainerEntry): void {
    if (this.watched.has(entry)) return;
    this.watched.add(entry);
    const forget = (): void => {
      for (const [id, exec] of this.execs) {
        if (exec.containerId === entry.id && !exec.running) this.execs.delete(id);
      }
    };
    entry.changes.on('stopped', forget);
    entry.changes.once('removed', () => {
      entry.changes.off('stopped', forget);
      forget();
      this.spareFifos.forget(this.deps.containers.stdioDir(entry.id));
    });
  }

  /** Whether the exec has a TTY (raw stream) or not (multiplexed). */
  isTty(id: string): boolean {
    return this.find(id).config.Tty === true;
  }

  /** The streams the exec's client attached. */
  attached(id: string): { stdin: boolean; stdout: boolean; stderr: boolean } {
    const { config } = this.find(id);
    return {
      stdin: config.AttachStdin === true,
      stdout: config.AttachStdout === true,
      stderr: config.AttachStderr === true,
    };
  }

  /**
   * Starts the exec. Detached: resolves once it runs. Otherwise streams its
   * output to the sink and resolves once its exit is recorded (so a client
   * that inspects the exec after its stream ends sees the exit code), or
   * when the client detaches with the detach keys.
   */
  async start(id: string, request: ExecStartRequest): Promise<void> {
    const exec = this.find(id);
    if (exec.running) throw conflict(`Error: Exec command ${exec.id} is already running`);
    if (exec.started) throw conflict(`Error: Exec command ${exec.id} has already run`);
    const entry = this.runningEntry(exec.containerId);
    exec.started = true;
    const config = exec.config;
    const tty = config.Tty === true;
    const wantStdin = !request.detach && config.AttachStdin === true && request.stdin !== undefined;
    const wantOutput = !request.detach && (config.AttachStdout === true || config.AttachStderr === true);
    let fifos: FifoSet | undefined;
    const streams = new ContainerStreams({
      stdinOnce: () => true,
      closeStdin: () => this.ctr.tasks.closeIO(exec.containerId, exec.id),
    });
    let drained: Promise<void> = Promise.resolve();
    let detached: Promise<void> | undefined;
    try {
      // Without a terminal and without anyone reading, the process writes to /dev/null.
      if (tty || wantOutput || wantStdin) {
        const dir = this.deps.containers.stdioDir(exec.containerId);
        if (!wantStdin && !tty) fifos = await this.spareFifos.take(dir);
        fifos ??= await createFifoSet(dir, exec.id, { stdin: wantStdin, terminal: tty });
        drained = streams.beginRun(openFifoSet(fifos));
      }
      if (wantOutput && request.sink) {
        const sink = request.sink;
        streams.attachOutput({
          ...sink,
          stdout: config.AttachStdout === true,
          stderr: config.AttachStderr === true,
        });
      }
      if (wantStdin) {
        detached = new Promise<void>((resolve) =>
          streams.attachInput(request.stdin!, { keys: exec.detachKeys, onDetach: resolve }),
        );
      }
      const process = buildExecProcess({
        containerProcess: await this.containerProcess(entry),
        config: entry.c.Config,
        exec: { ...config, ConsoleSize: request.consoleSize ?? config.ConsoleSize },
        user: config.User ? await this.resolveExecUser(entry, config.User) : undefined,
      });
      await this.ctr.tasks.exec({
        containerId: exec.containerId,
        execId: exec.id,
        stdin: fifos?.stdin,
        stdout: fifos?.stdout,
        stderr: fifos?.stderr,
        terminal: tty,
        spec: process as unknown as Record<string, unknown>,
      });
      const waited = this.ctr.tasks.wait(exec.containerId, exec.id);
      waited.catch(() => undefined);
      try {
        exec.pid = (await this.ctr.tasks.start(exec.containerId, exec.id)).pid;
      } catch (err) {
        await this.ctr.tasks.deleteProcess(exec.containerId, exec.id).catch(() => undefined);
        throw err;
      }
      exec.running = true;
      streams.processStarted();
      exec.done = this.finish(exec, entry, waited, drained, streams, fifos);
    } catch (err) {
      streams.endRun();
      if (fifos) await removeFifoSet(fifos).catch(() => undefined);
      exec.exitCode = startFailureExitCode(err);
      exec.markStarted();
      throw isEngineError(err) ? err : systemError(`OCI runtime exec failed: ${errorMessage(err)}`, err);
    }
    exec.markStarted();
    this.deps.containers.publishEvent(entry.c, `exec_start: ${commandLine(config)}`, { execID: exec.id });
    if (request.detach) return;
    await Promise.race(detached ? [exec.done, detached] : [exec.done]);
  }

  private async finish(
    exec: Exec,
    entry: ContainerEntry,
    waited: Promise<ExitStatus>,
    drained: Promise<void>,
    streams: ContainerStreams,
    fifos: FifoSet | undefined,
  ): Promise<void> {
    let exitCode: number;
    try {
      exitCode = (await waited).exitStatus;
    } catch (err) {
      // The task went away under the exec (the container stopped).
      log.debug('waiting for an exec failed', { exec: exec.id, error: errorMessage(err) });
      exitCode = 137;
    }
    let timer: NodeJS.Timeout | undefined;
    const drainedInTime = await Promise.race([
      drained.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), DRAIN_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    exec.exitCode = exitCode;
    exec.running = false;
    streams.endRun();
    this.deps.containers.publishEvent(entry.c, 'exec_die', { execID: exec.id, exitCode: String(exitCode) });
    if (!entry.c.State.Running) this.execs.delete(exec.id);
    // As Docker: the exit is known and the stream ends before containerd forgets the process.
    void this.release(exec, fifos, drainedInTime);
  }

  /**
   * Deletes the exec's process in containerd, then keeps its FIFOs for
   * another exec or removes them. `drained`: its output ended, so no process
   * holds them open any more.
   */
  private async release(exec: Exec, fifos: FifoSet | undefined, drained: boolean): Promise<void> {
    await this.ctr.tasks.deleteProcess(exec.containerId, exec.id).catch(() => undefined);
    if (!fifos) return;
    if (drained && fifos.stdout && fifos.stderr && !fifos.stdin && !fifos.terminal)
      await this.spareFifos.give(fifos).catch(() => undefined);
    else await removeFifoSet(fifos).catch(() => undefined);
  }

  /** The container's own process settings, from the spec containerd holds, fetched once per run. */
  private containerProcess(entry: ContainerEntry): Promise<NonNullable<OciSpec['process']>> {
    const startedAt = entry.c.State.StartedAt;
    const known = this.runProcesses.get(entry);
    if (known?.startedAt === startedAt) return known.process;
    const process = this.fetchContainerProcess(entry.id);
    this.runProcesses.set(entry, { startedAt, process });
    // A failed fetch is not kept: the next exec asks again.
    process.catch(() => {
      if (this.runProcesses.get(entry)?.process === process) this.runProcesses.delete(entry);
    });
    return process;
  }

  private async fetchContainerProcess(containerId: string): Promise<NonNullable<OciSpec['process']>> {
    const record = await this.ctr.containers.get(containerId);
    if (!record.spec) throw systemError(`container ${containerId} has no runtime spec`);
    const spec = specFromAny<OciSpec>(record.spec);
    if (!spec.process) throw systemError(`container ${containerId} has no process in its spec`);
    return spec.process;
  }

  /** An exec's user, looked up in the running container's own /etc files. */
  private async resolveExecUser(entry: ContainerEntry, user: string): Promise<ResolvedUser> {
    return resolveUser(`/proc/${entry.c.State.Pid}/root`, user, entry.c.HostConfig.GroupAdd);
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const exec = this.find(id);
    const started = await Promise.race([
      exec.whenStarted.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), START_WAIT_MS).unref()),
    ]);
    if (!started) throw systemError('timeout waiting for exec session ready');
    if (!exec.running) throw conflict(`Exec ${exec.id} is not running`);
    if (!exec.config.Tty || height <= 0 || width <= 0) return;
    await this.ctr.tasks.resizePty(exec.containerId, { width, height }, exec.id);
  }

  inspect(id: string): ExecInspect {
    const exec = this.find(id);
    const [entrypoint, ...args] = exec.config.Cmd ?? [];
    return {
      ID: exec.id,
      Running: exec.running,
      ExitCode: exec.exitCode,
      ProcessConfig: {
        tty: exec.config.Tty === true,
        entrypoint: entrypoint ?? '',
        arguments: args,
        privileged: exec.config.Privileged === true,
        user: exec.config.User ?? '',
      },
      OpenStdin: exec.config.AttachStdin === true,
      OpenStderr: exec.config.AttachStderr === true,
      OpenStdout: exec.config.AttachStdout === true,
      CanRemove: false,
      ContainerID: exec.containerId,
      DetachKeys: exec.config.DetachKeys ?? '',
      Pid: exec.pid,
    };
  }

  /**
   * Runs a command to completion inside a container and collects its output
   * (bounded): what health checks do. Kills it after `timeoutMs`.
   */
  async run(
    term: string,
    config: Pick<ExecConfig, 'Cmd' | 'Env' | 'User' | 'WorkingDir'>,
    options: { timeoutMs: number; maxOutput: number },
  ): Promise<ExecResult & { timedOut: boolean }> {
    const { Id } = this.create(term, { ...config, AttachStdout: true, AttachStderr: true });
    const chunks: Buffer[] = [];
    let kept = 0;
    const sink: OutputSink = {
      stdout: true,
      stderr: true,
      write: (_stream, chunk) => {
        if (kept < options.maxOutput) {
          const part = chunk.subarray(0, options.maxOutput - kept);
          chunks.push(Buffer.from(part));
          kept += part.length;
        }
        return true;
      },
      onceDrain: (callback) => callback(),
      end: () => undefined,
    };
    const exec = this.find(Id);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (exec.running) {
        void this.ctr.tasks.kill(exec.containerId, 9, { execId: exec.id }).catch(() => undefined);
      }
    }, options.timeoutMs);
    try {
      await this.start(Id, { detach: false, sink });
    } finally {
      clearTimeout(timer);
      this.execs.delete(Id);
    }
    return { exitCode: exec.exitCode ?? -1, output: Buffer.concat(chunks), timedOut };
  }
}

/** Whether an exec's output will go through a plain stdout+stderr FIFO pair (no stdin, no terminal). */
function takesSpareFifos(config: ExecConfig): boolean {
  return (
    config.Tty !== true &&
    config.AttachStdin !== true &&
    (config.AttachStdout === true || config.AttachStderr === true)
  );
}

/** How Docker shows an exec's command in events. */
function commandLine(config: ExecConfig): string {
  return (config.Cmd ?? []).join(' ');
}

/** Docker's exit codes for an exec that could not start: 127 not found, 126 otherwise. */
function startFailureExitCode(err: unknown): number {
  const message = errorMessage(err).toLowerCase();
  if (message.includes('executable file not found') || message.includes('no such file or directory'))
    return EXIT_CMD_NOT_FOUND;
  return EXIT_CANNOT_INVOKE;
}
