/**
 * The builder through berthd's API (`POST /build`, Docker's classic stream):
 * every instruction checked on the resulting image (config, history, files,
 * modes, owners) and by running it; multi-stage graphs (unused stages not
 * built, independent stages at the same time, --target, COPY --from an
 * image); the build cache (fully cached rebuilds, exactly the steps after a
 * changed file, ARG and config changes, surviving a restart, prune); RUN
 * mounts; .dockerignore; hostile contexts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BERTHD, docker, startDaemon, waitForPing, type TestDaemon } from '../helpers/daemon.js';
import { seedBusybox } from '../helpers/busybox.js';
import { api, jsonLines } from '../helpers/images.js';
import { makeTar, type TarEntry } from '../helpers/archive.js';
import { buildImage, busyboxLayer, pushImage } from '../helpers/oci-image.js';
import { startRegistry } from '../helpers/registry.js';

interface Message {
  stream?: string;
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { message: string; code?: number };
  status?: string;
}

interface BuildOutcome {
  status: number;
  messages: Message[];
  /** All stream text. */
  text: string;
  /** The last aux ID. */
  id?: string;
  error?: string;
  code?: number;
  body: string;
}

type ContextFile =
  string | { content?: string; mode?: number; uid?: number; gid?: number; symlink?: string; dir?: boolean };

let daemon: TestDaemon;
let restarted: ChildProcess | undefined;

async function contextTar(files: Record<string, ContextFile>, gzip = false): Promise<Buffer> {
  const entries: TarEntry[] = [];
  for (const [name, file] of Object.entries(files)) {
    if (typeof file === 'string') {
      entries.push({ name, body: file, mode: 0o644 });
    } else if (file.symlink !== undefined) {
      entries.push({ name, type: 'symlink', linkname: file.symlink });
    } else if (file.dir) {
      entries.push({
        name,
        type: 'directory',
        mode: file.mode ?? 0o755,
        uid: file.uid ?? 0,
        gid: file.gid ?? 0,
      });
    } else {
      entries.push({
        name,
        body: file.content ?? '',
        mode: file.mode ?? 0o644,
        uid: file.uid ?? 0,
        gid: file.gid ?? 0,
      });
    }
  }
  return makeTar(entries, { gzip });
}

async function build(
  files: Record<string, ContextFile>,
  query: Record<string, string | string[]> = {},
  options: { headers?: Record<string, string>; body?: Buffer } = {},
): Promise<BuildOutcome> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  }
  const body = options.body ?? (await contextTar(files));
  const res = await api(daemon, 'POST', `/build?${params.toString()}`, {
    headers: { 'Content-Type': 'application/x-tar', ...options.headers },
    body,
  });
  const outcome: BuildOutcome = { status: res.status, messages: [], text: '', body: res.text };
  if (res.status !== 200) {
    outcome.error = (JSON.parse(res.text) as { message: string }).message;
    return outcome;
  }
  outcome.messages = jsonLines<Message>(res.text);
  for (const message of outcome.messages) {
    if (message.stream) outcome.text += message.stream;
    if (message.aux?.ID) outcome.id = message.aux.ID;
    if (message.errorDetail) {
      outcome.error = message.errorDetail.message;
      outcome.code = message.errorDetail.code;
    }
  }
  return outcome;
}

async function buildOk(
  files: Record<string, ContextFile>,
  query: Record<string, string | string[]> = {},
  options: { headers?: Record<string, string> } = {},
): Promise<BuildOutcome & { id: string }> {
  const outcome = await build(files, query, options);
  assert.equal(outcome.status, 200, outcome.body);
  assert.equal(outcome.error, undefined, `${outcome.error}\n${outcome.text}`);
  assert.ok(outcome.id, outcome.text);
  return outcome as BuildOutcome & { id: string };
}

interface InspectedImage {
  Id: string;
  Author: string;
  Config: Record<string, unknown> & {
    Env: string[];
    Labels: Record<string, string>;
    ExposedPorts: Record<string, unknown>;
    Volumes: Record<string, unknown>;
    OnBuild: string[] | null;
    Entrypoint: string[] | null;
  };
}

async function inspect(image: string): Promise<InspectedImage> {
  const res = await api(daemon, 'GET', `/images/${image}/json`);
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text) as InspectedImage;
}

async function history(image: string): Promise<{ CreatedBy: string; Size: number; Id: string }[]> {
  const res = await api(daemon, 'GET', `/images/${image}/history`);
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text) as { CreatedBy: string; Size: number; Id: string }[];
}

/** Runs a shell command in the image with the real docker CLI and returns its stdout. */
async function run(image: string, script: string, extra: string[] = []): Promise<string> {
  const result = await docker(daemon, ['run', '--rm', ...extra, '--entrypoint', 'sh', image, '-c', script]);
  assert.equal(result.code, 0, `docker run ${image} ${script}: ${result.stderr}`);
  return result.stdout;
}

