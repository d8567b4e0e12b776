/**
 * The classic builder's progress stream (`{"stream":"Step 1/5 : …\n"}`,
 * ` ---> …`, pull progress, aux IDs) for a build whose stages may run at
 * the same time. Each stage writes to its own channel; the channel of the
 * earliest unfinished stage goes out live, the others are held back and
 * released in order, so the stream reads as Docker's one-stage-after-another
 * output while the work overlaps.
 */
import type { JSONMessage } from '../../types/image.js';

export type MessageSink = (message: JSONMessage) => void;

export class StageChannel {
  private buffer: JSONMessage[] | undefined = [];

  constructor(private readonly sink: MessageSink) {}

  /** Stdout text of the build (one `stream` message). */
  stream(text: string): void {
    this.message({ stream: text });
  }

  /** Stderr text: Docker colours it red. */
  stderr(text: string): void {
    this.message({ stream: `\u001b[91m${text}\u001b[0m` });
  }

  message(message: JSONMessage): void {
    if (this.buffer) this.buffer.push(message);
    else this.sink(message);
  }

  /** Sends what was held back and writes live from now on. */
  goLive(): void {
    const held = this.buffer ?? [];
    this.buffer = undefined;
    for (const message of held) this.sink(message);
  }
}

export interface OutputOptions {
  /**
   * Send every stage's messages as they come, each tagged with its stage
   * (`"stage": name`), for clients that show parallel stages live (berth's
   * `--progress`); the docker CLI gets the ordered stream.
   */
  live?: boolean;
}

export class OrderedOutput {
  private readonly channels: StageChannel[] = [];
  private readonly done: boolean[] = [];
  private current = 0;

  constructor(
    private readonly sink: MessageSink,
    private readonly options: OutputOptions = {},
  ) {}

  /** Channels in output order (named after their stages); the first goes live at once. */
  open(names: readonly string[]): StageChannel[] {
    for (const name of names) {
      const sink: MessageSink = this.options.live
        ? (message) => this.sink({ ...message, stage: name } as JSONMessage)
        : this.sink;
      const channel = new StageChannel(sink);
      if (this.options.live) channel.goLive();
      this.channels.push(channel);
      this.done.push(false);
    }
    this.channels[0]?.goLive();
    return [...this.channels];
  }

  /** The stage at `index` is complete: later channels catch up. */
  finish(index: number): void {
    this.done[index] = true;
    while (this.current < this.channels.length && this.done[this.current]) {
      this.current++;
      this.channels[this.current]?.goLive();
    }
  }

  /** After a failure: everything held back goes out, in order. */
  flushAll(): void {
    for (const channel of this.channels) channel.goLive();
  }

  stream(text: string): void {
    this.sink({ stream: text });
  }

  message(message: JSONMessage): void {
    this.sink(message);
  }
}
