/**
 * The build context as the API receives it: a tar stream (plain, gzip, bzip2,
 * xz or zstd, decompressed in-process) unpacked into a directory of its own.
 * Extraction refuses what Docker refuses (names and links climbing out of
 * the context), so later steps only ever see a tree inside that directory.
 */
import { promises as fs } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { extractArchive } from '../../archive/extract.js';
import { errorMessage, invalidParameter, isEngineError } from '../../common/errors.js';

/** Unpacks the context tar into `dir` (created empty); an empty body is an empty context. */
export async function receiveContext(body: Readable, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  // A refused archive destroys its input: give it a stream of its own, so the
  // request (and the connection the answer goes back on) stays alive.
  const input = new PassThrough();
  body.on('error', (err) => input.destroy(err));
  body.pipe(input);
  try {
    await extractArchive(dir, '/', input);
  } catch (err) {
    body.unpipe(input);
    body.resume();
    if (isEmptyBody(err)) return;
    if (isEngineError(err)) throw err;
    throw invalidParameter(`failed to read the build context: ${errorMessage(err)}`);
  }
}

function isEmptyBody(err: unknown): boolean {
  const message = errorMessage(err);
  return /Unexpected end of data|unexpected end/i.test(message) && !/header/i.test(message);
}
