/**
 * CLI start-up: wall time of `berth version`, `berth ps` and `berth --help`
 * next to `docker version` and `docker ps`, both CLIs talking to the same
 * berthd, so the difference is the client's own start-up and request cost.
 * `node -e 0` is the floor no Node.js CLI goes below.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BERTH, startDaemon } from '../test/helpers/daemon.js';
import { dockerEnv, runWhenMain } from './lib/engines.js';
import { median, ratio, report, timeRuns } from './lib/stats.js';

const exec = promisify(execFile);
const SAMPLES = 20;

type Cli = (args: string[]) => Promise<unknown>;

async function measureCommands(label: string, cli: Cli, commands: string[][]): Promise<Map<string, number>> {
  const medians = new Map<string, number>();
  for (const args of commands) {
    const times = await timeRuns(SAMPLES, () => cli(args));
    console.log(report(`${label} ${args.join(' ')}`, times));
    medians.set(args.join(' '), median(times));
  }
  return medians;
}

export async function bench(): Promise<void> {
  const daemon = await startDaemon();
  try {
    const engine = { name: 'berth', host: daemon.host };
    const berth: Cli = (args) => exec(process.execPath, [BERTH, '-H', daemon.host, ...args]);
    const docker: Cli = (args) => exec('docker', args, { env: dockerEnv(engine) });
    const node = await timeRuns(SAMPLES, () => exec(process.execPath, ['-e', '0']));
    console.log(report('node -e 0', node));
    const compared = [['version'], ['ps']];
    const ours = await measureCommands('berth', berth, [...compared, ['--help']]);
    const theirs = await measureCommands('docker', docker, compared);
    for (const args of compared) {
      const key = args.join(' ');
      console.log(ratio(key, ours.get(key)!, theirs.get(key)!));
    }
  } finally {
    await daemon.stop();
  }
}

runWhenMain('cli.js', bench);
