/**
 * Docker's JSON progress messages (moby's streamformatter): status lines,
 * per-id progress updates with progressDetail and a rendered bar, aux
 * payloads and errors, handed to a sink one message at a time.
 */
import { renderProgress } from '../../cli/format/progress.js';
import { errorMessage } from '../../common/errors.js';
import type { JSONMessage } from '../../types/image.js';

export type ProgressSink = (message: JSONMessage) => void;

/** Width the daemon renders bars for, as moby does when it has no terminal. */
const DAEMON_BAR_WIDTH = 200;

/** Only once `step` bytes more than last time (moby: 512 KiB, or 1% when smaller). */
export function progressStep(total: number): number {
  const every = 512 * 1024;
  return total > 0 ? Math.min(every, Math.trunc(total / 100)) : every;
}

export class ProgressWriter {
  constructor(private readonly sink: ProgressSink) {}

  /** A status line, optionally for an id: {"status":"Pulling from library/busybox","id":"latest"}. */
  status(status: string, id?: string): void {
    const message: JSONMessage = { status };
    if (id !== undefined && id !== '') message.id = id;
    this.sink(message);
  }

  /** A progress update: {"status":"Downloading","progressDetail":{...},"progress":"[=>  ]…","id":"…"}. */
  update(id: string, action: string, current = 0, total = 0): void {
    const message: JSONMessage = { status: action, progressDetail: {} };
    if (current > 0 || total > 0) {
      message.progressDetail = { current, total };
      const bar = renderProgress({ current, total }, DAEMON_BAR_WIDTH);
      if (bar !== '') message.progress = bar;
    }
    message.id = id;
    this.sink(message);
  }

  /** A stream line (load): {"stream":"Loaded image: busybox:latest\n"}. */
  stream(text: string): void {
    this.sink({ stream: text });
  }

  aux(payload: unknown): void {
    this.sink({ progressDetail: {}, aux: payload });
  }

  error(err: unknown): void {
    const message = errorMessage(err);
    this.sink({ errorDetail: { message }, error: message });
  }
}

/** A progress writer that discards everything (quiet operations). */
export const silentProgress = new ProgressWriter(() => undefined);
