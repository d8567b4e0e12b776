import { execFile } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startDaemon } from '../../test/helpers/daemon.js';
import { buildImage, busyboxLayer, pushImage } from '../../test/helpers/oci-image.js';
import { startRegistry } from '../../test/helpers/registry.js';
import { startDocker } from './dockerd.js';

const exec = promisify(execFile);

/** An engine the docker CLI is pointed at: berthd, or Docker's dockerd beside it. */
export interface Engine {
  name: string;
  host: string;
}

/** The environment that points the docker CLI at `engine`, with a config of its own. */
export function dockerEnv(engine: Engine): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DOCKER_HOST: engine.host,
    DOCKER_CONFIG: path.join(os.tmpdir(), 'bench-docker-config'),
  };
}

export function dockerCli(engine: Engine, args: string[]): Promise<{ stdout: string }> {
  return exec('docker', args, { env: dockerEnv(engine), maxBuffer: 64 * 1024 * 1024 });
}

/** One Engine API request with an optional JSON body; resolves with the answer, rejects on a status >= 400. */
export function engineCall(engine: Engine, method: string, urlPath: string, body?: unknown): Promise<string> {
  const socketPath = engine.host.replace(/^unix:\/\//, '');
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, method, path: urlPath, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          (res.statusCode ?? 0) >= 400 ? reject(new Error(`${urlPath}: ${text}`)) : resolve(text),
        );
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export interface SideBySideEngines {
  /** berth first, then docker when dockerd is installed. */
  engines: Engine[];
  stop(): Promise<void>;
}

/**
 * berthd and (when installed) dockerd, each with the same busybox image
 * pulled from one local registry and tagged `busybox:latest`.
 */
export async function startEnginesWithBusybox(): Promise<SideBySideEngines> {
  const registry = await startRegistry();
  const berthd = await startDaemon();
  const docker = await startDocker();
  const stop = async (): Promise<void> => {
    await docker?.stop();
    await berthd.stop();
    await registry.stop();
  };
  try {
    const image = buildImage({ layers: [await busyboxLayer()], config: { Cmd: ['sh'] } });
    await pushImage(registry.url, 'busybox', 'latest', image);
    const engines: Engine[] = [{ name: 'berth', host: berthd.host }];
    if (docker) engines.push({ name: 'docker', host: docker.host });
    for (const engine of engines) {
      await dockerCli(engine, ['pull', '-q', `${registry.host}/busybox:latest`]);
      await dockerCli(engine, ['tag', `${registry.host}/busybox:latest`, 'busybox:latest']);
    }
    return { engines, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Measures each engine in turn, printing each one's numbers; returns berth's
 * and docker's results to compare, or undefined (said on stdout) without dockerd.
 */
export async function measureSideBySide<R>(
  engines: Engine[],
  measure: (engine: Engine) => Promise<R>,
  print: (name: string, results: R) => void,
): Promise<{ ours: R; theirs: R } | undefined> {
  const results = new Map<string, R>();
  for (const engine of engines) {
    const measured = await measure(engine);
    results.set(engine.name, measured);
    print(engine.name, measured);
  }
  const ours = results.get('berth')!;
  const theirs = results.get('docker');
  if (!theirs) {
    console.log('dockerd is not installed: no side-by-side numbers');
    return undefined;
  }
  return { ours, theirs };
}

/** Runs `bench` when `file` (a compiled bench module) is the script node was started with, not bench/run.js. */
export function runWhenMain(file: string, bench: () => Promise<void>): void {
  if (!process.argv[1]?.endsWith(file) || process.argv[1].includes('run.js')) return;
  void bench().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
