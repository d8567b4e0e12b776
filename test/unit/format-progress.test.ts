import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import {
  displayJsonMessages,
  JsonMessageError,
  parseJsonStream,
  renderProgress,
  type DisplayOptions,
  type JsonMessage,
} from '../../src/cli/format/progress.js';

// A pull as the daemon streams it, exercising ids, bars, units and wonky totals.
const pull: JsonMessage[] = [
  { status: 'Pulling from library/busybox', id: 'latest' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'aaaaaaaaaaaa' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'bbbbbbbbbbbb' },
  { status: 'Waiting', progressDetail: {}, id: 'bbbbbbbbbbbb' },
  {
    status: 'Downloading',
    progressDetail: { current: 1200000, total: 3400000 },
    progress: '[=>  ]',
    id: 'aaaaaaaaaaaa',
  },
  { status: 'Downloading', progressDetail: { current: 3400000, total: 3400000 }, id: 'aaaaaaaaaaaa' },
  { status: 'Verifying Checksum', progressDetail: {}, id: 'aaaaaaaaaaaa' },
  { status: 'Download complete', progressDetail: {}, id: 'aaaaaaaaaaaa' },
  { status: 'Extracting', progressDetail: { current: 32768, total: 3400000 }, id: 'aaaaaaaaaaaa' },
  { status: 'Extracting', progressDetail: { current: 5000000, total: 3400000 }, id: 'aaaaaaaaaaaa' },
  { status: 'Extracting', progressDetail: { current: 5, units: 's' }, id: 'bbbbbbbbbbbb' },
  { status: 'Extracting', progressDetail: { current: 5, total: 10, units: 's' }, id: 'bbbbbbbbbbbb' },
  { status: 'Extracting', progressDetail: { current: 500 }, id: 'bbbbbbbbbbbb' },
  { status: 'Extracting', progressDetail: { current: 5, total: 10, hidecounts: true }, id: 'bbbbbbbbbbbb' },
  { status: 'Pull complete', progressDetail: {}, id: 'aaaaaaaaaaaa' },
  { status: 'Pull complete', progressDetail: {}, id: 'bbbbbbbbbbbb' },
  { status: 'Digest: sha256:abcdef' },
  { status: 'Status: Downloaded newer image for busybox:latest' },
];

// What `docker pull` (docker CLI 28.2.2) printed for this stream, without its
// own "Using default tag" and final reference lines: to a pipe, and to a
// terminal of 120 and 40 columns.
const DOCKER_NOT_TTY =
  'latest: Pulling from library/busybox\naaaaaaaaaaaa: Pulling fs layer\nbbbbbbbbbbbb: Pulling fs layer\nbbbbbbbbbbbb: Waiting\naaaaaaaaaaaa: Verifying Checksum\naaaaaaaaaaaa: Download complete\naaaaaaaaaaaa: Pull complete\nbbbbbbbbbbbb: Pull complete\nDigest: sha256:abcdef\nStatus: Downloaded newer image for busybox:latest\n';
const DOCKER_TTY_120 =
  'latest: Pulling from library/busybox\n\n\u001b[1A\u001b[2K\raaaaaaaaaaaa: Pulling fs layer \r\u001b[1B\n\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Pulling fs layer \r\u001b[1B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Waiting \r\u001b[1B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Downloading [=================>                                 ]    1.2MB/3.4MB\r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Downloading [==================================================>]    3.4MB/3.4MB\r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Verifying Checksum \r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Download complete \r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Extracting [>                                                  ]  32.77kB/3.4MB\r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Extracting [==================================================>]      5MB\r\u001b[2B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Extracting 5 s\r\u001b[1B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Extracting [=========================>                         ] 5/10 s\r\u001b[1B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Extracting     500B\r\u001b[1B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Extracting [=========================>                         ] \r\u001b[1B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Pull complete \r\u001b[2B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Pull complete \r\u001b[1BDigest: sha256:abcdef\nStatus: Downloaded newer image for busybox:latest\n';
