/**
 * Building with the real docker CLI (`DOCKER_BUILDKIT=0 docker build`, the
 * classic API) and with `berth build` against berthd: the result is built,
 * tagged, cached on rebuild, shows each step in `docker history`, and runs;
 * berth's extras (--output, --secret, --iidfile, builder prune) work end to end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { berth, docker, startDaemon, type CommandResult, type TestDaemon } from '../helpers/daemon.js';
import { seedBusybox } from '../helpers/busybox.js';
import { listTar } from '../helpers/archive.js';

let daemon: TestDaemon;
let workDir: string;

function ok(result: CommandResult): string {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

/** Writes a context directory and returns its path. */
function context(name: string, files: Record<string, string>): string {
  const dir = path.join(workDir, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

const classic = { DOCKER_BUILDKIT: '0' };

before(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'berth-build-e2e-'));
  daemon = await startDaemon();
  await seedBusybox(daemon);
});

after(async () => {
  await daemon?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('DOCKER_BUILDKIT=0 docker build', () => {
  test('builds, tags, caches and runs; history shows each step', async () => {
    const dir = context('app', {
      Dockerfile: [
        'FROM busybox AS build',
        'ARG MESSAGE=default',
        'COPY src/ /src/',
        'RUN cat /src/*.txt > /built.txt && echo "$MESSAGE" >> /built.txt',
        'FROM busybox',
        'COPY --from=build /built.txt /app/built.txt',
        'CMD ["cat", "/app/built.txt"]',
      ].join('\n'),
      '.dockerignore': 'src/ignored.txt\n',
      'src/one.txt': 'one\n',
      'src/ignored.txt': 'ignored\n',
    });
    const iid = path.join(workDir, 'iid');
    const first = await docker(
      daemon,
      ['build', '-t', 'e2e:app', '--build-arg', 'MESSAGE=hello', '--iidfile', iid, dir],
      { env: classic },
    );
    ok(first);
    assert.match(first.stdout, /Step 1\/7 : FROM busybox AS build/);
    assert.match(first.stdout, /Successfully tagged e2e:app\n/);
    const id = readFileSync(iid, 'utf8');
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.ok(first.stdout.includes(`Successfully built ${id.slice(7, 19)}`));
    assert.equal(ok(await docker(daemon, ['run', '--rm', 'e2e:app'])), 'one\nhello\n');

    const second = ok(
      await docker(daemon, ['build', '-t', 'e2e:app', '--build-arg', 'MESSAGE=hello', dir], { env: classic }),
    );
    assert.equal(second.split(' ---> Using cache').length - 1, 5);
    assert.ok(second.includes(`Successfully built ${id.slice(7, 19)}`));

    const historyOut = ok(
      await docker(daemon, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'e2e:app']),
    );
    const rows = historyOut.trim().split('\n');
    assert.equal(rows[0], '/bin/sh -c #(nop)  CMD ["cat" "/app/built.txt"]');
    assert.match(rows[1], /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/app\/built.txt $/);

    const quiet = ok(
      await docker(daemon, ['build', '-q', '--build-arg', 'MESSAGE=hello', dir], { env: classic }),
    );
    assert.equal(quiet.trim(), id);
  });

  test('a Dockerfile from stdin, -f outside the context, --target and a failing step', async () => {
    const stdin = ok(
      await docker(daemon, ['build', '-t', 'e2e:stdin', '-'], {
        env: classic,
        input: 'FROM busybox\nRUN echo from-stdin > /s\n',
      }),
    );
    assert.match(stdin, /Successfully tagged e2e:stdin/);
    assert.equal(ok(await docker(daemon, ['run', '--rm', 'e2e:stdin', 'cat', '/s'])), 'from-stdin\n');

    const ctx = context('outside-ctx', { 'data.txt': 'data\n' });
    const dockerfile = path.join(workDir, 'Outside.Dockerfile');
    writeFileSync(dockerfile, 'FROM busybox AS first\nCOPY data.txt /\nFROM first\nRUN false\n');
    ok(
      await docker(daemon, ['build', '-f', dockerfile, '--target', 'first', '-t', 'e2e:outside', ctx], {
        env: classic,
      }),
    );
    assert.equal(ok(await docker(daemon, ['run', '--rm', 'e2e:outside', 'cat', '/data.txt'])), 'data\n');

    const failing = await docker(daemon, ['build', '-f', dockerfile, ctx], { env: classic });
    assert.notEqual(failing.code, 0);
    assert.match(failing.stderr, /The command '\/bin\/sh -c false' returned a non-zero code: 1/);
  });

  test('docker builder prune removes the cache', async () => {
    const pruned = ok(await docker(daemon, ['builder', 'prune', '-af'], { env: classic }));
    assert.match(pruned, /Total(:| reclaimed space:)/);
  });
});

describe('berth build', () => {
  test('tags, build args, labels, secrets and --iidfile', async () => {
    const dir = context('berth-app', {
      Dockerfile: [
        'FROM busybox',
        'ARG VERSION',
        'RUN --mount=type=secret,id=token,required cat /run/secrets/token > /token-copy-length && wc -c < /run/secrets/token > /token-length',
        'RUN echo "$VERSION" > /version',
      ].join('\n'),
    });
    const secretFile = path.join(workDir, 'token');
    writeFileSync(secretFile, 'top-secret');
    const iid = path.join(workDir, 'berth-iid');
    const out = ok(
      await berth(daemon, [
        'build',
        '-t',
        'berth:app',
        '--build-arg',
        'VERSION=1.2',
        '--label',
        'team=build',
        '--secret',
        `id=token,src=${secretFile}`,
        '--iidfile',
        iid,
        '--progress=plain',
        dir,
      ]),
    );
    assert.match(out, /Successfully tagged berth:app/);
    assert.equal(
      ok(await docker(daemon, ['run', '--rm', 'berth:app', 'cat', '/version', '/token-length'])),
      '1.2\n10\n',
    );
    const labels = JSON.parse(
      ok(await docker(daemon, ['inspect', '--format', '{{json .Config.Labels}}', 'berth:app'])),
    );
    assert.deepEqual(labels, { team: 'build' });
    assert.equal(
      readFileSync(iid, 'utf8'),
      JSON.parse(ok(await docker(daemon, ['inspect', '--format', '{{json .Id}}', 'berth:app']))),
    );
    const quiet = ok(
      await berth(daemon, [
        'build',
        '-q',
        '--build-arg',
        'VERSION=1.2',
        '--secret',
        `id=token,src=${secretFile}`,
        dir,
      ]),
    );
    assert.match(quiet.trim(), /^sha256:[0-9a-f]{64}$/);
  });

  test('--output exports the final stage to a directory or a tar file, without an image', async () => {
    const dir = context('export', {
      Dockerfile:
        'FROM busybox AS build\nRUN mkdir /out && echo artifact > /out/artifact.txt\nFROM scratch\nCOPY --from=build /out/ /\n',
    });
    const before = ok(await docker(daemon, ['images', '-q', '-a']))
      .trim()
      .split('\n')
      .filter(Boolean).length;
    const dest = path.join(workDir, 'exported');
    ok(await berth(daemon, ['build', '-q', '--output', `type=local,dest=${dest}`, dir]));
    assert.equal(readFileSync(path.join(dest, 'artifact.txt'), 'utf8'), 'artifact\n');
    const tarFile = path.join(workDir, 'exported.tar');
    ok(await berth(daemon, ['build', '-q', '-o', `type=tar,dest=${tarFile}`, dir]));
    const names = (await listTar(readFileSync(tarFile))).map((e) => e.header.name);
    assert.ok(names.includes('./artifact.txt'), names.join(','));
    const afterCount = ok(await docker(daemon, ['images', '-q', '-a']))
      .trim()
      .split('\n')
      .filter(Boolean).length;
    assert.equal(afterCount, before, 'an export-only build stores no image');
    assert.ok(existsSync(dest));
  });

  test('--progress=plain shows parallel stages live, each line tagged with its stage', async () => {
    const dir = context('live', {
      Dockerfile: [
        'FROM busybox AS left',
        'RUN echo left-start && sleep 1 && echo left-end',
        'FROM busybox AS right',
        'RUN echo right-start && sleep 1 && echo right-end',
        'FROM busybox',
        'COPY --from=left /bin/sh /l',
        'COPY --from=right /bin/sh /r',
      ].join('\n'),
    });
    const out = ok(await berth(daemon, ['build', '--no-cache', '--progress=plain', dir]));
    const lines = out.split('\n');
    const at = (line: string): number => lines.indexOf(line);
    assert.ok(at('[right] right-start') >= 0 && at('[left] left-end') >= 0, out);
    // Both stages were running at once: the right one started before the left one finished.
    assert.ok(at('[right] right-start') < at('[left] left-end'), out);
    assert.match(out, /^Successfully built [0-9a-f]{12}$/m);
  });

  test('berth builder prune', async () => {
    ok(
      await berth(daemon, [
        'build',
        '-q',
        context('prune', { Dockerfile: 'FROM busybox\nRUN echo x > /x\n' }),
      ]),
    );
    const out = ok(await berth(daemon, ['builder', 'prune', '--all', '--force']));
    assert.match(out, /Total reclaimed space: /);
  });
});
