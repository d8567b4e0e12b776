/**
 * Container I/O through the real docker CLI, on berthd and (when installed)
 * on Docker's engine beside it: log throughput (100 MB written by a
 * container into its json-file log, then streamed back by `docker logs`),
 * `docker exec c true` latency (the engines' samples taken in turn, so a
 * busy host slows them alike), and one-shot stats of 20 containers (one
 * request each, all at once, and `docker stats --no-stream` for the 20).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import {
  dockerCli,
  dockerEnv,
  engineCall,
  measureSideBySide,
  runWhenMain,
  startEnginesWithBusybox,
  type Engine,
} from './lib/engines.js';
import { median, ratio, report, timeRuns } from './lib/stats.js';

const LOG_BYTES = 100 * 1024 * 1024;
const LINE = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789';
const EXEC_SAMPLES = 40;
const EXEC_WARMUP = 3;
const STATS_CONTAINERS = 20;

interface Results {
  /** MB/s a container's output goes into its log. */
  logWrite: number[];
  /** MB/s `docker logs` streams it back. */
  logRead: number[];
  /** ms for 20 one-shot stats requests at once. */
  statsApi: number[];
  statsCli: number[];
}

/** `docker logs` of a container into nothing; resolves with the byte count. */
function drainLogs(engine: Engine, container: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['logs', container], {
      env: dockerEnv(engine),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let bytes = 0;
    child.stdout.on('data', (c: Buffer) => (bytes += c.length));
    child.on('error', reject);
    child.on('close', () => resolve(bytes));
  });
}

async function measure(engine: Engine): Promise<Results> {
  const logWrite: number[] = [];
  const logRead: number[] = [];
  for (let round = 0; round < 3; round++) {
    const name = `logger-${round}`;
    const started = performance.now();
    await dockerCli(engine, [
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'none',
      'busybox',
      'sh',
      '-c',
      `yes "${LINE}" | head -c ${LOG_BYTES}`,
    ]);
    await dockerCli(engine, ['wait', name]);
    logWrite.push(LOG_BYTES / 1e6 / ((performance.now() - started) / 1000));
    const readStart = performance.now();
    const bytes = await drainLogs(engine, name);
    if (bytes !== LOG_BYTES) throw new Error(`${engine.name}: docker logs gave ${bytes} bytes`);
    logRead.push(LOG_BYTES / 1e6 / ((performance.now() - readStart) / 1000));
    await dockerCli(engine, ['rm', name]);
  }

  const names = Array.from({ length: STATS_CONTAINERS }, (_, i) => `stats-${i}`);
  await Promise.all(
    names.map((name) =>
      dockerCli(engine, ['run', '-d', '--name', name, '--network', 'none', 'busybox', 'sleep', '1000']),
    ),
  );
  const statsApi = await timeRuns(10, () =>
    Promise.all(
      names.map((name) => engineCall(engine, 'GET', `/v1.41/containers/${name}/stats?stream=0&one-shot=1`)),
    ),
  );
  const statsCli = await timeRuns(5, () => dockerCli(engine, ['stats', '--no-stream', ...names]), 1);
  await dockerCli(engine, ['rm', '-f', ...names]);
  return { logWrite, logRead, statsApi, statsCli };
}

function print(name: string, r: Results): void {
  const mbps = (label: string, values: number[]): string =>
    `${label.padEnd(48)} median ${median(values).toFixed(1).padStart(8)} MB/s  (n=${values.length})`;
  console.log(mbps(`${name}: 100 MB of output into the log`, r.logWrite));
  console.log(mbps(`${name}: docker logs streaming it back`, r.logRead));
  console.log(report(`${name}: ${STATS_CONTAINERS} one-shot stats at once (API)`, r.statsApi));
  console.log(report(`${name}: docker stats --no-stream, ${STATS_CONTAINERS} containers`, r.statsCli));
}

/** `docker exec c true` on every engine, one sample of each in turn. */
async function measureExec(engines: Engine[]): Promise<Map<string, number[]>> {
  const times = new Map(engines.map((engine) => [engine.name, [] as number[]]));
  const target = ['run', '-d', '--name', 'exec-target', '--network', 'none', 'busybox', 'sleep', '1000'];
  for (const engine of engines) await dockerCli(engine, target);
  try {
    for (let round = -EXEC_WARMUP; round < EXEC_SAMPLES; round++) {
      const order = round % 2 === 0 ? engines : [...engines].reverse();
      for (const engine of order) {
        const [took] = await timeRuns(1, () => dockerCli(engine, ['exec', 'exec-target', 'true']), 0);
        if (round >= 0) times.get(engine.name)!.push(took);
      }
    }
  } finally {
    for (const engine of engines) await dockerCli(engine, ['rm', '-f', 'exec-target']);
  }
  return times;
}

export async function bench(): Promise<void> {
  const { engines, stop } = await startEnginesWithBusybox();
  try {
    const compared = await measureSideBySide(engines, measure, print);
    const exec = await measureExec(engines);
    for (const [name, times] of exec) console.log(report(`${name}: docker exec c true`, times));
    if (!compared) return;
    const { ours, theirs } = compared;
    // Throughputs: higher is better, so the ratio is docker/berth time, i.e. berth/docker speed inverted.
    console.log(ratio('log write time', median(theirs.logWrite), median(ours.logWrite)));
    console.log(ratio('logs read time', median(theirs.logRead), median(ours.logRead)));
    console.log(ratio('exec true latency', median(exec.get('berth')!), median(exec.get('docker')!)));
    console.log(
      ratio(`${STATS_CONTAINERS} one-shot stats (API)`, median(ours.statsApi), median(theirs.statsApi)),
    );
    console.log(ratio('docker stats --no-stream', median(ours.statsCli), median(theirs.statsCli)));
  } finally {
    await stop();
  }
}

runWhenMain('io.js', bench);
