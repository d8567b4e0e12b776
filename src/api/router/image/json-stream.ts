import type { ServerResponse } from 'node:http';
import { ProgressWriter } from '../../../engine/images/progress.js';
import type { JSONMessage } from '../../../types/image.js';

/**
 * A JSON progress stream that sends its headers with the first message, as
 * moby's flush-on-write output does: an operation failing before it printed
 * anything still answers with a plain HTTP error (so the CLI prints "Error
 * response from daemon: …"); after that, errors travel as errorDetail.
 */
export class LazyJsonStream {
  readonly progress: ProgressWriter;
  private started = false;

  constructor(private readonly res: ServerResponse) {
    this.progress = new ProgressWriter((message) => this.write(message));
  }

  get hasStarted(): boolean {
    return this.started;
  }

  write(message: JSONMessage): void {
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, { 'Content-Type': 'application/json' });
    }
    this.res.write(JSON.stringify(message) + '\n');
  }

  /** Ends the stream; an error after the first message becomes the last message. */
  finish(err?: unknown): void {
    if (err !== undefined) {
      if (!this.started) throw err;
      this.progress.error(err);
    }
    if (!this.started) this.res.writeHead(200, { 'Content-Type': 'application/json' });
    this.res.end();
  }
}

/** An AbortSignal that fires when the client goes away before the response is complete. */
export function clientGone(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}