function usedCache(text: string): number[] {
  // The step numbers that reported " ---> Using cache".
  const steps: number[] = [];
  let current = 0;
  for (const line of text.split('\n')) {
    const step = /^Step (\d+)\/\d+ :/.exec(line);
    if (step) current = Number(step[1]);
    if (line === ' ---> Using cache') steps.push(current);
  }
  return steps;
}

before(async () => {
  daemon = await startDaemon();
  await seedBusybox(daemon);
});

after(async () => {
  if (restarted && restarted.exitCode === null) {
    restarted.kill('SIGTERM');
    await new Promise((resolve) => restarted!.once('exit', resolve));
  }
  await daemon?.stop();
});

describe('the classic stream and image config', () => {
  test('every config instruction lands in the config and history as Docker records it', async () => {
    const dockerfile = [
      'FROM busybox',
      'MAINTAINER someone <s@example.com>',
      'ENV A=1 B="two words"',
      'ENV A=overridden',
      'LABEL org.example.name="demo app" version=1.0',
      'EXPOSE 8080 53/udp',
      'VOLUME ["/data", "/logs"]',
      'USER nobody',
      'WORKDIR /srv',
      'WORKDIR app',
      'STOPSIGNAL SIGINT',
      'HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD test -d /srv/app',
      'SHELL ["/bin/sh", "-e", "-c"]',
      'ONBUILD RUN echo child',
      'ENTRYPOINT echo entry',
      'CMD ["ignored"]',
    ].join('\n');
    const out = await buildOk({ Dockerfile: dockerfile }, { t: ['config:test', 'config:second'] });
    const lines = out.text.split('\n');
    assert.equal(lines[0], 'Step 1/16 : FROM busybox');
    assert.match(lines[1], /^ ---> [0-9a-f]{12}$/);
    assert.ok(lines.includes('Step 16/16 : CMD ["ignored"]'));
    assert.ok(out.text.includes(`Successfully built ${out.id.slice(7, 19)}\n`));
    assert.ok(out.text.includes('Successfully tagged config:test\n'));
    assert.ok(out.text.includes('Successfully tagged config:second\n'));
    // The ID after the last step is the image's.
    const ids = lines.filter((l) => /^ ---> [0-9a-f]{12}$/.test(l));
    assert.equal(ids[ids.length - 1], ` ---> ${out.id.slice(7, 19)}`);

    const image = await inspect('config:test');
    assert.equal(image.Id, out.id);
    const config = image.Config;
    assert.deepEqual(config.Env, [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'A=overridden',
      'B=two words',
    ]);
    assert.deepEqual(config.Labels, { 'org.example.name': 'demo app', version: '1.0' });
    assert.deepEqual(Object.keys(config.ExposedPorts).sort(), ['53/udp', '8080/tcp']);
    assert.deepEqual(Object.keys(config.Volumes).sort(), ['/data', '/logs']);
    assert.equal(config.User, 'nobody');
    assert.equal(config.WorkingDir, '/srv/app');
    assert.equal(config.StopSignal, 'SIGINT');
    assert.deepEqual(config.Healthcheck, {
      Test: ['CMD-SHELL', 'test -d /srv/app'],
      Interval: 30e9,
      Timeout: 5e9,
      Retries: 2,
    });
    assert.deepEqual(config.Shell, ['/bin/sh', '-e', '-c']);
    assert.deepEqual(config.OnBuild, ['RUN echo child']);
    assert.deepEqual(config.Entrypoint, ['/bin/sh', '-e', '-c', 'echo entry']);
    assert.deepEqual(config.Cmd, ['ignored']);
    assert.equal(image.Author, 'someone <s@example.com>');

    const rows = await history('config:test');
    const createdBy = rows.map((r) => r.CreatedBy).reverse();
    const built = createdBy.slice(createdBy.length - 15);
    assert.deepEqual(built, [
      '/bin/sh -c #(nop)  MAINTAINER someone <s@example.com>',
      '/bin/sh -c #(nop)  ENV A=1 B=two words',
      '/bin/sh -c #(nop)  ENV A=overridden',
      '/bin/sh -c #(nop)  LABEL org.example.name=demo app version=1.0',
      '/bin/sh -c #(nop)  EXPOSE 53/udp 8080',
      '/bin/sh -c #(nop)  VOLUME [/data /logs]',
      '/bin/sh -c #(nop)  USER nobody',
      '/bin/sh -c #(nop) WORKDIR /srv',
      '/bin/sh -c #(nop) WORKDIR /srv/app',
      '/bin/sh -c #(nop)  STOPSIGNAL SIGINT',
      '/bin/sh -c #(nop)  HEALTHCHECK &{Test:[CMD-SHELL test -d /srv/app] Interval:30s Timeout:5s StartPeriod:0s StartInterval:0s Retries:2}',
      '/bin/sh -e -c #(nop)  SHELL [/bin/sh -e -c]',
      '/bin/sh -e -c #(nop)  ONBUILD RUN echo child',
      '/bin/sh -e -c #(nop)  ENTRYPOINT ["/bin/sh" "-e" "-c" "echo entry"]',
      '/bin/sh -e -c #(nop)  CMD ["ignored"]',
    ]);
    // WORKDIR /srv created the directory (a layer); everything else only changed the config.
    const sizes = rows.slice(0, 15).reverse();
    assert.ok(sizes[7].Size > 0, 'WORKDIR /srv made a layer');
    for (const [i, row] of sizes.entries()) if (i !== 7 && i !== 8) assert.equal(row.Size, 0, row.CreatedBy);

    const ran = await docker(daemon, ['run', '--rm', 'config:test']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, 'entry\n');
  });

  test('RUN output, the intermediate container lines, stderr in red, -q and exit codes', async () => {
    const out = await buildOk({
      Dockerfile: 'FROM busybox\nRUN echo to-stdout && echo to-stderr >&2 && hostname > /hostname\n',
    });
    assert.match(out.text, / ---> Running in ([0-9a-f]{12})\n/);
    assert.ok(out.messages.some((m) => m.stream === 'to-stdout\n'));
    const container = / ---> Running in ([0-9a-f]{12})/.exec(out.text)![1];
    assert.ok(out.messages.some((m) => m.stream === '\u001b[91mto-stderr\n\u001b[0m'));
    assert.ok(out.text.includes(`Removing intermediate container ${container}\n`));
    // The build container's hostname is its short ID, and the file is in the image.
    assert.equal(await run(out.id, 'cat /hostname'), `${container}\n`);

    const quiet = await build({ Dockerfile: 'FROM busybox\nRUN echo quiet > /q\n' }, { q: '1' });
    assert.equal(quiet.status, 200);
    assert.equal(quiet.messages.length, 1);
    assert.match(quiet.messages[0].stream ?? '', /^sha256:[0-9a-f]{64}\n$/);

    const failed = await build({ Dockerfile: 'FROM busybox\nRUN echo before; exit 3\nRUN echo never\n' });
    assert.equal(failed.status, 200);
    assert.equal(failed.error, "The command '/bin/sh -c echo before; exit 3' returned a non-zero code: 3");
    assert.equal(failed.code, 3);
    assert.ok(failed.text.includes('before\n'));
    assert.ok(!failed.text.includes('Step 3/3'));

    const exec = await buildOk({ Dockerfile: 'FROM busybox\nRUN ["sh", "-c", "echo exec-form > /e"]\n' });
    assert.equal(await run(exec.id, 'cat /e'), 'exec-form\n');
    const [row] = await history(exec.id);
    assert.equal(row.CreatedBy, 'sh -c echo exec-form > /e');
  });

  test("RUN containers get the build's limits, extra hosts and shm size", async () => {
    const out = await buildOk(
      {
        Dockerfile: [
          'FROM busybox',
          'RUN (cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max) > /memory',
          'RUN grep -c "10.1.2.3.*extra.example" /etc/hosts > /hosts-match',
          "RUN df -k /dev/shm | tail -1 | awk '{print $2}' > /shm-kb",
        ].join('\n'),
      },
      {
        memory: String(96 * 1024 * 1024),
        extrahosts: 'extra.example:10.1.2.3',
        shmsize: String(32 * 1024 * 1024),
      },
    );
    assert.equal(await run(out.id, 'cat /memory /hosts-match /shm-kb'), `${96 * 1024 * 1024}\n1\n32768\n`);
  });

  test('errors before any output are plain HTTP errors, with Docker messages', async () => {
    const parse = await build({ Dockerfile: 'FROM busybox\nFROB x\n' });
    assert.equal(parse.status, 400);
    assert.match(parse.error ?? '', /^dockerfile parse error on line 2: unknown instruction: FROB/);
    const missing = await build({ 'Other.txt': 'x' });
    assert.equal(missing.status, 400);
    assert.equal(missing.error, 'Cannot locate specified Dockerfile: Dockerfile');
    const tag = await build({ Dockerfile: 'FROM busybox\n' }, { t: 'bad@sha256:abc' });
    assert.equal(tag.status, 400);
    const target = await build({ Dockerfile: 'FROM busybox AS a\n' }, { target: 'nope' });
    assert.equal(target.error, 'target stage "nope" could not be found');
    const gzipped = await build(
      {},
      {},
      { body: await contextTar({ Dockerfile: 'FROM busybox\nCOPY f /f\n', f: 'gz' }, true) },
    );
    assert.equal(gzipped.error, undefined, gzipped.body);
    const corrupt = Buffer.concat([Buffer.from('BZh9'), Buffer.from('not a bzip2 block at all, just text')]);
    const bzip2 = await build({}, {}, { body: corrupt });
    assert.equal(bzip2.status, 400);
    assert.match(bzip2.error ?? '', /^failed to decompress bzip2 archive: /);
    const lower = await buildOk({ dockerfile: 'FROM busybox\nRUN touch /lower\n' });
    assert.ok(lower.id);
    const custom = await buildOk(
      { 'build/Custom.df': 'FROM busybox\nRUN touch /custom\n' },
      { dockerfile: 'build/Custom.df' },
    );
    assert.equal(await run(custom.id, 'ls /custom'), '/custom\n');
  });

  test('heredocs, SHELL, build args, labels and ONBUILD triggers', async () => {
    const parent = await buildOk(
      {
        Dockerfile: [
          'FROM busybox',
          'ARG GREETING=hello',
          'ARG UNUSED_DEFAULT',
          'RUN <<EOF',
          'echo "$GREETING from heredoc" > /greeting',
          'EOF',
          'RUN <<EOF',
          '#!/bin/sh',
          'echo "script $0" > /script',
          'EOF',
          'COPY <<EOF /etc/motd',
          'motd $GREETING',
          'EOF',
          'ONBUILD RUN echo triggered > /triggered',
          'ONBUILD COPY trigger.txt /from-trigger.txt',
        ].join('\n'),
      },
      {
        t: 'onbuild:parent',
        buildargs: JSON.stringify({ GREETING: 'hi', NOT_DECLARED: 'x' }),
        labels: JSON.stringify({ 'built.by': 'test' }),
      },
    );
    assert.ok(parent.text.includes('[Warning] One or more build-args [NOT_DECLARED] were not consumed\n'));
    assert.ok(parent.text.includes('LABEL built.by=test\n'));
    assert.equal(
      await run(parent.id, 'cat /greeting /script /etc/motd'),
      'hi from heredoc\nscript /dev/pipes/EOF\nmotd hi\n',
    );
    assert.equal((await inspect(parent.id)).Config.Labels['built.by'], 'test');
    const [runRow] = (await history(parent.id)).filter((r) => r.CreatedBy.includes('from heredoc'));
    assert.match(
      runRow.CreatedBy,
      /^\|1 GREETING=hi \/bin\/sh -c echo "\$GREETING from heredoc" > \/greeting/,
    );
    // The heredoc script is not left in the image.
    assert.equal(
      await run(parent.id, 'ls /dev/pipes 2>&1 || true'),
      'ls: /dev/pipes: No such file or directory\n',
    );

    const child = await buildOk({
      Dockerfile: 'FROM onbuild:parent\nRUN cat /triggered /from-trigger.txt\n',
      'trigger.txt': 'context file\n',
    });
    assert.ok(child.text.includes('# Executing 2 build triggers\n'));
    assert.equal(await run(child.id, 'cat /triggered /from-trigger.txt'), 'triggered\ncontext file\n');
    assert.equal((await inspect(child.id)).Config.OnBuild, null);

    // RUN's shell form goes through SHELL: here the command line becomes the script's $0.
    const shell = await buildOk({
      Dockerfile: 'FROM busybox\nSHELL ["/bin/sh", "-c", "echo \\"$0\\" > /shell-arg"]\nRUN touch /ran\n',
    });
    assert.equal(await run(shell.id, 'cat /shell-arg'), 'touch /ran\n');
  });
});

