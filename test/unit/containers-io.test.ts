/** Container I/O pieces: the json-file log, the output hub and stdin, the filesystem diff and user lookup through layers. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { JsonFileWriter, readJsonLog, type LogEntry } from '../../src/engine/containers/jsonlog.js';
import { filesystemChanges, layersOf, resolveUserInLayers } from '../../src/engine/containers/rootfs.js';
import { ContainerStreams, type OutputSink } from '../../src/engine/containers/stdio.js';
import type { FifoStreams } from '../../src/containerd/fifo.js';
import type net from 'node:net';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'berth-containers-io-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function collect(entries: AsyncGenerator<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

describe('json-file log', () => {
  test("writes Docker's line format, splitting lines and keeping partial ones for the end", async () => {
    const file = path.join(dir, 'a-json.log');
    const writer = new JsonFileWriter(file);
    writer.write('stdout', Buffer.from('one\ntw'));
    writer.write('stderr', Buffer.from('err\n'));
    writer.write('stdout', Buffer.from('o\nthree'));
    // A UTF-8 character split across chunks stays whole.
    const euro = Buffer.from('€\n');
    writer.write('stdout', euro.subarray(0, 1));
    writer.write('stdout', euro.subarray(1));
    await writer.close();
    const entries = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      entries.map((e) => [e.stream, e.log]),
      [
        ['stdout', 'one\n'],
        ['stderr', 'err\n'],
        ['stdout', 'two\n'],
        ['stdout', 'three€\n'],
      ],
    );
    for (const e of entries) assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    assert.deepEqual(Object.keys(entries[0]), ['log', 'stream', 'time']);
  });

  test('a line longer than 16 KiB is written in 16 KiB parts; a last partial line is kept', async () => {
    const file = path.join(dir, 'long-json.log');
    const writer = new JsonFileWriter(file);
    writer.write('stdout', Buffer.from('x'.repeat(40 * 1024) + '\nend'));
    await writer.close();
    const logs = (await collect(readJsonLog(file, { stdout: true, stderr: true }))).map((e) => e.log);
    assert.deepEqual(
      logs.map((l) => l.length),
      [16384, 16384, 8192 + 1, 3],
    );
    assert.equal(logs[3], 'end');
  });

  test('reading: streams, tail, since/until', async () => {
    const file = path.join(dir, 'read-json.log');
    const lines = [
      { log: 'a\n', stream: 'stdout', time: '2024-01-01T00:00:01Z' },
      { log: 'b\n', stream: 'stderr', time: '2024-01-01T00:00:02.5Z' },
      { log: 'c\n', stream: 'stdout', time: '2024-01-01T00:00:03Z' },
    ];
    writeFileSync(file, lines.map((l) => JSON.stringify(l) + '\n').join('') + '{"torn');
    const read = async (options: Parameters<typeof readJsonLog>[1]): Promise<string> =>
      (await collect(readJsonLog(file, options))).map((e) => e.log.trim()).join('');
    assert.equal(await read({ stdout: true, stderr: true }), 'abc');
    assert.equal(await read({ stdout: true, stderr: false }), 'ac');
    assert.equal(await read({ stdout: true, stderr: true, tail: 2 }), 'bc');
    assert.equal(await read({ stdout: true, stderr: true, tail: 0 }), '');
    assert.equal(await read({ stdout: true, stderr: true, since: 1_704_067_202_000_000_000n }), 'bc');
    assert.equal(await read({ stdout: true, stderr: true, until: 1_704_067_202_500_000_000n }), 'ab');
  });

  test('follow yields appended entries and ends once the container stopped', async () => {
    const file = path.join(dir, 'follow-json.log');
    const writer = new JsonFileWriter(file);
    writer.write('stdout', Buffer.from('first\n'));
    await new Promise((r) => setTimeout(r, 50));
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const seen: string[] = [];
    const following = (async () => {
      for await (const e of readJsonLog(file, { stdout: true, stderr: true, follow: true, stopped }))
        seen.push(e.log);
    })();
    await new Promise((r) => setTimeout(r, 100));
    writer.write('stdout', Buffer.from('second\n'));
    await writer.close();
    stop();
    await following;
    assert.deepEqual(seen, ['first\n', 'second\n']);
  });
});

function fakeFifos(withStdin: boolean): FifoStreams & { stdinData: Buffer[] } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = withStdin ? new PassThrough() : undefined;
  const stdinData: Buffer[] = [];
  stdin?.on('data', (c: Buffer) => stdinData.push(c));
  return {
    stdout: stdout as unknown as net.Socket,
    stderr: stderr as unknown as net.Socket,
    stdin: stdin as unknown as net.Socket | undefined,
    stdinData,
    close() {
      stdout.destroy();
      stderr.destroy();
      stdin?.destroy();
    },
  };
}

function sink(streams: { stdout: boolean; stderr: boolean }): OutputSink & { got: string[]; ended: boolean } {
  const s = {
    ...streams,
    got: [] as string[],
    ended: false,
    write(stream: string, chunk: Buffer) {
      s.got.push(`${stream}:${chunk.toString()}`);
      return true;
    },
    onceDrain(cb: () => void) {
      cb();
    },
    end() {
      s.ended = true;
    },
  };
  return s;
}

describe('container streams', () => {
  test('output goes to every attached client by stream, and clients end when the run does', async () => {
    const streams = new ContainerStreams({ stdinOnce: () => false, closeStdin: async () => undefined });
    const both = sink({ stdout: true, stderr: true });
    const outOnly = sink({ stdout: true, stderr: false });
    streams.attachOutput(both);
    streams.attachOutput(outOnly);
    const fifos = fakeFifos(false);
    const drained = streams.beginRun(fifos);
    (fifos.stdout as unknown as PassThrough).end('hello');
    (fifos.stderr as unknown as PassThrough).end('oops');
    await drained;
    assert.deepEqual(both.got.sort(), ['stderr:oops', 'stdout:hello']);
    assert.deepEqual(outOnly.got, ['stdout:hello']);
    assert.ok(both.ended && outOnly.ended);
  });

  test('stdin typed before the start is delivered, and a StdinOnce close waits for the process', async () => {
    let closed = 0;
    const streams = new ContainerStreams({ stdinOnce: () => true, closeStdin: async () => void closed++ });
    const input = new PassThrough();
    streams.attachInput(input);
    input.end('early input');
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, 0);
    const fifos = fakeFifos(true);
    streams.beginRun(fifos);
    assert.equal(closed, 0, 'stdin closed before the process started');
    streams.processStarted();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(Buffer.concat(fifos.stdinData).toString(), 'early input');
    assert.equal(closed, 1);
  });

  test('a slow client pauses the output (backpressure) until it drains or detaches', async () => {
    const streams = new ContainerStreams({ stdinOnce: () => false, closeStdin: async () => undefined });
    let drain: (() => void) | undefined;
    const slow: OutputSink = {
      stdout: true,
      stderr: true,
      write: () => false,
      onceDrain: (cb) => (drain = cb),
      end: () => undefined,
    };
    const detach = streams.attachOutput(slow);
    const fifos = fakeFifos(false);
    streams.beginRun(fifos);
    const stdout = fifos.stdout as unknown as PassThrough;
    stdout.write('x');
    await new Promise((r) => setImmediate(r));
    assert.ok(stdout.isPaused());
    drain!();
    assert.ok(!stdout.isPaused());
    stdout.write('y');
    await new Promise((r) => setImmediate(r));
    assert.ok(stdout.isPaused());
    detach();
    assert.ok(!stdout.isPaused(), 'a detached client still holds the output');
    streams.endRun();
  });
});

describe('container filesystem', () => {
  test('layers of overlay and bind snapshot mounts', () => {
    assert.deepEqual(
      layersOf([
        {
          type: 'overlay',
          source: 'overlay',
          options: ['index=off', 'workdir=/s/2/work', 'upperdir=/s/2/fs', 'lowerdir=/s/1/fs:/s/0/fs'],
        },
      ]),
      {
        upper: '/s/2/fs',
        lowers: ['/s/1/fs', '/s/0/fs'],
      },
    );
    assert.deepEqual(layersOf([{ type: 'bind', source: '/s/1/fs', options: ['rw', 'rbind'] }]), {
      upper: '/s/1/fs',
      lowers: [],
    });
  });

  test('docker diff: added, changed and deleted paths; runtime mountpoints hidden', async () => {
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    for (const p of ['bin', 'etc', 'tmp']) mkdirSync(path.join(lower, p), { recursive: true });
    writeFileSync(path.join(lower, 'bin/ls'), 'ls');
    writeFileSync(path.join(lower, 'etc/passwd'), 'root');
    for (const p of ['bin', 'etc', 'tmp/new-dir', 'proc'])
      mkdirSync(path.join(upper, p), { recursive: true });
    execFileSync('mknod', [path.join(upper, 'bin/ls'), 'c', '0', '0']);
    writeFileSync(path.join(upper, 'etc/passwd'), 'changed');
    writeFileSync(path.join(upper, 'etc/hostname'), '');
    writeFileSync(path.join(upper, 'tmp/new-dir/file'), 'x');
    const changes = await filesystemChanges({ upper, lowers: [lower] }, new Set(['/etc/hostname', '/proc']));
    assert.deepEqual(changes, [
      { Path: '/bin', Kind: 0 },
      { Path: '/bin/ls', Kind: 2 },
      { Path: '/etc', Kind: 0 },
      { Path: '/etc/passwd', Kind: 0 },
      { Path: '/tmp', Kind: 0 },
      { Path: '/tmp/new-dir', Kind: 1 },
      { Path: '/tmp/new-dir/file', Kind: 1 },
    ]);
  });

  test('users are resolved through the layers (the topmost passwd wins)', async () => {
    const base = path.join(dir, 'ubase');
    const top = path.join(dir, 'utop');
    const scratch = path.join(dir, 'scratch');
    mkdirSync(path.join(base, 'etc'), { recursive: true });
    mkdirSync(path.join(top, 'etc'), { recursive: true });
    mkdirSync(scratch);
    writeFileSync(path.join(base, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
    writeFileSync(path.join(base, 'etc/group'), 'root:x:0:\nstaff:x:50:app\n');
    writeFileSync(
      path.join(top, 'etc/passwd'),
      'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
    );
    const user = await resolveUserInLayers({ upper: top, lowers: [base] }, scratch, 'app', ['staff']);
    assert.deepEqual(user, { uid: 1000, gid: 1000, additionalGids: [1000, 50], home: '/home/app' });
    await assert.rejects(
      resolveUserInLayers({ upper: base, lowers: [] }, scratch, 'app', []),
      /unable to find user app/,
    );
    // A symlinked /etc/passwd would need a real mount; a whiteout hides the lower file.
    const hidden = path.join(dir, 'uhidden');
    mkdirSync(path.join(hidden, 'etc'), { recursive: true });
    execFileSync('mknod', [path.join(hidden, 'etc/passwd'), 'c', '0', '0']);
    symlinkSync('passwd', path.join(hidden, 'etc/unused-link'));
    await assert.rejects(
      resolveUserInLayers({ upper: hidden, lowers: [top] }, scratch, 'app', []),
      /unable to find user app/,
    );
  });
});
