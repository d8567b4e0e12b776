/** A counting semaphore: at most `limit` tasks run at once, the rest wait in order. */
export class Limiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Whether a task started now would have to wait. */
  get saturated(): boolean {
    return this.running >= Math.max(1, this.limit);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.saturated) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}