describe('COPY and ADD', () => {
  test('files, directories, globs, owners, modes and destinations as Docker copies them', async () => {
    const out = await buildOk({
      Dockerfile: [
        'FROM busybox',
        'WORKDIR /work',
        'COPY file.txt .',
        'COPY file.txt /renamed.txt',
        'COPY dir /copied-dir',
        'COPY dir/ /copied-dir2/',
        'COPY *.md /docs/',
        'COPY --chown=nobody file.txt /owned-by-name',
        'COPY --chown=1234:5678 exec.sh /owned-by-id',
        'COPY --chmod=600 file.txt /chmod.txt',
        'COPY dir/sub/deep.txt nested/new/',
        'COPY link /link-followed',
      ].join('\n'),
      'file.txt': { content: 'file\n', mode: 0o640, uid: 1000, gid: 1000 },
      'exec.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'a.md': 'a\n',
      'b.md': 'b\n',
      'dir/': { dir: true, mode: 0o750 },
      'dir/one.txt': 'one\n',
      'dir/sub/': { dir: true },
      'dir/sub/deep.txt': 'deep\n',
      link: { symlink: 'file.txt' },
    });
    const listing = await run(
      out.id,
      'cd / && for f in /work/file.txt /renamed.txt /copied-dir/one.txt /copied-dir/sub/deep.txt /copied-dir2/one.txt /docs/a.md /docs/b.md /owned-by-name /owned-by-id /chmod.txt /work/nested/new/deep.txt /link-followed; do stat -c "%n %a %u:%g %s" $f; done',
    );
    assert.equal(
      listing,
      [
        '/work/file.txt 640 0:0 5',
        '/renamed.txt 640 0:0 5',
        '/copied-dir/one.txt 644 0:0 4',
        '/copied-dir/sub/deep.txt 644 0:0 5',
        '/copied-dir2/one.txt 644 0:0 4',
        '/docs/a.md 644 0:0 2',
        '/docs/b.md 644 0:0 2',
        '/owned-by-name 640 65534:65534 5',
        '/owned-by-id 755 1234:5678 10',
        '/chmod.txt 600 0:0 5',
        '/work/nested/new/deep.txt 644 0:0 5',
        '/link-followed 640 0:0 5',
        '',
      ].join('\n'),
    );
    // A directory source copies its contents, not itself.
    assert.equal(await run(out.id, 'ls /copied-dir'), 'one.txt\nsub\n');

    const many = await build({
      Dockerfile: 'FROM busybox\nCOPY a.md b.md /no-slash\n',
      'a.md': 'a',
      'b.md': 'b',
    });
    assert.equal(
      many.error,
      'When using COPY with more than one source file, the destination must be a directory and end with a /',
    );
    const absent = await build({ Dockerfile: 'FROM busybox\nCOPY nothing.txt /\n' });
    assert.match(absent.error ?? '', /nothing\.txt/);
  });

  test('ADD extracts local tar archives, copies plain files, and fetches URLs', async () => {
    const archive = await makeTar(
      [
        { name: 'pkg/', type: 'directory', mode: 0o755 },
        { name: 'pkg/bin.sh', body: 'echo packaged\n', mode: 0o755, uid: 42, gid: 43 },
      ],
      { gzip: true },
    );
    const server = http.createServer((req, res) => {
      if (req.url === '/file.txt') {
        res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
        res.end('downloaded\n');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const tar = await makeTar(
        [
          {
            name: 'Dockerfile',
            body: `FROM busybox\nADD pkg.tgz /opt/\nADD plain.txt /plain.txt\nADD http://127.0.0.1:${port}/file.txt /fetched/\n`,
          },
          { name: 'pkg.tgz', body: archive },
          { name: 'plain.txt', body: 'plain\n' },
        ],
        {},
      );
      const out = await build({}, {}, { body: tar });
      assert.equal(out.error, undefined, out.text);
      assert.equal(
        await run(
          out.id!,
          'stat -c "%n %a %u:%g" /opt/pkg/bin.sh /fetched/file.txt && cat /opt/pkg/bin.sh /plain.txt /fetched/file.txt',
        ),
        '/opt/pkg/bin.sh 755 42:43\n/fetched/file.txt 600 0:0\necho packaged\nplain\ndownloaded\n',
      );
      const missing = await build({ Dockerfile: `FROM busybox\nADD http://127.0.0.1:${port}/missing /x\n` });
      assert.equal(missing.error, `failed to GET http://127.0.0.1:${port}/missing with status 404 Not Found`);
    } finally {
      server.close();
    }
    // A port nothing listens on any more.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await build({
      Dockerfile: `FROM busybox\nADD http://127.0.0.1:${closedPort}/file /x\n`,
    });
    assert.match(
      unreachable.error ?? '',
      new RegExp(`^failed to GET http://127\\.0\\.0\\.1:${closedPort}/file: .*ECONNREFUSED`),
    );
  });

  test('.dockerignore excludes files, with ! exceptions and the Dockerfile-specific ignore file', async () => {
    const out = await buildOk({
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
      '.dockerignore': '*.log\nsecret/\n!keep.log\n',
      'app.txt': 'app',
      'debug.log': 'debug',
      'keep.log': 'keep',
      'secret/key': 'key',
    });
    assert.equal(
      await run(out.id, 'cd /ctx && find . -type f | sort'),
      './.dockerignore\n./Dockerfile\n./app.txt\n./keep.log\n',
    );
    const ignored = await build({
      Dockerfile: 'FROM busybox\nCOPY debug.log /\n',
      '.dockerignore': '*.log\n',
      'debug.log': 'x',
    });
    assert.match(ignored.error ?? '', /debug\.log/);
    const specific = await buildOk(
      {
        'app.Dockerfile': 'FROM busybox\nCOPY . /ctx/\n',
        'app.Dockerfile.dockerignore': 'b.txt\n',
        '.dockerignore': 'a.txt\n',
        'a.txt': 'a',
        'b.txt': 'b',
      },
      { dockerfile: 'app.Dockerfile' },
    );
    assert.equal(
      await run(specific.id, 'ls /ctx | sort'),
      'a.txt\napp.Dockerfile\napp.Dockerfile.dockerignore\n',
    );
  });

  test('hostile contexts cannot reach host files', async () => {
    // An absolute symlink resolves inside the context, where there is no /etc/shadow.
    const absolute = await build({
      Dockerfile: 'FROM busybox\nCOPY evil /stolen\n',
      evil: { symlink: '/etc/shadow' },
    });
    assert.ok(absolute.error, absolute.text);
    assert.match(absolute.error!, /evil|not found|no such/i);
    // Sources cannot climb out of the context.
    const dotdot = await build({ Dockerfile: 'FROM busybox\nCOPY ../../../../etc/passwd /stolen\n' });
    assert.ok(dotdot.error);
    // A symlink climbing out of the context is followed as if the context were /: to nothing.
    const climbing = await build({
      Dockerfile: 'FROM busybox\nCOPY up/passwd /stolen\n',
      up: { symlink: '../../../../../etc' },
    });
    assert.ok(climbing.error, climbing.text);
    // An entry named ../x is refused when the context is read.
    const escape = await build(
      {},
      {},
      {
        body: await makeTar([
          { name: 'Dockerfile', body: 'FROM busybox\n' },
          { name: '../escape', body: 'x' },
        ]),
      },
    );
    assert.equal(escape.status, 400);
    // A directory symlink inside the context followed by COPY stays inside too.
    const inside = await buildOk({
      Dockerfile: 'FROM busybox\nCOPY etc-link/ /copied/\n',
      'etc-link': { symlink: '/' },
      'own.txt': 'own',
    });
    const listing = await run(inside.id, 'ls /copied | sort');
    assert.ok(!listing.includes('passwd') && !listing.includes('shadow'), listing);
    assert.ok(listing.includes('own.txt'));
    // Bind mounts resolve inside the context as well.
    const bind = await build({
      Dockerfile:
        'FROM busybox\nRUN --mount=type=bind,source=../../../etc,target=/host cat /host/shadow > /stolen\n',
    });
    assert.ok(bind.error, bind.text);
  });
});

