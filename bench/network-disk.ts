/**
 * The cost of container networking and the speed of disk accounting,
 * through the real docker CLI on berthd: `docker run --rm busybox true` with
 * --network none, the default bridge, a user network and a published port;
 * then `GET /system/df` with 200 containers and 50 volumes.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { startDaemon, type TestDaemon } from '../test/helpers/daemon.js';
import { buildImage, busyboxLayer, pushImage } from '../test/helpers/oci-image.js';
import { startRegistry } from '../test/helpers/registry.js';
import { report, timeRuns } from './lib/stats.js';

const exec = promisify(execFile);
const RUNS = 15;
const CONTAINERS = 200;
const VOLUMES = 50;

function dockerCli(daemon: TestDaemon, args: string[]): Promise<{ stdout: string }> {
  return exec('docker', args, {
    env: {
      ...process.env,
      DOCKER_HOST: daemon.host,
      DOCKER_CONFIG: path.join(os.tmpdir(), 'bench-docker-config'),
    },
  });
}

function get(daemon: TestDaemon, urlPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: daemon.socket, path: urlPath }, (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 0) >= 400 ? reject(new Error(urlPath)) : resolve()));
      })
      .on('error', reject);
  });
}

async function inBatches(count: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < count; i += width)
    await Promise.all(Array.from({ length: Math.min(width, count - i) }, (_, j) => fn(i + j)));
}

export async function bench(): Promise<void> {
  const registry = await startRegistry();
  const daemon = await startDaemon();
  try {
    const image = buildImage({ layers: [await busyboxLayer()], config: { Cmd: ['sh'] } });
    await pushImage(registry.url, 'busybox', 'latest', image);
    await dockerCli(daemon, ['pull', '-q', `${registry.host}/busybox:latest`]);
    await dockerCli(daemon, ['tag', `${registry.host}/busybox:latest`, 'busybox:latest']);
    await dockerCli(daemon, ['network', 'create', 'benchnet']);
    const variants: [string, string[]][] = [
      ['--network none', ['--network', 'none']],
      ['default bridge', []],
      ['user network', ['--network', 'benchnet']],
      ['default bridge, -p 127.0.0.1::80', ['-p', '127.0.0.1::80']],
    ];
    for (const [label, flags] of variants) {
      const times = await timeRuns(RUNS, () =>
        dockerCli(daemon, ['run', '--rm', ...flags, 'busybox', 'true']),
      );
      console.log(report(`docker run --rm busybox true (${label})`, times));
    }
    await inBatches(VOLUMES, 10, (i) => dockerCli(daemon, ['volume', 'create', `bench${i}`]));
    await inBatches(CONTAINERS, 10, (i) =>
      dockerCli(daemon, ['create', ...(i < VOLUMES ? ['-v', `bench${i}:/v`] : []), 'busybox', 'true']),
    );
    const df = await timeRuns(20, () => get(daemon, '/system/df'));
    console.log(report(`GET /system/df (${CONTAINERS} containers, ${VOLUMES} volumes)`, df));
    const start = performance.now();
    await dockerCli(daemon, ['system', 'df']);
    console.log(`docker system df (CLI, one run)`.padEnd(48), `${(performance.now() - start).toFixed(1)} ms`);
  } finally {
    await daemon.stop();
    await registry.stop();
  }
}

if (process.argv[1]?.endsWith('network-disk.js')) {
  void bench().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
