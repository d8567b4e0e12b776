/**
 * Volumes through a real berthd, driven by the real docker CLI and by
 * berth's own CLI (whose output must match docker's byte for byte).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { berth, docker, startDaemon, type CommandResult, type TestDaemon } from '../helpers/daemon.js';

interface ApiResponse {
  status: number;
  body: string;
  json: () => unknown;
}

function api(daemon: TestDaemon, method: string, urlPath: string, body?: unknown): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath: daemon.socket,
        path: urlPath,
        method,
        headers: payload
          ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function ok(result: CommandResult): string {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

describe('volumes through berthd', () => {
  let daemon: TestDaemon;
  let since: number;

  before(async () => {
    daemon = await startDaemon();
    since = Math.floor(Date.now() / 1000) - 1;
  });
  after(async () => {
    await daemon?.stop();
  });

  test('docker volume create, with labels, options and anonymous names', async () => {
    assert.equal(ok(await docker(daemon, ['volume', 'create', '--label', 'tier=db', 'dbdata'])), 'dbdata\n');
    assert.equal(
      ok(
        await docker(daemon, [
          'volume',
          'create',
          '-d',
          'local',
          '-o',
          'type=tmpfs',
          '-o',
          'device=tmpfs',
          '-o',
          'o=size=1m',
          'scratch',
        ]),
      ),
      'scratch\n',
    );
    assert.match(ok(await docker(daemon, ['volume', 'create'])), /^[0-9a-f]{64}\n$/);
    assert.equal(ok(await berth(daemon, ['volume', 'create', '--label', 'tier=web', 'web10'])), 'web10\n');
    assert.equal(ok(await berth(daemon, ['volume', 'create', 'web9'])), 'web9\n');
    assert.ok(existsSync(path.join(daemon.dataRoot, 'volumes/dbdata/_data')));
    const bad = await docker(daemon, ['volume', 'create', 'bad name']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /Error response from daemon: create bad name: "bad name" includes invalid characters for a local volume name/,
    );
    const berthBad = await berth(daemon, ['volume', 'create', 'bad name']);
    assert.equal(berthBad.stderr, bad.stderr);
    assert.equal(berthBad.code, 1);
  });

  test('docker volume ls with filters and formats; berth prints the same', async () => {
    const table = ok(await docker(daemon, ['volume', 'ls']));
    assert.match(table, /^DRIVER {4}VOLUME NAME\n/);
    assert.match(table, /local {5}web9\nlocal {5}web10\n/);
    assert.equal(ok(await berth(daemon, ['volume', 'ls'])), table);
    const cases = [
      ['-q'],
      ['-q', '--filter', 'label=tier'],
      ['--filter', 'label=tier=db'],
      ['-f', 'name=web', '-f', 'driver=local'],
      ['--filter', 'dangling=true', '--format', '{{.Name}}'],
      ['--format', 'table {{.Name}}\t{{.Scope}}\t{{.Mountpoint}}\t{{.Links}}\t{{.Size}}'],
      ['--format', '{{json .}}'],
    ];
    for (const args of cases) {
      const expected = ok(await docker(daemon, ['volume', 'ls', ...args]));
      assert.equal(ok(await berth(daemon, ['volume', 'ls', ...args])), expected, args.join(' '));
    }
    assert.equal(
      ok(await docker(daemon, ['volume', 'ls', '-q', '--filter', 'label=tier'])),
      'dbdata\nweb10\n',
    );
    const bad = await docker(daemon, ['volume', 'ls', '--filter', 'colour=red']);
    assert.match(bad.stderr, /invalid filter 'colour'/);
  });

  test('docker volume inspect, and berth volume inspect byte for byte', async () => {
    const out = ok(await docker(daemon, ['volume', 'inspect', 'scratch', 'dbdata']));
    const [scratch, dbdata] = JSON.parse(out) as Record<string, unknown>[];
    assert.deepEqual(scratch.Options, { device: 'tmpfs', o: 'size=1m', type: 'tmpfs' });
    assert.deepEqual(dbdata.Labels, { tier: 'db' });
    assert.equal(dbdata.Mountpoint, path.join(daemon.dataRoot, 'volumes/dbdata/_data'));
    assert.equal(dbdata.Scope, 'local');
    assert.equal(ok(await berth(daemon, ['volume', 'inspect', 'scratch', 'dbdata'])), out);
    const formatted = ['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{json .Labels}}', 'dbdata'];
    assert.equal(ok(await berth(daemon, formatted)), ok(await docker(daemon, formatted)));
    const missing = await docker(daemon, ['volume', 'inspect', 'nope']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '[]\n');
    assert.match(missing.stderr, /Error response from daemon: get nope: no such volume/);
    const berthMissing = await berth(daemon, ['volume', 'inspect', 'nope']);
    assert.deepEqual(
      [berthMissing.code, berthMissing.stdout, berthMissing.stderr],
      [missing.code, missing.stdout, missing.stderr],
    );
  });

  test('the Engine API answers as Docker does', async () => {
    const created = await api(daemon, 'POST', '/v1.47/volumes/create', {
      Name: 'api-vol',
      Labels: { k: 'v' },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.json() as object), [
      'CreatedAt',
      'Driver',
      'Labels',
      'Mountpoint',
      'Name',
      'Options',
      'Scope',
    ]);
    const list = (
      await api(daemon, 'GET', '/volumes?filters=' + encodeURIComponent('{"name":{"api-vol":true}}'))
    ).json() as {
      Volumes: { Name: string }[];
      Warnings: null;
    };
    assert.deepEqual(
      list.Volumes.map((v) => v.Name),
      ['api-vol'],
    );
    assert.equal(list.Warnings, null);
    const missing = await api(daemon, 'GET', '/volumes/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json(), { message: 'get nope: no such volume' });
    const sized = (await api(daemon, 'GET', '/volumes/api-vol?size=1')).json() as { UsageData: unknown };
    assert.deepEqual(sized.UsageData, { Size: 0, RefCount: 0 });
    assert.equal((await api(daemon, 'DELETE', '/volumes/api-vol')).status, 204);
    assert.equal((await api(daemon, 'DELETE', '/volumes/api-vol')).status, 404);
    assert.equal((await api(daemon, 'DELETE', '/volumes/api-vol?force=1')).status, 204);
    const badOption = await api(daemon, 'POST', '/volumes/create', {
      Name: 'x1',
      DriverOpts: { bogus: '1' },
    });
    assert.equal(badOption.status, 400);
    assert.deepEqual(badOption.json(), { message: 'create x1: invalid option: "bogus"' });
    const badDriver = await api(daemon, 'POST', '/volumes/create', { Name: 'x1', Driver: 'convoy' });
    assert.equal(badDriver.status, 404);
    const badFilter = await api(
      daemon,
      'POST',
      '/volumes/prune?filters=' + encodeURIComponent('{"all":["perhaps"]}'),
    );
    assert.equal(badFilter.status, 400);
  });

  test('docker volume rm: names printed, errors collected, exit 1', async () => {
    assert.equal(ok(await docker(daemon, ['volume', 'create', 'gone1'])), 'gone1\n');
    assert.equal(ok(await docker(daemon, ['volume', 'create', 'gone2'])), 'gone2\n');
    const result = await docker(daemon, ['volume', 'rm', 'gone1', 'ghost']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, 'gone1\n');
    assert.match(result.stderr, /Error response from daemon: get ghost: no such volume/);
    const berthResult = await berth(daemon, ['volume', 'rm', 'gone2', 'ghost']);
    assert.deepEqual(
      [berthResult.code, berthResult.stdout, berthResult.stderr],
      [1, 'gone2\n', result.stderr],
    );
    assert.equal(ok(await docker(daemon, ['volume', 'rm', '-f', 'ghost'])), 'ghost\n');
    assert.equal(ok(await berth(daemon, ['volume', 'rm', '-f', 'ghost'])), 'ghost\n');
  });

  test('docker volume prune: anonymous by default, -a for named, label filters; berth matches', async () => {
    const anonymous = ok(
      await docker(daemon, ['volume', 'ls', '-q', '--filter', 'label=com.docker.volume.anonymous']),
    ).trim();
    assert.match(anonymous, /^[0-9a-f]{64}$/);
    const declined = await docker(daemon, ['volume', 'prune'], { input: 'n\n' });
    assert.equal(declined.code, 0);
    assert.equal(
      declined.stdout,
      'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ',
    );
    const berthDeclined = await berth(daemon, ['volume', 'prune'], { input: 'n\n' });
    assert.deepEqual([berthDeclined.code, berthDeclined.stdout], [0, declined.stdout]);
    assert.equal(
      ok(await docker(daemon, ['volume', 'prune', '-f'])),
      `Deleted Volumes:\n${anonymous}\n\nTotal reclaimed space: 0B\n`,
    );
    assert.equal(ok(await berth(daemon, ['volume', 'prune', '-f'])), 'Total reclaimed space: 0B\n');
    // -a takes named volumes, narrowed by label; volumes with mount options are never pruned.
    const webOnly = ok(await docker(daemon, ['volume', 'prune', '-a', '-f', '--filter', 'label=tier=web']));
    assert.equal(webOnly, 'Deleted Volumes:\nweb10\n\nTotal reclaimed space: 0B\n');
    assert.equal(
      ok(await berth(daemon, ['volume', 'prune', '-a', '--filter', 'label!=tier'], { input: 'y\n' })),
      'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\nweb9\n\nTotal reclaimed space: 0B\n',
    );
    const left = ok(await docker(daemon, ['volume', 'ls', '-q']))
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(left, ['dbdata', 'scratch']);
    const conflicting = await berth(daemon, ['volume', 'prune', '-a', '-f', '--filter', 'all=1']);
    assert.equal(conflicting.stderr, 'conflicting options: cannot specify both --all and --filter all=1\n');
  });

  test('volume events: create, destroy and prune', async () => {
    const until = Math.ceil(Date.now() / 1000) + 1;
    const out = ok(
      await docker(daemon, [
        'events',
        '--since',
        String(since),
        '--until',
        String(until),
        '--filter',
        'type=volume',
        '--format',
        '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}',
      ]),
    );
    const lines = out.trim().split('\n');
    assert.ok(lines.includes('create dbdata local'), out);
    assert.ok(lines.includes('destroy gone1 local'), out);
    assert.ok(lines.includes('destroy web10 local'), out);
    assert.ok(
      lines.some((l) => l.startsWith('prune ')),
      out,
    );
  });
});
