/**
 * The real docker CLI and berth's CLI against berthd and a local registry:
 * pull, images, tag, history, inspect, push, rmi, save/load, import,
 * login/logout; where output is deterministic, berth's must equal docker's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { berth, docker, startDaemon, type CommandResult, type TestDaemon } from '../helpers/daemon.js';
import { imageFixtures, type ImageFixtures } from '../helpers/images.js';
import { buildTar, pushImage } from '../helpers/oci-image.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

let fixtures: ImageFixtures;
let registry: RunningRegistry;
let daemon: TestDaemon;

/** A table's header, then its rows sorted. */
function sortRows(text: string): string[] {
  const [first, ...rest] = text.split('\n');
  return first.startsWith('REPOSITORY') ? [first, ...rest.sort()] : [first, ...rest].sort();
}

function ok(result: CommandResult): string {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result.stdout;
}

before(async () => {
  fixtures = await imageFixtures();
  registry = await startRegistry();
  await pushImage(registry.url, 'busybox', 'latest', fixtures.busybox);
  await pushImage(registry.url, 'multi', 'v1', fixtures.multi);
  daemon = await startDaemon();
});

after(async () => {
  await daemon?.stop();
  await registry?.stop();
});

describe('docker CLI', () => {
  test("pull prints docker's lines and the reference", async () => {
    const out = ok(await docker(daemon, ['pull', `${registry.host}/busybox`]));
    const layer = fixtures.busybox.layers[0].digest.slice(7, 19);
    assert.equal(
      out,
      [
        'Using default tag: latest',
        `latest: Pulling from ${registry.host}/busybox`,
        `${layer}: Pulling fs layer`,
        `${layer}: Verifying Checksum`,
        `${layer}: Download complete`,
        `${layer}: Pull complete`,
        `Digest: ${fixtures.busybox.manifestDigest}`,
        `Status: Downloaded newer image for ${registry.host}/busybox:latest`,
        `${registry.host}/busybox:latest`,
        '',
      ].join('\n'),
    );
    const again = ok(await docker(daemon, ['pull', '-q', `${registry.host}/multi:v1`]));
    assert.equal(again, `${registry.host}/multi:v1\n`);
  });

  test('images, tag, history and inspect; berth prints the same', async () => {
    ok(await docker(daemon, ['tag', `${registry.host}/busybox`, 'local/box:1']));
    for (const args of [
      ['images'],
      ['images', '--digests'],
      ['images', '-q'],
      ['images', '--no-trunc', 'local/*'],
      [
        'images',
        '--filter',
        'label=org.berth.test=busybox',
        '--format',
        '{{.Repository}}:{{.Tag}} {{.Size}}',
      ],
      ['history', `${registry.host}/multi:v1`],
      ['history', '--no-trunc', '-H=false', 'local/box:1'],
      ['image', 'inspect', '--format', '{{.Id}} {{.RepoTags}} {{.Os}}/{{.Architecture}}', 'local/box:1'],
    ]) {
      const expected = ok(await docker(daemon, args));
      const actual = ok(await berth(daemon, args));
      // docker walks the tags of an image in Go map order (random): compare rows as sets.
      const rows = (text: string): string[] => (args[0] === 'images' ? sortRows(text) : text.split('\n'));
      assert.deepEqual(rows(actual), rows(expected), `berth ${args.join(' ')}`);
    }
    const table = ok(await docker(daemon, ['images']));
    assert.match(table, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    assert.match(table, new RegExp(`local/box\\s+1\\s+${fixtures.busybox.configDigest.slice(7, 19)}\\s+`));
    const inspected = JSON.parse(ok(await docker(daemon, ['image', 'inspect', 'local/box:1'])));
    assert.equal(inspected[0].Id, fixtures.busybox.configDigest);
    assert.deepEqual(inspected[0].RepoTags, [`${registry.host}/busybox:latest`, 'local/box:1']);
  });

  test('push, rmi and pull back', async () => {
    ok(await docker(daemon, ['tag', `${registry.host}/multi:v1`, `${registry.host}/cli/pushed:v1`]));
    const out = ok(await docker(daemon, ['push', `${registry.host}/cli/pushed:v1`]));
    const lines = out.trim().split('\n');
    assert.equal(lines[0], `The push refers to repository [${registry.host}/cli/pushed]`);
    assert.equal(
      lines.at(-1),
      `v1: digest: ${fixtures.multi.manifestDigest} size: ${fixtures.multi.manifestBytes.length}`,
    );
    const removed = ok(await docker(daemon, ['rmi', `${registry.host}/cli/pushed:v1`]));
    assert.equal(
      removed,
      `Untagged: ${registry.host}/cli/pushed:v1\nUntagged: ${registry.host}/cli/pushed@${fixtures.multi.manifestDigest}\n`,
    );
    ok(await docker(daemon, ['pull', `${registry.host}/cli/pushed:v1`]));
    const missing = await docker(daemon, ['rmi', 'nothing-here']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response from daemon: No such image: nothing-here:latest\n');
  });

  test('save, rmi, load', async () => {
    const file = path.join(daemon.dir, 'busybox.tar');
    ok(await docker(daemon, ['save', '-o', file, 'local/box:1']));
    assert.ok(readFileSync(file).length > 1_000_000);
    ok(await docker(daemon, ['rmi', '-f', fixtures.busybox.configDigest]));
    assert.equal((await docker(daemon, ['image', 'inspect', 'local/box:1'])).code, 1);
    assert.equal(ok(await docker(daemon, ['load', '-i', file])), 'Loaded image: local/box:1\n');
    const id = ok(await docker(daemon, ['image', 'inspect', '--format', '{{.Id}}', 'local/box:1']));
    assert.equal(id.trim(), fixtures.busybox.configDigest);
  });

  test('import with changes, by docker and by berth', async () => {
    const rootfs = await buildTar([{ name: 'marker', content: 'imported\n' }]);
    const id = ok(
      await docker(daemon, ['import', '-c', 'CMD ["/marker"]', '-m', 'docker import', '-', 'imp/docker:1'], {
        input: rootfs,
      }),
    );
    assert.match(id, /^sha256:[0-9a-f]{64}\n$/);
    const berthId = ok(
      await berth(daemon, ['import', '-c', 'ENV X=1', '-', 'imp/berth:1'], { input: rootfs }),
    );
    assert.match(berthId, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(
      ok(
        await docker(daemon, [
          'image',
          'inspect',
          '--format',
          '{{json .Config.Cmd}} {{.Comment}}',
          'imp/docker:1',
        ]),
      ),
      '["/marker"] docker import\n',
    );
    assert.equal(
      ok(await docker(daemon, ['image', 'inspect', '--format', '{{json .Config.Env}}', 'imp/berth:1'])),
      '["X=1"]\n',
    );
  });
});

describe('login', () => {
  let secured: RunningRegistry;
  before(async () => {
    secured = await startRegistry({ htpasswd: { user: 'carol', password: 'pa55' } });
    await pushImage(secured.url, 'private', 'v1', fixtures.busybox, {
      credentials: { username: 'carol', password: 'pa55' },
    });
  });
  after(async () => secured?.stop());

  for (const [cli, run] of [
    ['docker', docker],
    ['berth', berth],
  ] as const) {
    test(`${cli} login stores credentials as docker does, pull uses them, logout removes them`, async () => {
      const configDir = path.join(daemon.dir, `${cli}-config`);
      const env = { DOCKER_CONFIG: configDir };
      const wrong = await run(daemon, ['login', '-u', 'carol', '--password-stdin', secured.host], {
        input: 'bad\n',
        env,
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /401 Unauthorized/);
      const good = await run(daemon, ['login', '-u', 'carol', '--password-stdin', secured.host], {
        input: 'pa55\n',
        env,
      });
      assert.equal(good.stdout, 'Login Succeeded\n', good.stderr);
      const config = JSON.parse(readFileSync(path.join(configDir, 'config.json'), 'utf8'));
      assert.equal(config.auths[secured.host].auth, Buffer.from('carol:pa55').toString('base64'));
      const pulled = await run(daemon, ['pull', `${secured.host}/private:v1`], { env });
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(
        ok(await run(daemon, ['logout', secured.host], { env })),
        `Removing login credentials for ${secured.host}\n`,
      );
      const after = JSON.parse(readFileSync(path.join(configDir, 'config.json'), 'utf8'));
      assert.equal(after.auths[secured.host], undefined);
      ok(await docker(daemon, ['rmi', `${secured.host}/private:v1`]));
    });
  }
});
