/** Fixtures for archive and volume tests: hand-made tars, tree snapshots, a symlink-swapping adversary. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar, { type Header } from 'tar-stream';

export type TarEntry = Partial<Header> & { name: string; body?: string | Buffer };

/** A tar built with tar-stream (independent of berth's own encoder), optionally gzipped. */
export async function makeTar(entries: TarEntry[], options: { gzip?: boolean } = {}): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) {
    if (body !== undefined) pack.entry(header, body);
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  const data = Buffer.concat(chunks);
  return options.gzip ? gzipSync(data) : data;
}

export function tarStream(data: Buffer): Readable {
  return Readable.from([data]);
}

export interface ListedEntry {
  header: Header;
  body: Buffer;
}

/** Parses a tar stream with tar-stream. */
export async function listTar(stream: Readable | Buffer): Promise<ListedEntry[]> {
  const extract = tar.extract();
  const source = Buffer.isBuffer(stream) ? Readable.from([stream]) : stream;
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract as unknown as NodeJS.WritableStream);
  const entries: ListedEntry[] = [];
  for await (const entry of extract as AsyncIterable<AsyncIterable<Buffer> & { header: Header }>) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(Buffer.from(chunk));
    entries.push({ header: entry.header, body: Buffer.concat(chunks) });
  }
  return entries;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Every path under `dir` with its type, mode, owner, size and content/link target: to prove a tree untouched. */
export function snapshotTree(dir: string, skip: (p: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string): void => {
    if (skip(p)) return;
    const st = lstatSync(p);
    let detail = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size}`;
    if (st.isSymbolicLink()) detail += ` -> ${readlinkSync(p)}`;
    else if (st.isFile()) detail += ` ${readFileSync(p).toString('base64')}`;
    out.set(path.relative(dir, p) || '.', detail);
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
  return out;
}

/**
 * A separate process that keeps swapping `dir` (a real directory, kept as
 * `<dir>.real`) with a symlink to `linkTarget` as fast as it can, to race
 * any resolution that goes through it. Stop it with stop().
 */
export function startSwapper(
  dir: string,
  linkTarget: string,
): { process: ChildProcess; stop: () => Promise<void> } {
  const script = `
    const fs = require('fs');
    const dir = ${JSON.stringify(dir)}, real = dir + '.real', alt = dir + '.link';
    try { fs.symlinkSync(${JSON.stringify(linkTarget)}, alt); } catch {}
    for (;;) {
      try { fs.renameSync(dir, real); } catch {}
      try { fs.renameSync(alt, dir); } catch {}
      try { fs.renameSync(dir, alt); } catch {}
      try { fs.renameSync(real, dir); } catch {}
    }`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      // Put the real directory back wherever the race left it.
      const real = `${dir}.real`;
      if (existsSync(real)) {
        // The race may have left a symlink, nothing, or a directory made meanwhile in its place.
        rmSync(dir, { force: true, recursive: true });
        renameSync(real, dir);
      }
      rmSync(`${dir}.link`, { force: true });
    },
  };
}