describe('multi-stage builds', () => {
  test('only needed stages are built, independent ones at the same time', async () => {
    const dockerfile = [
      'FROM busybox AS left',
      'RUN cut -d" " -f1 /proc/uptime > /start && sleep 2 && cut -d" " -f1 /proc/uptime > /end',
      'FROM busybox AS right',
      'RUN cut -d" " -f1 /proc/uptime > /start && sleep 2 && cut -d" " -f1 /proc/uptime > /end',
      'FROM busybox AS unused',
      'RUN echo this stage must not run && exit 1',
      'FROM busybox',
      'COPY --from=left /start /left-start',
      'COPY --from=left /end /left-end',
      'COPY --from=right /start /right-start',
      'COPY --from=1 /end /right-end',
    ].join('\n');
    const started = Date.now();
    const out = await buildOk({ Dockerfile: dockerfile });
    const elapsed = Date.now() - started;
    assert.ok(!out.text.includes('must not run'));
    assert.ok(!out.text.includes('FROM busybox AS unused'));
    // Steps are numbered over the stages that were built, in order.
    assert.ok(out.text.includes('Step 5/9 : FROM busybox\n'), out.text);
    const [leftStart, leftEnd, rightStart, rightEnd] = (
      await run(out.id, 'cat /left-start /left-end /right-start /right-end')
    )
      .trim()
      .split('\n')
      .map(Number);
    assert.ok(
      leftStart < rightEnd && rightStart < leftEnd,
      `overlap: ${leftStart}-${leftEnd} ${rightStart}-${rightEnd}`,
    );
    assert.ok(elapsed < 4000 + 1500, `took ${elapsed} ms`);
  });

  test('--target stops at a stage; COPY --from takes an image; FROM a previous stage', async () => {
    const dockerfile = [
      'FROM busybox AS base',
      'ENV FROM_BASE=yes',
      'RUN echo base > /base',
      'FROM base AS derived',
      'COPY --from=busybox:latest /bin/busybox /copied-busybox',
      'RUN echo "$FROM_BASE" > /env',
      'FROM derived AS final',
      'RUN echo final > /final',
    ].join('\n');
    const target = await buildOk({ Dockerfile: dockerfile }, { target: 'derived' });
    assert.ok(!target.text.includes('echo final'));
    assert.equal(
      await run(target.id, 'cat /base /env && ls /final 2>/dev/null || echo no-final'),
      'base\nyes\nno-final\n',
    );
    assert.equal(
      await run(target.id, '[ "$(md5sum < /copied-busybox)" = "$(md5sum < /bin/busybox)" ] && echo same'),
      'same\n',
    );
  });
});

