/**
 * A log's files: the current one and its rotated generations
 * (`<path>.1` newest … `<path>.N` oldest, each possibly gzip-compressed as
 * `.N.gz`), opened as random-access sources. Compressed generations are
 * inflated in memory: they are bounded by max-size.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);
const readAsync = promisify(fs.read);
const fstatAsync = promisify(fs.fstat);

/** Random access to one log file's bytes. */
export interface Source {
  /** Size when last refreshed (the current file grows). */
  size: number;
  read(position: number, length: number): Promise<Buffer>;
  /** Re-reads the size of a growing file. */
  refresh(): Promise<number>;
  close(): void;
}

export class FdSource implements Source {
  size = 0;
  private closed = false;

  constructor(readonly fd: number) {}

  static openSync(file: string): FdSource {
    const source = new FdSource(fs.openSync(file, fs.constants.O_RDONLY));
    source.size = fs.fstatSync(source.fd).size;
    return source;
  }

  async read(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await readAsync(this.fd, buf, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  async refresh(): Promise<number> {
    if (!this.closed) this.size = (await fstatAsync(this.fd)).size;
    return this.size;
  }

  /** The inode, to tell whether the path still names this file. */
  inode(): number {
    return fs.fstatSync(this.fd).ino;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.close(this.fd, () => undefined);
  }
}

export class BufferSource implements Source {
  constructor(private readonly data: Buffer) {}

  get size(): number {
    return this.data.length;
  }

  async read(position: number, length: number): Promise<Buffer> {
    return this.data.subarray(position, Math.min(position + length, this.data.length));
  }

  async refresh(): Promise<number> {
    return this.data.length;
  }

  close(): void {}
}

export interface Generation {
  /** 0 for the current file, N for `<path>.N`. */
  index: number;
  file: string;
  compressed: boolean;
}

export function generationPath(logPath: string, index: number, compressed = false): string {
  if (index === 0) return logPath;
  return `${logPath}.${index}${compressed ? '.gz' : ''}`;
}

/** The log's files, oldest first, the current one last (only files that exist). */
export async function listGenerations(logPath: string): Promise<Generation[]> {
  const dir = path.dirname(logPath);
  const base = path.basename(logPath);
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const byIndex = new Map<number, Generation>();
  let current: Generation | undefined;
  for (const name of names) {
    if (name === base) {
      current = { index: 0, file: logPath, compressed: false };
      continue;
    }
    if (!name.startsWith(base + '.')) continue;
    const match = /^(\d+)(\.gz)?$/.exec(name.slice(base.length + 1));
    if (!match) continue;
    const index = Number(match[1]);
    const compressed = match[2] !== undefined;
    // While a generation is being compressed both files exist; the plain one is complete.
    if (byIndex.has(index) && compressed) continue;
    byIndex.set(index, { index, file: path.join(dir, name), compressed });
  }
  const rotated = [...byIndex.values()].sort((a, b) => b.index - a.index);
  return current ? [...rotated, current] : rotated;
}

/** Opens a generation; undefined when it went away meanwhile (rotated or compressed). */
export async function openGeneration(generation: Generation): Promise<Source | undefined> {
  try {
    if (!generation.compressed) return FdSource.openSync(generation.file);
    return new BufferSource(await gunzipAsync(await fs.promises.readFile(generation.file)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Opens every generation at once, so rotation while reading does not move files under the reader. */
export async function openAll(logPath: string): Promise<Source[]> {
  for (let attempt = 0; ; attempt++) {
    const generations = await listGenerations(logPath);
    const sources: (Source | undefined)[] = [];
    for (const generation of generations) sources.push(await openGeneration(generation));
    if (sources.every((s) => s !== undefined) || attempt >= 3) {
      return sources.filter((s): s is Source => s !== undefined);
    }
    for (const source of sources) source?.close();
  }
}
