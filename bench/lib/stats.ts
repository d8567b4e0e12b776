import { performance } from 'node:perf_hooks';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Times `fn` `runs` times after `warmup` unmeasured runs; returns milliseconds per run. */
export async function timeRuns(runs: number, fn: () => Promise<unknown>, warmup = 2): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

export function report(label: string, times: readonly number[]): string {
  return `${label.padEnd(48)} median ${median(times).toFixed(1).padStart(8)} ms   p90 ${percentile(times, 90).toFixed(1).padStart(8)} ms   (n=${times.length})`;
}

export function ratio(label: string, berth: number, docker: number): string {
  return `${label.padEnd(48)} berth/docker ${(berth / docker).toFixed(2)}`;
}
