/**
 * Container lifecycle through the real docker CLI: `docker run --rm busybox
 * true` latency, 20 concurrent `docker run -d`, and `docker ps -a` with 200
 * containers, on berthd and, when dockerd is installed, on Docker's engine
 * beside it (same busybox image from the same local registry). Docker runs
 * with --bridge none, so both engines run containers with --network none.
 */
import { performance } from 'node:perf_hooks';
import {
  dockerCli,
  engineCall,
  measureSideBySide,
  runWhenMain,
  startEnginesWithBusybox,
  type Engine,
} from './lib/engines.js';
import { median, ratio, report, timeRuns } from './lib/stats.js';

const RUN_SAMPLES = 20;
const CONCURRENT = 20;
const LISTED = 200;

interface Results {
  run: number[];
  runDefaultNetwork?: number[];
  concurrent: number[];
  ps: number[];
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function removeAll(engine: Engine): Promise<void> {
  const ids = (await dockerCli(engine, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
  await pool(ids, 8, (id) => engineCall(engine, 'DELETE', `/containers/${id}?force=1`));
}

async function measure(engine: Engine, berth: boolean): Promise<Results> {
  const run = await timeRuns(RUN_SAMPLES, () =>
    dockerCli(engine, ['run', '--rm', '--network', 'none', 'busybox', 'true']),
  );
  const runDefaultNetwork = berth
    ? await timeRuns(RUN_SAMPLES, () => dockerCli(engine, ['run', '--rm', 'busybox', 'true']))
    : undefined;

  const concurrent: number[] = [];
  for (let round = 0; round < 3; round++) {
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENT }, () =>
        dockerCli(engine, ['run', '-d', '--network', 'none', 'busybox', 'sleep', '1000']),
      ),
    );
    concurrent.push(performance.now() - start);
    await removeAll(engine);
  }

  await pool(
    Array.from({ length: LISTED }, (_, i) => i),
    8,
    (i) =>
      engineCall(engine, 'POST', `/containers/create?name=listed-${i}`, {
        Image: 'busybox',
        Cmd: ['true'],
        HostConfig: { NetworkMode: 'none' },
      }),
  );
  const ps = await timeRuns(10, () => dockerCli(engine, ['ps', '-a']));
  await removeAll(engine);
  return { run, runDefaultNetwork, concurrent, ps };
}

function print(name: string, results: Results): void {
  console.log(report(`${name}: docker run --rm busybox true`, results.run));
  if (results.runDefaultNetwork)
    console.log(report(`${name}: same, default network`, results.runDefaultNetwork));
  console.log(report(`${name}: ${CONCURRENT} concurrent docker run -d (wall)`, results.concurrent));
  console.log(report(`${name}: docker ps -a with ${LISTED} containers`, results.ps));
}

export async function bench(): Promise<void> {
  const { engines, stop } = await startEnginesWithBusybox();
  try {
    const compared = await measureSideBySide(
      engines,
      (engine) => measure(engine, engine.name === 'berth'),
      print,
    );
    if (!compared) return;
    const { ours, theirs } = compared;
    console.log(ratio('run --rm latency', median(ours.run), median(theirs.run)));
    console.log(ratio(`${CONCURRENT} concurrent run -d`, median(ours.concurrent), median(theirs.concurrent)));
    console.log(ratio(`ps -a with ${LISTED} containers`, median(ours.ps), median(theirs.ps)));
  } finally {
    await stop();
  }
}

runWhenMain('containers.js', bench);
