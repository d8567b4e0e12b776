/**
 * Building for another architecture: `platform=linux/arm64` pulls the arm64
 * image of a two-platform index and runs RUN steps under qemu-user-static
 * (binfmt_misc), and BUILDPLATFORM/TARGETARCH give the cross-compilation
 * pattern (a native build stage feeding the arm64 one). Needs Debian's
 * qemu-user-static and an arm64 busybox (busybox-static:arm64, fetched with
 * apt-get download when arm64 is a dpkg architecture); skipped otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { api, jsonLines } from '../helpers/images.js';
import { makeTar } from '../helpers/archive.js';
import { buildImage, buildIndex, buildTar, busyboxLayer, pushImage } from '../helpers/oci-image.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

const APPLETS = ['sh', 'uname', 'cat', 'echo'];

/** An arm64 static busybox: $BERTH_ARM64_BUSYBOX, or Debian's package when apt can fetch it. */
function arm64Busybox(dir: string): Buffer | undefined {
  const given = process.env.BERTH_ARM64_BUSYBOX;
  if (given && existsSync(given)) return readFileSync(given);
  if (!existsSync('/usr/bin/qemu-aarch64-static')) return undefined;
  try {
    const foreign = execFileSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' });
    if (!foreign.split('\n').includes('arm64')) return undefined;
    execFileSync('apt-get', ['download', '-qq', 'busybox-static:arm64'], { cwd: dir, stdio: 'ignore' });
    const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
    if (!deb) return undefined;
    execFileSync('dpkg', ['-x', path.join(dir, deb), path.join(dir, 'x')]);
    return readFileSync(path.join(dir, 'x/bin/busybox'));
  } catch {
    return undefined;
  }
}

let daemon: TestDaemon | undefined;
let registry: RunningRegistry | undefined;
let workDir: string;
let reference = '';
let skip: string | false = false;

before(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'berth-build-platform-'));
  const busybox = arm64Busybox(workDir);
  if (!busybox) {
    skip = 'no qemu-user-static or arm64 busybox on this machine';
    return;
  }
  const armLayer = await buildTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: busybox, mode: 0o755 },
    ...APPLETS.map((applet) => ({ name: `bin/${applet}`, linkname: 'busybox' })),
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { name: 'etc/group', content: 'root:x:0:\n' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ]);
  const index = buildIndex([
    buildImage({ layers: [await busyboxLayer()], platform: { os: 'linux', architecture: 'amd64' } }),
    buildImage({ layers: [armLayer], platform: { os: 'linux', architecture: 'arm64' } }),
  ]);
  registry = await startRegistry();
  await pushImage(registry.url, 'multi/busybox', 'latest', index);
  reference = `${registry.host}/multi/busybox:latest`;
  daemon = await startDaemon();
});

after(async () => {
  await daemon?.stop();
  await registry?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

async function build(
  dockerfile: string,
  query: string,
): Promise<{ text: string; id?: string; error?: string }> {
  const body = await makeTar([{ name: 'Dockerfile', body: dockerfile }]);
  const res = await api(daemon!, 'POST', `/build?${query}`, {
    headers: { 'Content-Type': 'application/x-tar' },
    body,
  });
  if (res.status !== 200) return { text: '', error: res.text };
  let text = '';
  let id: string | undefined;
  let error: string | undefined;
  for (const m of jsonLines<{ stream?: string; aux?: { ID?: string }; error?: string }>(res.text)) {
    text += m.stream ?? '';
    if (m.aux?.ID) id = m.aux.ID;
    if (m.error) error = m.error;
  }
  return { text, id, error };
}

describe('builds for another platform', () => {
  test('RUN executes under qemu and the image is arm64', async (t) => {
    if (skip) return t.skip(skip);
    const out = await build(`FROM ${reference}\nRUN uname -m && uname -m > /arch\n`, 'platform=linux/arm64');
    assert.equal(out.error, undefined, out.text);
    assert.ok(out.text.includes('\naarch64\n'), out.text);
    const inspect = JSON.parse((await api(daemon!, 'GET', `/images/${out.id}/json`)).text) as {
      Architecture: string;
      Os: string;
    };
    assert.equal(inspect.Architecture, 'arm64');
    assert.equal(inspect.Os, 'linux');
  });

  test('BUILDPLATFORM and TARGETARCH: a native stage feeding the target one', async (t) => {
    if (skip) return t.skip(skip);
    const dockerfile = [
      `FROM --platform=$BUILDPLATFORM ${reference} AS tools`,
      'ARG TARGETARCH',
      'ARG BUILDARCH',
      'RUN echo "built on $(uname -m) for $TARGETARCH from $BUILDARCH" > /made',
      `FROM ${reference}`,
      'COPY --from=tools /made /made',
      'RUN cat /made && uname -m',
    ].join('\n');
    const out = await build(dockerfile, 'platform=linux/arm64');
    assert.equal(out.error, undefined, out.text);
    assert.ok(out.text.includes('built on x86_64 for arm64 from amd64\naarch64\n'), out.text);
  });
});
