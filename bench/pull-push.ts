/**
 * Pull and push of a ~200 MB five-layer image through a local registry:
 * berthd (pull = download + unpack into snapshots; push = upload of every
 * layer to an empty registry), with skopeo copying the same image (to and
 * from a directory: transfer only, no unpack) as the reference, and Docker's
 * engine beside berth when dockerd is installed.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { startDaemon, type TestDaemon } from '../test/helpers/daemon.js';
import { buildImage, buildTar, busyboxLayer, pushImage } from '../test/helpers/oci-image.js';
import { startRegistry } from '../test/helpers/registry.js';
import { startDocker } from './lib/dockerd.js';
import { median, ratio, report } from './lib/stats.js';

const run = promisify(execFile);
const RUNS = 3;
const LAYER_MB = [48, 48, 48, 48];

/** An Engine API call whose (streamed) answer is read to the end; rejects on an error message. */
function engineCall(host: string, method: string, urlPath: string): Promise<void> {
  const socketPath = host.replace(/^unix:\/\//, '');
  return new Promise((resolve, reject) => {
    // Docker refuses pushes without X-Registry-Auth; "{}" is what its CLI sends when logged out.
    const headers = { 'X-Registry-Auth': 'e30=' };
    const req = http.request({ socketPath, method, path: urlPath, headers }, (res) => {
      let tail = '';
      res.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4096)));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 400 || tail.includes('"errorDetail"'))
          reject(new Error(`${urlPath}: ${tail}`));
        else resolve();
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

interface Engine {
  name: string;
  host: string;
}

/** Cold pulls: the image is removed (and its layers collected) before each run. */
async function timePulls(engine: Engine, ref: string, imageId: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await engineCall(engine.host, 'DELETE', `/images/${imageId}?force=1`).catch(() => undefined);
    times.push(await timed(() => engineCall(engine.host, 'POST', `/images/create?fromImage=${ref}&tag=v1`)));
  }
  return times;
}

/** Pushes to an empty registry each time, so every layer is uploaded. */
async function timePushes(engine: Engine, source: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const target = await startRegistry();
    try {
      const repo = `${target.host}/bench/pushed`;
      await engineCall(engine.host, 'POST', `/images/${source}/tag?repo=${repo}&tag=v1`);
      times.push(await timed(() => engineCall(engine.host, 'POST', `/images/${repo}/push?tag=v1`)));
      await engineCall(engine.host, 'DELETE', `/images/${repo}:v1`);
    } finally {
      await target.stop();
    }
  }
  return times;
}

async function skopeoTimes(ref: string): Promise<{ pull: number[]; push: number[] }> {
  const pull: number[] = [];
  const push: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-skopeo-'));
    const target = await startRegistry();
    try {
      pull.push(
        await timed(() =>
          run('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `dir:${dir}/image`]),
        ),
      );
      push.push(
        await timed(() =>
          run('skopeo', [
            'copy',
            '--dest-tls-verify=false',
            `dir:${dir}/image`,
            `docker://${target.host}/bench/pushed:v1`,
          ]),
        ),
      );
    } finally {
      await target.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { pull, push };
}

export async function bench(): Promise<void> {
  const layers = [await busyboxLayer()];
  for (const mb of LAYER_MB)
    layers.push(
      await buildTar([{ name: `data/${mb}-${layers.length}.bin`, content: randomBytes(mb * 1024 * 1024) }]),
    );
  const image = buildImage({ layers });
  const total = image.layers.reduce((sum, l) => sum + l.size, 0);
  const registry = await startRegistry();
  let daemon: TestDaemon | undefined;
  try {
    await pushImage(registry.url, 'bench/source', 'v1', image);
    const ref = `${registry.host}/bench/source`;
    process.stdout.write(`image: ${image.layers.length} layers, ${(total / 1e6).toFixed(1)} MB compressed\n`);
    daemon = await startDaemon();
    const berth: Engine = { name: 'berth', host: daemon.host };
    const berthPull = await timePulls(berth, ref, image.configDigest);
    process.stdout.write(report('berth pull (download + unpack)', berthPull) + '\n');
    const berthPush = await timePushes(berth, `${ref}:v1`);
    process.stdout.write(report('berth push (all layers uploaded)', berthPush) + '\n');
    const skopeo = await skopeoTimes(`${ref}:v1`);
    process.stdout.write(report('skopeo copy registry → dir (no unpack)', skopeo.pull) + '\n');
    process.stdout.write(report('skopeo copy dir → registry', skopeo.push) + '\n');
    process.stdout.write(
      ratio('pull vs skopeo', median(berthPull), median(skopeo.pull)).replace(
        'berth/docker',
        'berth/skopeo',
      ) + '\n',
    );
    process.stdout.write(
      ratio('push vs skopeo', median(berthPush), median(skopeo.push)).replace(
        'berth/docker',
        'berth/skopeo',
      ) + '\n',
    );
    const docker = await startDocker();
    if (!docker) {
      process.stdout.write('dockerd not available: no side-by-side Docker numbers\n');
      return;
    }
    try {
      const engine: Engine = { name: 'docker', host: docker.host };
      const dockerPull = await timePulls(engine, ref, image.configDigest);
      process.stdout.write(report('docker pull', dockerPull) + '\n');
      const dockerPush = await timePushes(engine, `${ref}:v1`);
      process.stdout.write(report('docker push', dockerPush) + '\n');
      process.stdout.write(ratio('pull', median(berthPull), median(dockerPull)) + '\n');
      process.stdout.write(ratio('push', median(berthPush), median(dockerPush)) + '\n');
    } finally {
      await docker.stop();
    }
  } finally {
    await daemon?.stop();
    await registry.stop();
  }
}