describe('ONBUILD triggers naming stages', () => {
  test('a stage only an ONBUILD trigger names is built when the child build needs it', async () => {
    const parent = await buildOk(
      { Dockerfile: 'FROM busybox\nONBUILD COPY --from=builder /made /made\n' },
      { t: 'onbuild-parent:1' },
    );
    assert.ok(parent.id);
    const child = await buildOk({
      Dockerfile: [
        'FROM busybox AS builder',
        'RUN echo made by the builder stage > /made',
        'FROM onbuild-parent:1',
        'RUN cat /made',
      ].join('\n'),
    });
    assert.ok(child.text.includes('# Executing 1 build trigger'), child.text);
    assert.ok(child.text.includes('Step 4/4 : RUN echo made by the builder stage > /made'), child.text);
    assert.equal(await run(child.id, 'cat /made'), 'made by the builder stage\n');
    const loop = await build({
      Dockerfile: 'FROM onbuild-parent:1 AS builder\nRUN true\n',
    });
    assert.match(loop.error ?? '', /circular dependency detected on stage: builder/);
  });
});

describe('base images', () => {
  test('FROM pulls a missing image with X-Registry-Config credentials; --pull refreshes it', async () => {
    const registry = await startRegistry({ htpasswd: { user: 'builder', password: 'pa55' } });
    try {
      const image = buildImage({ layers: [await busyboxLayer()], config: { Env: ['FROM_REGISTRY=1'] } });
      await pushImage(registry.url, 'private/base', 'v1', image, {
        credentials: { username: 'builder', password: 'pa55' },
      });
      const dockerfile = `FROM ${registry.host}/private/base:v1\nRUN echo "$FROM_REGISTRY" > /marker\n`;
      const denied = await build({ Dockerfile: dockerfile });
      assert.ok(denied.error, denied.text);
      const config = Buffer.from(
        JSON.stringify({ [registry.host]: { username: 'builder', password: 'pa55' } }),
      ).toString('base64url');
      const headers = { 'X-Registry-Config': config };
      const pulled = await buildOk({ Dockerfile: dockerfile }, {}, { headers });
      assert.ok(
        pulled.messages.some(
          (m) => m.status?.startsWith('Pulling from') && m.status.includes('private/base'),
        ),
        pulled.body,
      );
      assert.equal(await run(pulled.id, 'cat /marker'), '1\n');
      const again = await buildOk({ Dockerfile: dockerfile }, { pull: '1' }, { headers });
      assert.ok(
        again.messages.some((m) => m.status?.includes('Image is up to date')),
        again.body,
      );
    } finally {
      await registry.stop();
    }
  });
});

