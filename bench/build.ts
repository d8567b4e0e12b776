/**
 * Builds through `POST /build` (the classic builder API): a 5-step
 * Dockerfile and a 3-stage one, cold (--no-cache) and fully cached, on
 * berthd and, when dockerd is installed, on Docker's classic builder in the
 * same run. RUN steps use network mode none on both engines (the side-by-side
 * dockerd has no bridge); berth's default-bridge cold build is shown too.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startDaemon, docker as dockerCli, type TestDaemon } from '../test/helpers/daemon.js';
import { buildImage, buildTar, busyboxLayer, pushImage } from '../test/helpers/oci-image.js';
import { startRegistry } from '../test/helpers/registry.js';
import { startDocker } from './lib/dockerd.js';
import { median, ratio, report } from './lib/stats.js';

const RUNS = 5;

const FIVE_STEPS = [
  'FROM busybox',
  'COPY app.txt /app/',
  'RUN sha256sum /app/app.txt > /app/sum',
  'ENV MODE=bench',
  'RUN echo "$MODE" > /app/mode',
].join('\n');

const THREE_STAGES = [
  'FROM busybox AS left',
  'RUN echo left > /left && sha256sum /bin/busybox > /left.sum',
  'FROM busybox AS right',
  'RUN echo right > /right',
  'FROM busybox',
  'COPY --from=left /left /left.sum /out/',
  'COPY --from=right /right /out/',
  'CMD ["ls", "/out"]',
].join('\n');

/** POST /build with a context; resolves when the stream ends, rejects on an error message. */
function postBuild(host: string, context: Buffer, query: string): Promise<void> {
  const socketPath = host.replace(/^unix:\/\//, '');
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        method: 'POST',
        path: `/build?${query}`,
        headers: { 'Content-Type': 'application/x-tar' },
      },
      (res) => {
        let tail = '';
        res.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4096)));
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400 || tail.includes('"errorDetail"')) reject(new Error(tail));
          else resolve();
        });
      },
    );
    req.on('error', reject);
    req.end(context);
  });
}

async function contextOf(dockerfile: string): Promise<Buffer> {
  return buildTar([
    { name: 'Dockerfile', content: dockerfile },
    { name: 'app.txt', content: 'x'.repeat(64 * 1024) },
  ]);
}

async function times(host: string, context: Buffer, query: string): Promise<number[]> {
  await postBuild(host, context, query);
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await postBuild(host, context, query);
    out.push(performance.now() - start);
  }
  return out;
}

interface Results {
  [label: string]: number[];
}

async function measure(engine: string, host: string, withBridge: boolean): Promise<Results> {
  const five = await contextOf(FIVE_STEPS);
  const three = await contextOf(THREE_STAGES);
  const results: Results = {};
  const run = async (label: string, context: Buffer, query: string): Promise<void> => {
    results[label] = await times(host, context, query);
    process.stdout.write(report(`${engine} ${label}`, results[label]) + '\n');
  };
  await run('5-step cold', five, 'nocache=1&networkmode=none&t=bench:five');
  await run('5-step cached', five, 'networkmode=none&t=bench:five');
  await run('3-stage cold', three, 'nocache=1&networkmode=none&t=bench:three');
  await run('3-stage cached', three, 'networkmode=none&t=bench:three');
  if (withBridge) await run('5-step cold, default bridge', five, 'nocache=1&t=bench:five');
  return results;
}

async function seed(host: string, source: string): Promise<void> {
  const env = { DOCKER_HOST: host };
  const daemon = { host, dir: '/nonexistent' } as TestDaemon;
  for (const args of [
    ['pull', '-q', source],
    ['tag', source, 'busybox:latest'],
  ]) {
    const result = await dockerCli(daemon, args, { env });
    if (result.code !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  }
}

export async function bench(): Promise<void> {
  const registry = await startRegistry();
  let daemon: TestDaemon | undefined;
  try {
    await pushImage(
      registry.url,
      'busybox',
      'latest',
      buildImage({ layers: [await busyboxLayer()], config: { Cmd: ['sh'] } }),
    );
    const source = `${registry.host}/busybox:latest`;
    daemon = await startDaemon();
    await seed(daemon.host, source);
    const berth = await measure('berth', daemon.host, true);
    const docker = await startDocker();
    if (!docker) {
      process.stdout.write('dockerd not available: no side-by-side Docker numbers\n');
      return;
    }
    try {
      await seed(docker.host, source);
      const classic = await measure('docker', docker.host, false);
      for (const label of Object.keys(classic)) {
        process.stdout.write(ratio(label, median(berth[label]), median(classic[label])) + '\n');
      }
    } finally {
      await docker.stop();
    }
  } finally {
    await daemon?.stop();
    await registry.stop();
  }
}
