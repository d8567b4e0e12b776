import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { decompressStream, detectCompression } from '../../src/archive/decompress.js';
import { isEngineError } from '../../src/common/errors.js';
import { listTar, readAll } from '../helpers/archive.js';

/** Host compressors: the archives under test are made by the real tools. */
const TOOLS = {
  gzip: ['gzip', '-c'],
  bzip2: ['bzip2', '-c'],
  xz: ['xz', '-c', '-T1'],
  zstd: ['zstd', '-c', '-q'],
} as const;
type Format = keyof typeof TOOLS;
const FORMATS = Object.keys(TOOLS) as Format[];

let dir: string;
let plainTar: Buffer;
let bigPlain: Buffer;

function compress(format: Format, data: Buffer, fast = false): Buffer {
  const [tool, ...args] = TOOLS[format];
  const level = format === 'xz' ? '-0' : '-1';
  return execFileSync(tool, fast ? [...args, level] : args, { input: data, maxBuffer: 1 << 30 });
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Hands out `data` in 64 KiB chunks and counts how much was taken. */
function countingSource(data: Buffer): { stream: Readable; taken: () => number } {
  let offset = 0;
  const stream = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (offset >= data.length) return void this.push(null);
      const chunk = data.subarray(offset, offset + 64 * 1024);
      offset += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, taken: () => offset };
}

async function expectInvalid(data: Buffer): Promise<void> {
  const started = Date.now();
  await assert.rejects(
    async () => readAll(await decompressStream(Readable.from([data]))),
    (err: unknown) => {
      assert.ok(isEngineError(err, 'InvalidParameter'), `want InvalidParameter, got ${String(err)}`);
      assert.match((err as Error).message, /failed to decompress/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 10_000, 'a corrupt archive is refused promptly');
}

describe('archive decompression', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-decompress-'));
    const src = join(dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'hello.txt'), 'hello\n');
    writeFileSync(join(src, 'sub', 'random.bin'), randomBytes(300_000));
    execFileSync('tar', ['-cf', join(dir, 'plain.tar'), '-C', src, '.']);
    plainTar = readFileSync(join(dir, 'plain.tar'));
    // Text-like data: compressible, but not so much that the compressed form is tiny.
    bigPlain = Buffer.from(randomBytes(6_000_000).toString('base64'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('detects formats by magic number', () => {
    for (const format of FORMATS) assert.equal(detectCompression(compress(format, plainTar)), format);
    assert.equal(detectCompression(plainTar), 'none');
  });

  for (const format of FORMATS) {
    test(`${format}: a tar made by the host tool comes out byte for byte`, async () => {
      const out = await readAll(await decompressStream(Readable.from([compress(format, plainTar)])));
      assert.equal(sha256(out), sha256(plainTar));
      const names = (await listTar(out)).map((e) => e.header.name).sort();
      assert.deepEqual(names, ['./', './hello.txt', './sub/', './sub/random.bin']);
    });

    test(`${format}: input is read as output is consumed, not ahead`, async () => {
      const compressed = compress(format, bigPlain, true);
      const source = countingSource(compressed);
      const output = await decompressStream(source.stream);
      const chunks: Buffer[] = [];
      const first = await new Promise<Buffer>((resolve) => output.once('data', resolve));
      output.pause();
      chunks.push(first);
      await sleep(300);
      const takenWhilePaused = source.taken();
      assert.ok(
        takenWhilePaused < compressed.length / 2,
        `${takenWhilePaused} of ${compressed.length} compressed bytes read while the consumer was paused`,
      );
      output.resume();
      chunks.push(await readAll(output));
      assert.equal(sha256(Buffer.concat(chunks)), sha256(bigPlain));
    });

    test(`${format}: corrupt and truncated archives are refused with a clear error`, async () => {
      const good = compress(format, plainTar);
      const corrupt = Buffer.from(good);
      // Keep the magic number, so the format is still recognised, and spoil the rest.
      for (let i = 16; i < corrupt.length - 16; i += 7) corrupt[i] ^= 0x5a;
      await expectInvalid(corrupt);
      await expectInvalid(good.subarray(0, Math.floor(good.length / 2)));
    });
  }

  test('bzip2: concatenated streams (as pbzip2 writes) decode as one', async () => {
    const half = Math.floor(plainTar.length / 2);
    const joined = Buffer.concat([
      compress('bzip2', plainTar.subarray(0, half)),
      compress('bzip2', plainTar.subarray(half)),
    ]);
    const out = await readAll(await decompressStream(Readable.from([joined])));
    assert.equal(sha256(out), sha256(plainTar));
  });

  test('bzip2: a block of long runs (45 MB out of a few bytes) streams in bounded buffers', async () => {
    const bomb = execFileSync('bzip2', ['-9', '-c'], { input: Buffer.alloc(100_000_000) });
    assert.ok(bomb.length < 1000, `${bomb.length} bytes`);
    const heapBefore = process.memoryUsage().heapUsed;
    let total = 0;
    let largest = 0;
    for await (const chunk of await decompressStream(Readable.from([bomb]))) {
      total += (chunk as Buffer).length;
      largest = Math.max(largest, (chunk as Buffer).length);
    }
    assert.equal(total, 100_000_000);
    assert.ok(largest <= 64 * 1024, `largest chunk ${largest}`);
    // The library's own wrapper held a block as a JS array of numbers: hundreds of MB of heap.
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(heapGrowth < 100_000_000, `heap grew by ${heapGrowth}`);
  });

  test('xz: two archives decode at the same time, one stalled does not block the other', async () => {
    const stalled = new Readable({ read() {} });
    stalled.push(compress('xz', plainTar).subarray(0, 4096));
    const waiting = await decompressStream(stalled);
    waiting.resume();
    await sleep(50);
    const out = await readAll(await decompressStream(Readable.from([compress('xz', plainTar)])));
    assert.equal(sha256(out), sha256(plainTar));
    waiting.destroy();
    stalled.destroy();
  });

  test('an xz stream destroyed half way frees the decoder for the next one', async () => {
    const first = await decompressStream(Readable.from([compress('xz', bigPlain, true)]));
    await new Promise((resolve) => first.once('data', resolve));
    first.destroy();
    const out = await readAll(await decompressStream(Readable.from([compress('xz', plainTar)])));
    assert.equal(sha256(out), sha256(plainTar));
  });
});
