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
import protobuf from 'protobufjs';
import { rfc3339Nano } from '../../src/engine/containers/record.js';
import { jsonFormat, localFormat, type LogFormat, type StoredEntry } from '../../src/logs/formats.js';
import { LineSplitter, MAX_MESSAGE, type LinePart } from '../../src/logs/lines.js';
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
        nanos: BASE + BigInt(i) * 1_000_000_000n,
      }),
    );
  }
  appendFileSync(file, Buffer.concat(parts));
}

describe('messages', () => {
  test('lines split at newlines and into 16 KiB parts, numbered as Docker copies them', () => {
    const splitter = new LineSplitter();
    const out: [number, LinePart | undefined][] = [];
    const emit = (line: Buffer, part?: LinePart): number => out.push([line.length, part]);
    splitter.push(Buffer.from('a'.repeat(MAX_MESSAGE) + '\nshort\n' + 'b'.repeat(MAX_MESSAGE + 5)), emit);
    splitter.push(Buffer.from('bb\nrest'), emit);
    splitter.flush(emit);
    const [a, b, rest] = [out[0][1]?.id, out[3][1]?.id, out[5][1]?.id];
    assert.match(a ?? '', /^[0-9a-f]{64}$/);
    assert.notEqual(a, b);
    assert.notEqual(b, rest);
    assert.deepEqual(out, [
      [MAX_MESSAGE, { id: a, ordinal: 1, last: false }],
      // The newline right after a full part ends the line with an empty last part.
      [0, { id: a, ordinal: 2, last: true }],
      [5, undefined],
      [MAX_MESSAGE, { id: b, ordinal: 1, last: false }],
      [7, { id: b, ordinal: 2, last: true }],
      // End of output without a newline: a part that is not last, as Docker's copier leaves it.
      [4, { id: rest, ordinal: 1, last: false }],
    ]);
  });

  test("local records: LogEntry's bytes, partial_log_metadata (field 5) included", () => {
    const id = 'ab'.repeat(32);
    const record = localFormat.encode({
      stream: 'stdout',
      line: Buffer.from('hi'),
      part: { id, ordinal: 2, last: true },
      nanos: 1n,
    });
    // entry.proto: source=1 string, time_nano=2 int64, line=3 bytes, partial=4 bool,
    // partial_log_metadata=5 {last=1 bool, id=2 string, ordinal=3 int32}.
    const body = Buffer.concat([
      Buffer.from([0x0a, 6]),
      Buffer.from('stdout'),
      Buffer.from([0x10, 1, 0x1a, 2]),
      Buffer.from('hi'),
      Buffer.from([0x20, 1, 0x2a, 2 + 2 + 64 + 2, 0x08, 1, 0x12, 64]),
      Buffer.from(id),
      Buffer.from([0x18, 2]),
    ]);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(body.length);
    assert.deepEqual(record, Buffer.concat([size, body, size]));
    // The same bytes through protobufjs with entry.proto's message types.
    const metadata = new protobuf.Type('PartialLogEntryMetadata')
      .add(new protobuf.Field('last', 1, 'bool'))
      .add(new protobuf.Field('id', 2, 'string'))
      .add(new protobuf.Field('ordinal', 3, 'int32'));
    const logEntry = new protobuf.Type('LogEntry')
      .add(new protobuf.Field('source', 1, 'string'))
      .add(new protobuf.Field('timeNano', 2, 'int64'))
      .add(new protobuf.Field('line', 3, 'bytes'))
      .add(new protobuf.Field('partial', 4, 'bool'))
      .add(new protobuf.Field('partialLogMetadata', 5, 'PartialLogEntryMetadata'));
    new protobuf.Root().add(metadata).add(logEntry);
    assert.deepEqual(logEntry.toObject(logEntry.decode(body), { longs: String, bytes: String }), {
      source: 'stdout',
      timeNano: '1',
      line: Buffer.from('hi').toString('base64'),
      partial: true,
      partialLogMetadata: { last: true, id, ordinal: 2 },
    });
    const decoded: unknown[] = [];
    localFormat.decode(record, 0, (entry) => decoded.push(entry && { log: entry.log, part: entry.part }));
    // The last part ends the line: it comes back with its newline.
    assert.deepEqual(decoded, [{ log: 'hi\n', part: { id, ordinal: 2, last: true } }]);
    // A part that is not the last: no newline, and proto3 leaves last=false out.
    const first = localFormat.encode({
      stream: 'stderr',
      line: Buffer.from('x'),
      part: { id, ordinal: 1, last: false },
      nanos: 1n,
    });
    // After the length (4), source (8), time (2) and line (3): partial, then the metadata from its id.
    const afterLine = 4 + 8 + 2 + 3;
    assert.deepEqual(first.subarray(afterLine, afterLine + 5), Buffer.from([0x20, 1, 0x2a, 68, 0x12]));
    // Docker's records from before the metadata (partial=4 alone) continue their line too.
    const bare = Buffer.from([0, 0, 0, 7, 0x1a, 1, 0x79, 0x10, 5, 0x20, 1, 0, 0, 0, 7]);
    const entries: unknown[] = [];
    for (const buf of [first, bare])
      localFormat.decode(buf, 0, (entry) => entries.push(entry && [entry.log, entry.stream, entry.part]));
    assert.deepEqual(entries, [
      ['x', 'stderr', { id, ordinal: 1, last: false }],
      ['y', 'stdout', { id: '', ordinal: 0, last: false }],
    ]);
  });

  test('a line longer than 16 KiB through the local driver: parts on disk, the line whole when read', async () => {
    const d = freshDir();
    const file = path.join(d, 'local.log');
    const writer = createLogWriter('local', file, {}, { id: 'c', dir: d, labels: {}, env: [] })!;
    const long = Buffer.alloc(40 * 1024, 'q');
    writer.write('stdout', Buffer.concat([long.subarray(0, 20_000)]));
    writer.write('stdout', Buffer.concat([long.subarray(20_000), Buffer.from('\nnext\n')]));
    await writer.close();
    const records: StoredEntry[] = [];
    localFormat.decode(readFileSync(file), 0, (entry) => records.push(entry!));
    assert.deepEqual(
      records.map((r) => [r.log.length, r.part?.ordinal, r.part?.last]),
      [
        [MAX_MESSAGE, 1, false],
        [MAX_MESSAGE, 2, false],
        [long.length - 2 * MAX_MESSAGE + 1, 3, true],
        [5, undefined, undefined],
      ],
    );
    assert.equal(new Set(records.slice(0, 3).map((r) => r.part?.id)).size, 1);
    const text = (await collect(readLog('local', file, ALL))).map((e) => e.log).join('');
    assert.equal(text, `${long.toString()}\nnext\n`);
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
