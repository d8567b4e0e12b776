/**
 * CLI start-up: wall time of `berth version`, `berth ps` and `berth --help`
 * next to `docker version` and `docker ps`, both CLIs talking to the same
 * berthd, so the difference is the client's own start-up and request cost.
 * `node -e 0` is the floor no Node.js CLI goes below. Samples are taken in
 * turns (one of each command per round) so that load from anything else on
 * the machine falls on every command alike.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { BERTH, startDaemon } from '../test/helpers/daemon.js';
import { dockerEnv, runWhenMain } from './lib/engines.js';
import { median, ratio, report } from './lib/stats.js';

const exec = promisify(execFile);
const SAMPLES = 20;
const WARMUP = 2;

interface Measured {
  label: string;
  run: () => Promise<unknown>;
  times: number[];
}

async function measureInTurns(measured: Measured[]): Promise<void> {
  for (let round = 0; round < WARMUP + SAMPLES; round++) {
    for (const m of measured) {
      const start = performance.now();
      await m.run();
      if (round >= WARMUP) m.times.push(performance.now() - start);
    }
  }
}

export async function bench(): Promise<void> {
  const daemon = await startDaemon();
  try {
    const env = dockerEnv({ name: 'berth', host: daemon.host });
    const berth = (args: string[]): Measured => ({
      label: `berth ${args.join(' ')}`,
      run: () => exec(process.execPath, [BERTH, '-H', daemon.host, ...args]),
      times: [],
    });
    const docker = (args: string[]): Measured => ({
      label: `docker ${args.join(' ')}`,
      run: () => exec('docker', args, { env }),
      times: [],
    });
    const node: Measured = { label: 'node -e 0', run: () => exec(process.execPath, ['-e', '0']), times: [] };
    const compared = ['version', 'ps'];
    const pairs = compared.map((command) => ({ command, ours: berth([command]), theirs: docker([command]) }));
    const measured = [node, ...pairs.flatMap((p) => [p.ours, p.theirs]), berth(['--help'])];
    await measureInTurns(measured);
    for (const m of measured) console.log(report(m.label, m.times));
    for (const { command, ours, theirs } of pairs) {
      console.log(ratio(command, median(ours.times), median(theirs.times)));
    }
  } finally {
    await daemon.stop();
  }
}

runWhenMain('cli.js', bench);