const DOCKER_TTY_40 =
  'latest: Pulling from library/busybox\n\n\u001b[1A\u001b[2K\raaaaaaaaaaaa: Pulling fs layer \r\u001b[1B\n\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Pulling fs layer \r\u001b[1B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Waiting \r\u001b[1B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Downloading    1.2MB/3.4MB\r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Downloading    3.4MB/3.4MB\r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Verifying Checksum \r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Download complete \r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Extracting  32.77kB/3.4MB\r\u001b[2B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Extracting      5MB\r\u001b[2B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Extracting 5 s\r\u001b[1B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Extracting 5/10 s\r\u001b[1B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Extracting     500B\r\u001b[1B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Extracting \r\u001b[1B\u001b[2A\u001b[2K\raaaaaaaaaaaa: Pull complete \r\u001b[2B\u001b[1A\u001b[2K\rbbbbbbbbbbbb: Pull complete \r\u001b[1BDigest: sha256:abcdef\nStatus: Downloaded newer image for busybox:latest\n';

function ndjson(messages: object[]): Readable {
  return Readable.from([messages.map((m) => JSON.stringify(m) + '\r\n').join('')]);
}

async function display(
  input: AsyncIterable<object> | Iterable<object> | Readable,
  options: DisplayOptions,
): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await displayJsonMessages(input, out, options);
  return Buffer.concat(chunks).toString();
}

describe('progress: docker pull parity', () => {
  test('not a terminal: status lines only', async () => {
    assert.equal(await display(ndjson(pull), { isTty: false }), DOCKER_NOT_TTY);
  });
  test('terminal wider than 110 columns: lines redrawn in place, with bars', async () => {
    assert.equal(await display(ndjson(pull), { isTty: true, width: 120 }), DOCKER_TTY_120);
  });
  test('narrow terminal: no bars', async () => {
    assert.equal(await display(ndjson(pull), { isTty: true, width: 40 }), DOCKER_TTY_40);
  });
  test('parsed messages render the same as bytes', async () => {
    async function* messages(): AsyncGenerator<object> {
      yield* pull;
    }
    assert.equal(await display(messages(), { isTty: true, width: 120 }), DOCKER_TTY_120);
  });
  test('object-mode streams carry parsed messages', async () => {
    assert.equal(await display(Readable.from(pull), { isTty: false }), DOCKER_NOT_TTY);
  });
  test('terminal width comes from the stream when not given', async () => {
    const out = Object.assign(new PassThrough(), { columns: 120 });
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    await displayJsonMessages(ndjson(pull), out, { isTty: true });
    assert.equal(Buffer.concat(chunks).toString(), DOCKER_TTY_120);
  });
});