describe('build cache', () => {
  const files = (b: string): Record<string, ContextFile> => ({
    Dockerfile:
      'FROM busybox\nCOPY a.txt /a\nRUN cat /a > /a-copy\nCOPY b.txt /b\nRUN cat /b > /b-copy\nCMD ["cat", "/b-copy"]\n',
    'a.txt': 'a\n',
    'b.txt': b,
  });

  test('a second build is fully cached; changing one file rebuilds exactly the steps after its COPY', async () => {
    const first = await buildOk(files('b1\n'));
    const second = await buildOk(files('b1\n'));
    assert.deepEqual(usedCache(second.text), [2, 3, 4, 5, 6]);
    assert.equal(second.id, first.id);
    const changed = await buildOk(files('b2\n'));
    assert.deepEqual(usedCache(changed.text), [2, 3]);
    assert.notEqual(changed.id, first.id);
    assert.equal(await run(changed.id, 'cat /b-copy'), 'b2\n');
    const noCache = await buildOk(files('b2\n'), { nocache: '1' });
    assert.deepEqual(usedCache(noCache.text), []);
  });

  test('a file used by one stage rebuilds that stage and what copies from it, not the others', async () => {
    const stages = (a: string): Record<string, ContextFile> => ({
      Dockerfile:
        'FROM busybox AS a\nCOPY a.txt /a\nFROM busybox AS b\nCOPY b.txt /b\nFROM busybox\nCOPY --from=b /b /b\nCOPY --from=a /a /a\n',
      'a.txt': a,
      'b.txt': 'b\n',
    });
    await buildOk(stages('a1\n'));
    const same = await buildOk(stages('a1\n'));
    assert.deepEqual(usedCache(same.text), [2, 4, 6, 7]);
    const changed = await buildOk(stages('a2\n'));
    assert.deepEqual(usedCache(changed.text), [4, 6]);
    assert.equal(await run(changed.id, 'cat /a /b'), 'a2\nb\n');
  });

  test('build args invalidate from their first use; config changes are part of the key', async () => {
    const dockerfile = 'FROM busybox\nARG V=1\nRUN echo first > /first\nRUN echo "$V" > /v\n';
    await buildOk({ Dockerfile: dockerfile });
    const same = await buildOk({ Dockerfile: dockerfile });
    assert.deepEqual(usedCache(same.text), [2, 3, 4]);
    const changed = await buildOk({ Dockerfile: dockerfile }, { buildargs: JSON.stringify({ V: '2' }) });
    // ARG's step stays cached; every RUN after the declaration sees the value (Docker's `|1 V=2` key).
    assert.deepEqual(usedCache(changed.text), [2]);
    assert.equal(await run(changed.id, 'cat /v'), '2\n');

    for (const [a, b] of [
      ['HEALTHCHECK CMD true', 'HEALTHCHECK CMD false'],
      ['ONBUILD RUN true', 'ONBUILD RUN false'],
      ['CMD ["a"]', 'CMD ["b"]'],
    ]) {
      await buildOk({ Dockerfile: `FROM busybox\n${a}\nRUN echo x > /x\n` });
      const other = await buildOk({ Dockerfile: `FROM busybox\n${b}\nRUN echo x > /x\n` });
      assert.deepEqual(usedCache(other.text), [], `${a} vs ${b}`);
    }
  });

  test('cache mounts persist between builds; bind, tmpfs, secret and network mounts', async () => {
    const dockerfile =
      'FROM busybox\nARG RUN_ID\nRUN --mount=type=cache,target=/cache,id=counter echo "$RUN_ID" >> /cache/log && wc -l < /cache/log > /count\n';
    await buildOk({ Dockerfile: dockerfile }, { buildargs: JSON.stringify({ RUN_ID: 'one' }) });
    const second = await buildOk(
      { Dockerfile: dockerfile },
      { buildargs: JSON.stringify({ RUN_ID: 'two' }) },
    );
    assert.equal((await run(second.id, 'cat /count')).trim(), '2');
    // The cache directory itself is not in the image.
    assert.equal(await run(second.id, 'ls /cache 2>/dev/null | wc -l'), '0\n');

    const secret = Buffer.from(JSON.stringify({ token: Buffer.from('s3cr3t').toString('base64') })).toString(
      'base64',
    );
    const mounts = await buildOk(
      {
        Dockerfile: [
          'FROM busybox',
          'RUN --mount=type=bind,source=data,target=/data cat /data/in.txt > /from-bind && (touch /data/x 2>/dev/null && echo writable || echo read-only) > /bind-mode',
          'RUN --mount=type=tmpfs,target=/scratch echo tmp > /scratch/t && cat /scratch/t > /from-tmpfs',
          'RUN --mount=type=secret,id=token cat /run/secrets/token | wc -c > /secret-length',
          'RUN --mount=type=secret,id=token,env=TOKEN echo "$TOKEN" | wc -c > /secret-env',
          'RUN --network=none ls /sys/class/net > /netdevs',
        ].join('\n'),
        'data/in.txt': 'bound\n',
      },
      {},
      { headers: { 'X-Berth-Build-Secrets': secret } },
    );
    assert.equal(
      await run(
        mounts.id,
        'cat /from-bind /bind-mode /from-tmpfs /secret-length /secret-env /netdevs; ls /run/secrets /scratch /data 2>&1 | grep -c "No such"',
      ),
      'bound\nread-only\ntmp\n6\n7\nlo\n3\n',
    );
    const rows = await history(mounts.id);
    assert.ok(!JSON.stringify(rows).includes('s3cr3t'));
    const missing = await build({
      Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=nope,required cat /run/secrets/nope\n',
    });
    assert.equal(missing.error, 'secret nope: not found');
  });

  test('cachefrom images serve as cache for their layers, never for their config', async () => {
    const source = await buildOk(
      { Dockerfile: 'FROM busybox\nENV STAGE=one\nRUN echo from-source > /x\nENTRYPOINT ["/bin/false"]\n' },
      { t: 'cachesource:1' },
    );
    assert.ok(source.id);
    assert.equal((await api(daemon, 'POST', '/build/prune?all=1')).status, 200);
    const reused = await buildOk(
      { Dockerfile: 'FROM busybox\nENV STAGE=one\nRUN echo from-source > /x\n' },
      { cachefrom: JSON.stringify(['cachesource:1', 'missing:image']) },
    );
    assert.deepEqual(usedCache(reused.text), [2, 3]);
    assert.ok(!reused.text.includes('Running in'));
    // The layer came from the source image; its ENTRYPOINT did not.
    const image = await inspect(reused.id);
    assert.equal(image.Config.Entrypoint, null);
    assert.equal(await run(reused.id, 'cat /x'), 'from-source\n');
    const different = await buildOk(
      { Dockerfile: 'FROM busybox\nENV STAGE=two\nRUN echo from-source > /x\n' },
      { cachefrom: JSON.stringify(['cachesource:1']) },
    );
    assert.deepEqual(usedCache(different.text), []);
  });

  test('prune empties the cache and reports it; disk usage lists records', async () => {
    const built = await buildOk({ Dockerfile: 'FROM busybox\nRUN echo prune-me > /p\n' });
    // Without an image using its layer, the step's space is reclaimed.
    assert.equal((await api(daemon, 'DELETE', `/images/${built.id}`)).status, 200);
    const res = await api(daemon, 'POST', '/build/prune?all=1');
    assert.equal(res.status, 200, res.text);
    const report = JSON.parse(res.text) as { CachesDeleted: string[] | null; SpaceReclaimed: number };
    assert.ok(report.CachesDeleted && report.CachesDeleted.length > 0);
    assert.ok(report.SpaceReclaimed > 0);
    const again = await buildOk({ Dockerfile: 'FROM busybox\nRUN echo prune-me > /p\n' });
    assert.deepEqual(usedCache(again.text), []);
    const until = await api(
      daemon,
      'POST',
      `/build/prune?filters=${encodeURIComponent(JSON.stringify({ until: ['24h'] }))}`,
    );
    assert.equal(until.status, 200);
    assert.equal((JSON.parse(until.text) as { CachesDeleted: null }).CachesDeleted, null);
  });

  test('the cache survives a berthd restart', async () => {
    const files = { Dockerfile: 'FROM busybox\nRUN echo survive > /s\nCOPY f /f\n', f: 'f' };
    const first = await buildOk(files);
    const args = daemon.process.spawnargs.slice(2);
    daemon.process.kill('SIGTERM');
    await new Promise((resolve) => daemon.process.once('exit', resolve));
    restarted = spawn(process.execPath, [BERTHD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    restarted.stderr?.resume();
    daemon.process = restarted;
    await waitForPing(daemon.socket);
    await sleep(100);
    const second = await buildOk(files);
    assert.deepEqual(usedCache(second.text), [2, 3]);
    assert.equal(second.id, first.id);
  });
});
