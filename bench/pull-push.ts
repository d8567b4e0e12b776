/**
 * Pull and push of a ~200 MB five-layer image through a local registry:
 * berthd (pull = download + unpack into snapshots; push = upload of every
 * layer to an empty registry), with skopeo copying the same image (to and
 * from a directory: transfer only, no unpack) as the reference, and Docker's
 * engine beside berth when dockerd is installed. Rounds interleave the
 * engines, and berth's pulls also report the CPU time of berthd and its
 * containerd.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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
const RUNS = 5;
const CLOCK_TICKS = 100;
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
  host: string;
  /** The engine's own directory, named on its processes' command lines. */
  dir: string;
}

/** One cold pull: the image is removed (and its layers collected) first. */
async function coldPull(engine: Engine, ref: string, imageId: string): Promise<number> {
  await engineCall(engine.host, 'DELETE', `/images/${imageId}?force=1`).catch(() => undefined);
  return timed(() => engineCall(engine.host, 'POST', `/images/create?fromImage=${ref}&tag=v1`));
}

/** One push to an empty registry, so every layer is uploaded. */
async function pushOnce(engine: Engine, source: string): Promise<number> {
  const target = await startRegistry();
  try {
    const repo = `${target.host}/bench/pushed`;
    await engineCall(engine.host, 'POST', `/images/${source}/tag?repo=${repo}&tag=v1`);
    const time = await timed(() => engineCall(engine.host, 'POST', `/images/${repo}/push?tag=v1`));
    await engineCall(engine.host, 'DELETE', `/images/${repo}:v1`);
    return time;
  } finally {
    await target.stop();
  }
}

/** skopeo copying the image registry → dir (pull) and dir → an empty registry (push). */
async function skopeoOnce(ref: string): Promise<{ pull: number; push: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-skopeo-'));
  const target = await startRegistry();
  try {
    const pull = await timed(() =>
      run('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `dir:${dir}/image`]),
    );
    const push = await timed(() =>
      run('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        `dir:${dir}/image`,
        `docker://${target.host}/bench/pushed:v1`,
      ]),
    );
    return { pull, push };
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time (user + system, ms) a process has used so far. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** An engine's processes (the daemon, its containerd, shims): those whose command line names its directory. */
function processesUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => {
      if (!/^\d+$/.test(entry)) return false;
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A cold pull, with the CPU time the engine's processes spent on it. */
async function measuredPull(
  engine: Engine,
  ref: string,
  imageId: string,
): Promise<{ time: number; cpu: number }> {
  const pids = processesUnder(engine.dir);
  const cpu = (): number =>
    pids.reduce((sum, pid) => {
      try {
        return sum + cpuMs(pid);
      } catch {
        return sum; // exited meanwhile
      }
    }, 0);
  const before = cpu();
  const time = await coldPull(engine, ref, imageId);
  return { time, cpu: cpu() - before };
}

/**
 * Each round runs every engine once, in turn, so that load from elsewhere on
 * the host weighs on all of them alike.
 */
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
  let docker: Awaited<ReturnType<typeof startDocker>>;
  try {
    await pushImage(registry.url, 'bench/source', 'v1', image);
    const ref = `${registry.host}/bench/source`;
    process.stdout.write(`image: ${image.layers.length} layers, ${(total / 1e6).toFixed(1)} MB compressed\n`);
    daemon = await startDaemon();
    const berth: Engine = { host: daemon.host, dir: daemon.dir };
    docker = await startDocker();
    const dockerEngine: Engine | undefined = docker && {
      host: docker.host,
      dir: path.dirname(docker.host.replace(/^unix:\/\//, '')),
    };
    if (!docker) process.stdout.write('dockerd not available: no side-by-side Docker numbers\n');
    const times = { berthPull: [] as number[], berthCpu: [] as number[], berthPush: [] as number[] };
    const dockerTimes = { pull: [] as number[], cpu: [] as number[], push: [] as number[] };
    const skopeo = { pull: [] as number[], push: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      const berthPull = await measuredPull(berth, ref, image.configDigest);
      times.berthPull.push(berthPull.time);
      times.berthCpu.push(berthPull.cpu);
      if (dockerEngine) {
        const dockerPull = await measuredPull(dockerEngine, ref, image.configDigest);
        dockerTimes.pull.push(dockerPull.time);
        dockerTimes.cpu.push(dockerPull.cpu);
      }
      const copied = await skopeoOnce(`${ref}:v1`);
      skopeo.pull.push(copied.pull);
      skopeo.push.push(copied.push);
      times.berthPush.push(await pushOnce(berth, `${ref}:v1`));
      if (dockerEngine) dockerTimes.push.push(await pushOnce(dockerEngine, `${ref}:v1`));
    }
    const lines = [
      report('berth pull (download + unpack)', times.berthPull),
      report('  CPU of berthd + containerd per pull', times.berthCpu),
      report('berth push (all layers uploaded)', times.berthPush),
      report('skopeo copy registry → dir (no unpack)', skopeo.pull),
      report('skopeo copy dir → registry', skopeo.push),
      ratio('pull vs skopeo', median(times.berthPull), median(skopeo.pull)).replace(
        'berth/docker',
        'berth/skopeo',
      ),
      ratio('push vs skopeo', median(times.berthPush), median(skopeo.push)).replace(
        'berth/docker',
        'berth/skopeo',
      ),
    ];
    if (dockerEngine) {
      lines.push(
        report('docker pull', dockerTimes.pull),
        report('  CPU of dockerd + containerd per pull', dockerTimes.cpu),
        report('docker push', dockerTimes.push),
        ratio('pull', median(times.berthPull), median(dockerTimes.pull)),
        ratio('push', median(times.berthPush), median(dockerTimes.push)),
      );
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await docker?.stop();
    await daemon?.stop();
    await registry.stop();
  }
}
