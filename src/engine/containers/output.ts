/**
 * A container's output: its log (the writer a run feeds, read back by
 * docker logs) and the clients attached to its streams.
 */
import type { Readable } from 'node:stream';
import { errorMessage, invalidParameter } from '../../common/errors.js';
import { log } from '../../common/log.js';
import {
  createLogWriter,
  driverReads,
  logPathFor,
  readLog,
  readLogBatches,
  type LogEntry,
  type ReadLogOptions,
} from '../../logs/index.js';
import type { ContainerContext } from './context.js';
import { parseDetachKeys } from './detach-keys.js';
import type { ContainerEntry } from './entry.js';
import type { Container } from './record.js';
import type { OutputSink } from './stdio.js';

export interface AttachRequest {
  stdin?: Readable;
  stdout: boolean;
  stderr: boolean;
  /** Replay the log before streaming. */
  logs: boolean;
  stream: boolean;
  /** The key sequence that detaches (parsed); ctrl-p ctrl-q when absent. */
  detachKeys?: Buffer;
}

export interface LogsRequest {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  since?: bigint;
  until?: bigint;
  tail?: number;
  signal?: AbortSignal;
}

export class ContainerOutput {
  constructor(private readonly context: ContainerContext) {}

  /** The container's log driver and where it keeps the log ('' for none). */
  private logTarget(c: Container): { driver: string; file: string } {
    const driver = c.HostConfig.LogConfig?.Type || 'json-file';
    return {
      driver,
      file:
        driver === 'json-file' ? c.LogPath : logPathFor(driver, { id: c.ID, dir: this.context.dir(c.ID) }),
    };
  }

  openLogger(entry: ContainerEntry): void {
    const c = entry.c;
    const { driver, file } = this.logTarget(c);
    if (entry.logger || !file) return;
    try {
      entry.logger = createLogWriter(driver, file, c.HostConfig.LogConfig?.Config ?? {}, {
        id: c.ID,
        dir: this.context.dir(c.ID),
        labels: c.Config.Labels ?? {},
        env: c.Config.Env ?? [],
      });
    } catch (err) {
      log.error('opening the container log failed; output is not logged', {
        container: c.ID,
        error: errorMessage(err),
      });
    }
    entry.streams.setLogger(entry.logger);
  }

  async closeLogger(entry: ContainerEntry): Promise<void> {
    const logger = entry.logger;
    entry.logger = undefined;
    entry.streams.setLogger(undefined);
    await logger?.close();
  }

  /**
   * Attaches a client: replays the log if asked, then streams output until
   * the run ends (or the client detaches). Resolves when streaming is over.
   */
  async attach(term: string, request: AttachRequest, sink: OutputSink): Promise<void> {
    const entry = this.context.find(term);
    const c = entry.c;
    this.context.event(c, 'attach');
    const target = this.logTarget(c);
    if (request.logs && target.file && driverReads(target.driver)) {
      const options = { stdout: request.stdout, stderr: request.stderr };
      for await (const line of readLog(target.driver, target.file, options)) {
        if (!sink.write(line.stream, Buffer.from(line.log)))
          await new Promise<void>((r) => sink.onceDrain(r));
      }
    }
    if (!request.stream) {
      sink.end();
      return;
    }
    const ended = new Promise<void>((resolve) => {
      const original = sink.end.bind(sink);
      sink.end = () => {
        original();
        resolve();
      };
    });
    const detach = entry.streams.attachOutput(sink);
    if (request.stdin) {
      entry.streams.attachInput(request.stdin, {
        keys: request.detachKeys ?? parseDetachKeys(undefined),
        onDetach: () => {
          this.context.event(c, 'detach');
          detach();
        },
      });
    }
    const removed = new Promise<void>((resolve) => entry.changes.once('removed', resolve));
    await Promise.race([ended, removed]);
    detach();
  }

  /** The container's log entries, optionally following until it stops. */
  logs(term: string, request: LogsRequest): { tty: boolean; batches: AsyncGenerator<LogEntry[]> } {
    const entry = this.context.find(term);
    const c = entry.c;
    const { driver, file } = this.logTarget(c);
    if (!file || !driverReads(driver)) {
      throw invalidParameter(`configured logging driver does not support reading`);
    }
    const stopped = !request.follow
      ? undefined
      : c.State.Running
        ? entry.firstOf('exit', 'removed')
        : Promise.resolve();
    const options: ReadLogOptions = {
      stdout: request.stdout,
      stderr: request.stderr,
      tail: request.tail,
      since: request.since,
      until: request.until,
      follow: request.follow,
      stopped,
      signal: request.signal,
    };
    return { tty: c.Config.Tty === true, batches: readLogBatches(driver, file, options) };
  }
}
