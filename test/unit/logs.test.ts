/** Log drivers: json-file and local formats, rotation and compression, since/until/tail without a full scan, follow across rotation, crash repair. */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { rfc3339Nano } from '../../src/engine/containers/record.js';
import { jsonFormat, localFormat, type LogFormat } from '../../src/logs/formats.js';
import { LineSplitter, MAX_MESSAGE } from '../../src/logs/lines.js';
import {
  FileLogWriter,
  createLogWriter,
  logAttributes,
  parseSize,
  readLog,
  validateLogOptions,
  type LogEntry,
  type ReadLogOptions,
} from '../../src/logs/index.js';
import { readLogFiles } from '../../src/logs/reader.js';

let dir: string;
let n = 0;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'berth-logs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function freshDir(): string {
  const d = path.join(dir, String(n++));
  mkdirSync(d);
  return d;
}

async function collect(entries: AsyncGenerator<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

const ALL: ReadLogOptions = { stdout: true, stderr: true };
const BASE = 1_700_000_000_000_000_000n;

/** Writes `count` records with times BASE + i seconds, straight in the format. */
function writeSynthetic(format: LogFormat, file: string, count: number, from = 0): void {
  const parts: Buffer[] = [];
  for (let i = from; i < from + count; i++) {
    parts.push(
      format.encode({
        stream: i % 3 === 0 ? 'stderr' : 'stdout',
        line: Buffer.from(`line ${i}`),
        partial: false,
        nanos: BASE + BigInt(i) * 1_000_000_000n,
      }),
    );
  }
  appendFileSync(file, Buffer.concat(parts));
}

describe('messages', () => {
  test('lines split at newlines and into 16 KiB partial messages, as Docker copies them', () => {
    const splitter = new LineSplitter();
    const out: [number, boolean][] = [];
    const emit = (line: Buffer, partial: boolean): number => out.push([line.length, partial]);
    splitter.push(Buffer.from('a'.repeat(MAX_MESSAGE) + '\nshort\n' + 'b'.repeat(MAX_MESSAGE + 5)), emit);
    splitter.push(Buffer.from('bb\nrest'), emit);
    splitter.flush(emit);
    assert.deepEqual(out, [
      [MAX_MESSAGE, true],
      [0, false],
      [5, false],
      [MAX_MESSAGE, true],
      [7, false],
      [4, true],
    ]);
  });

  test('sizes and options are checked with Docker’s messages', () => {
    assert.equal(parseSize('10m', 1000), 10_000_000);
    assert.equal(parseSize('10m', 1024), 10 * 1024 * 1024);
    assert.equal(parseSize('1.5k', 1024), 1536);
    assert.equal(parseSize('42', 1000), 42);
    assert.throws(
      () => validateLogOptions('json-file', { foo: 'x' }),
      /unknown log opt 'foo' for json-file log driver/,
    );
    assert.throws(
      () => validateLogOptions('local', { labels: 'x' }),
      /unknown log opt 'labels' for local log driver/,
    );
    assert.throws(
      () => validateLogOptions('json-file', { 'max-file': '0' }),
      /max-file cannot be less than 1/,
    );
    assert.throws(
      () => validateLogOptions('json-file', { compress: 'true', 'max-size': '1m' }),
      /compress cannot be true when max-file is less than 2 or max-size is not set/,
    );
    assert.throws(() => validateLogOptions('none', { 'max-size': '1m' }), /unknown log opt/);
    assert.throws(() => validateLogOptions('syslog', {}), /no log driver named 'syslog'/);
    validateLogOptions('json-file', { 'max-size': '1m', 'max-file': '3', compress: 'true', labels: 'a' });
  });

  test('attributes come from the labels and environment the options name', () => {
    const attrs = logAttributes(
      { labels: 'team,missing', 'env-regex': '^APP_', env: 'HOME' },
      {
        id: 'x',
        dir: '/',
        labels: { team: 'infra', other: 'no' },
        env: ['APP_A=1', 'HOME=/root', 'PATH=/bin'],
      },
    );
    assert.deepEqual(attrs, { team: 'infra', APP_A: '1', HOME: '/root' });
  });
});

for (const driver of ['json-file', 'local'] as const) {
  const format = driver === 'local' ? localFormat : jsonFormat;
  describe(`${driver} driver`, () => {
    test('round trip: streams, partial lines, attributes (json-file)', async () => {
      const d = freshDir();
      const file = path.join(d, 'c.log');
      const writer = createLogWriter(driver, file, {}, { id: 'c', dir: d, labels: { l: 'v' }, env: [] })!;
      writer.write('stdout', Buffer.from('one\n<tag>&'));
      writer.write('stderr', Buffer.from('err\n'));
      writer.write('stdout', Buffer.from('more\nend'));
      await writer.close();
      const entries = await collect(readLog(driver, file, ALL));
      assert.deepEqual(
        entries.map((e) => [e.stream, e.log]),
        [
          ['stdout', 'one\n'],
          ['stderr', 'err\n'],
          ['stdout', '<tag>&more\n'],
          ['stdout', 'end'],
        ],
      );
      if (driver === 'json-file') assert.match(readFileSync(file, 'utf8'), /\\u003ctag\\u003e\\u0026more/);
    });

    test('since, until and tail, alone and together', async () => {
      const file = path.join(freshDir(), 'c.log');
      writeSynthetic(format, file, 100);
      const read = async (options: Partial<ReadLogOptions>): Promise<string[]> =>
        (await collect(readLogFiles(format, file, { ...ALL, ...options }))).map((e) => e.log.trim().slice(5));
      const at = (i: number): bigint => BASE + BigInt(i) * 1_000_000_000n;
      assert.deepEqual(await read({ since: at(97) }), ['97', '98', '99']);
      assert.deepEqual(await read({ since: at(96) + 1n }), ['97', '98', '99']);
      assert.deepEqual(await read({ until: at(2) }), ['0', '1', '2']);
      assert.deepEqual(await read({ tail: 2 }), ['98', '99']);
      assert.deepEqual(await read({ tail: 0 }), []);
      assert.deepEqual(await read({ since: at(10), until: at(12) }), ['10', '11', '12']);
      assert.deepEqual(await read({ since: at(10), until: at(20), tail: 2 }), ['19', '20']);
      assert.deepEqual(await read({ since: at(98), tail: 5 }), ['98', '99']);
      assert.deepEqual(await read({ stdout: false, tail: 2 }), ['96', '99']);
      assert.deepEqual(await read({ since: at(1000) }), []);
      assert.deepEqual((await read({ since: at(-5) })).length, 100);
    });

    test('rotation keeps max-file files, compresses rotated ones, and reads across them in order', async () => {
      const d = freshDir();
      const file = path.join(d, 'c.log');
      const writer = createLogWriter(
        driver,
        file,
        { 'max-size': '2k', 'max-file': '3', compress: 'true' },
        { id: 'c', dir: d, labels: {}, env: [] },
      )!;
      for (let i = 0; i < 400; i++) writer.write('stdout', Buffer.from(`message number ${i}\n`));
      await writer.close();
      const names = readdirSync(d).sort();
      assert.deepEqual(names, ['c.log', 'c.log.1.gz', 'c.log.2.gz']);
      for (const name of names) {
        const size = name.endsWith('.gz')
          ? gunzipSync(readFileSync(path.join(d, name))).length
          : readFileSync(path.join(d, name)).length;
        assert.ok(size <= 2048, `${name} is ${size} bytes`);
      }
      const numbers = (await collect(readLog(driver, file, ALL))).map((e) => Number(e.log.split(' ')[2]));
      assert.ok(numbers.length > 40 && numbers.length < 400);
      assert.equal(numbers.at(-1), 399);
      numbers.forEach((value, i) => assert.equal(value, numbers[0] + i));
      const tail = (await collect(readLog(driver, file, { ...ALL, tail: numbers.length - 3 }))).map((e) =>
        Number(e.log.split(' ')[2]),
      );
      assert.deepEqual(tail, numbers.slice(3));
    });

    test('one read of many lines is cut between records when it crosses max-size', async () => {
      const d = freshDir();
      const file = path.join(d, 'c.log');
      const writer = createLogWriter(
        driver,
        file,
        { 'max-size': '1k', 'max-file': '5' },
        { id: 'c', dir: d, labels: {}, env: [] },
      )!;
      writer.write('stdout', Buffer.from(Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join('')));
      await writer.close();
      for (const name of readdirSync(d)) assert.ok(readFileSync(path.join(d, name)).length <= 1024, name);
      const numbers = (await collect(readLog(driver, file, ALL))).map((e) => Number(e.log.split(' ')[1]));
      assert.equal(numbers.at(-1), 199);
      numbers.forEach((value, i) => assert.equal(value, numbers[0] + i));
      assert.ok(numbers.length < 200 && numbers.length > 50, `${numbers.length} kept`);
    });

    test('follow reads every message across rotations while the writer runs', async () => {
      const d = freshDir();
      const file = path.join(d, 'c.log');
      const writer = new FileLogWriter(
        format,
        file,
        { maxSize: 4096, maxFiles: 2, compress: true },
        undefined,
      );
      let stop!: () => void;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      const seen: number[] = [];
      const following = (async () => {
        for await (const e of readLog(driver, file, { ...ALL, follow: true, stopped }))
          seen.push(Number(e.log.split(' ')[1]));
      })();
      for (let i = 0; i < 3000; i++) {
        if (!writer.write('stdout', Buffer.from(`m ${i}\n`)))
          await new Promise<void>((r) => writer.onceDrain(r));
        if (i % 200 === 0) await new Promise((r) => setImmediate(r));
      }
      await writer.close();
      stop();
      await following;
      assert.equal(seen.length, 3000);
      seen.forEach((value, i) => assert.equal(value, i));
    });

    test('a record torn by a crash is left behind and writing continues', async () => {
      const d = freshDir();
      const file = path.join(d, 'c.log');
      writeSynthetic(format, file, 5);
      const whole = format.encode({
        stream: 'stdout',
        line: Buffer.from('torn away'),
        partial: false,
        nanos: BASE,
      });
      appendFileSync(file, whole.subarray(0, whole.length - 3));
      const writer = new FileLogWriter(format, file, { maxSize: 0, maxFiles: 1, compress: false }, undefined);
      writer.write('stdout', Buffer.from('after restart\n'));
      await writer.close();
      const logs = (await collect(readLog(driver, file, ALL))).map((e) => e.log.trim());
      assert.deepEqual(logs, ['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'after restart']);
    });
  });
}

describe('large logs', () => {
  test('since, until and tail on a 100 MB json-file answer without scanning it', async () => {
    const file = path.join(freshDir(), 'big-json.log');
    const count = 1_000_000;
    const chunk = 100_000;
    const pad = 'x'.repeat(40);
    for (let from = 0; from < count; from += chunk) {
      const lines: string[] = [];
      for (let i = from; i < from + chunk; i++) {
        lines.push(
          `{"log":"entry ${i} ${pad}\\n","stream":"stdout","time":"${rfc3339Nano(BASE + BigInt(i) * 1_000_000n)}"}\n`,
        );
      }
      appendFileSync(file, lines.join(''));
    }
    const timed = async (options: Partial<ReadLogOptions>): Promise<{ ms: number; logs: string[] }> => {
      const started = performance.now();
      const logs = (await collect(readLog('json-file', file, { ...ALL, ...options }))).map(
        (e) => e.log.split(' ')[1],
      );
      return { ms: performance.now() - started, logs };
    };
    const at = (i: number): bigint => BASE + BigInt(i) * 1_000_000n;
    const window = await timed({ since: at(500_000), until: at(500_004) });
    assert.deepEqual(window.logs, ['500000', '500001', '500002', '500003', '500004']);
    const tail = await timed({ tail: 3 });
    assert.deepEqual(tail.logs, ['999997', '999998', '999999']);
    const early = await timed({ since: at(10), until: at(11) });
    assert.deepEqual(early.logs, ['10', '11']);
    const tailBeforeUntil = await timed({ until: at(1000), tail: 2 });
    assert.deepEqual(tailBeforeUntil.logs, ['999', '1000']);
    for (const result of [window, tail, early, tailBeforeUntil])
      assert.ok(result.ms < 200, `took ${result.ms} ms`);
  });

  test('a damaged line in the middle is skipped', async () => {
    const file = path.join(freshDir(), 'damaged-json.log');
    writeSynthetic(jsonFormat, file, 3);
    appendFileSync(file, '{"log":"half\n');
    writeSynthetic(jsonFormat, file, 2, 3);
    writeFileSync(file + '.ignored', 'x');
    const logs = (await collect(readLog('json-file', file, ALL))).map((e) => e.log.trim());
    assert.deepEqual(logs, ['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
  });
});