describe('progress', () => {
  test('build output: stream fields written through, aux handed to the callback', async () => {
    const aux: unknown[] = [];
    const out = await display(
      ndjson([
        { stream: 'Step 1/2 : FROM busybox\n' },
        { stream: ' ---> 0123456789ab\n' },
        { aux: { ID: 'sha256:feed' } },
        { stream: 'Successfully built feed\n' },
      ]),
      { isTty: true, onAux: (m) => aux.push(m.aux) },
    );
    assert.equal(out, 'Step 1/2 : FROM busybox\n ---> 0123456789ab\nSuccessfully built feed\n');
    assert.deepEqual(aux, [{ ID: 'sha256:feed' }]);
  });

  test('errorDetail stops the display with its message', async () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (chunk: Buffer) => (written += chunk.toString()));
    await assert.rejects(
      displayJsonMessages(
        ndjson([
          { status: 'Pulling fs layer', progressDetail: {}, id: 'a' },
          { errorDetail: { code: 1, message: 'manifest unknown' }, error: 'manifest unknown' },
          { status: 'never shown' },
        ]),
        out,
        { isTty: false },
      ),
      (err: unknown) =>
        err instanceof JsonMessageError && err.message === 'manifest unknown' && err.code === 1,
    );
    assert.equal(written, 'a: Pulling fs layer\n');
  });

  test('a terminal error still moves the cursor back below the progress lines', async () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (chunk: Buffer) => (written += chunk.toString()));
    await assert.rejects(
      displayJsonMessages(
        [
          {
            status: 'Downloading',
            progressDetail: { current: 1, total: 2 },
            id: 'a',
            errorDetail: { message: 'x' },
          },
        ],
        out,
        { isTty: true },
      ),
    );
    assert.equal(written, '\n\x1b[1A\x1b[1B');
  });

  test('a new message without progress starts a fresh set of lines', async () => {
    const out = await display(
      [
        { status: 'Pulling fs layer', progressDetail: {}, id: 'a' },
        { status: 'Pulling from x', id: 'v2' },
        { status: 'Pulling fs layer', progressDetail: {}, id: 'a' },
      ],
      { isTty: true },
    );
    assert.equal(
      out,
      '\n\x1b[1A\x1b[2K\ra: Pulling fs layer \r\x1b[1Bv2: Pulling from x\n\n\x1b[1A\x1b[2K\ra: Pulling fs layer \r\x1b[1B',
    );
  });

  test('JSON values split across chunks and concatenated without newlines', async () => {
    const text = JSON.stringify({ status: 'a "quoted" {brace}' }) + JSON.stringify({ status: 'é' });
    const bytes = Buffer.from(text);
    const chunks = [
      bytes.subarray(0, 7),
      bytes.subarray(7, bytes.length - 4),
      bytes.subarray(bytes.length - 4),
    ];
    const messages: JsonMessage[] = [];
    for await (const m of parseJsonStream(Readable.from(chunks))) messages.push(m);
    assert.deepEqual(messages, [{ status: 'a "quoted" {brace}' }, { status: 'é' }]);
    await assert.rejects(async () => {
      for await (const _ of parseJsonStream(Readable.from(['{"status": "x"'])));
    }, /unexpected EOF/);
    await assert.rejects(async () => {
      for await (const _ of parseJsonStream(Readable.from(['oops'])));
    }, /invalid character 'o'/);
  });

  test('honours backpressure', async () => {
    let writes = 0;
    const slow = new Writable({
      highWaterMark: 1,
      write(_chunk, _enc, done) {
        writes++;
        setImmediate(done);
      },
    });
    await displayJsonMessages(ndjson(pull), slow, { isTty: false });
    assert.equal(writes, 10);
  });
});

describe('progress: renderProgress', () => {
  const start = 1_700_000_000;
  test('time left estimate on terminals wider than 50 columns', () => {
    // 10s for 1MB of 4MB: 30s left.
    const now = (start + 10) * 1000;
    const p = { current: 1_000_000, total: 4_000_000, start };
    assert.equal(
      renderProgress(p, 120, now),
      '[============>                                      ]      1MB/4MB 30s',
    );
    assert.equal(renderProgress(p, 80, now), '     1MB/4MB 30s');
    assert.equal(renderProgress(p, 50, now), '     1MB/4MB');
    // 100s for 3 bytes of 1000: 33.2333...s per byte, 997 left, rounded to the second.
    assert.equal(
      renderProgress({ current: 3, total: 1000, start }, 80, (start + 100) * 1000),
      '      3B/1kB 9h13m53s',
    );
  });
  test('no estimate when complete or without a start', () => {
    assert.equal(
      renderProgress({ current: 4, total: 4, start }, 120, (start + 9) * 1000).endsWith('4B/4B'),
      true,
    );
    assert.equal(renderProgress({ current: 1, total: 4 }, 80), '      1B/4B');
  });
  test('nothing to show', () => {
    assert.equal(renderProgress({}, 120), '');
    assert.equal(renderProgress({ current: 0, total: 0 }, 120), '');
  });
});
