/**
 * The build context as the docker CLI sends it: the directory's files
 * after .dockerignore (the Dockerfile and the ignore file always kept), as
 * a tar with paths relative to the context root; a Dockerfile outside the
 * context travels inside the tar under a random name.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { ContextFilter, loadDockerignore, walkContext } from '../../../build/context/dockerignore.js';
import { CliError } from '../../context.js';

export interface PreparedContext {
  stream: Readable;
  /** The `dockerfile` parameter: its path inside the context. */
  dockerfile: string;
}

/** Resolves `-f` against the context: inside it a relative path, else a file to embed. */
export async function locateDockerfile(
  contextDir: string,
  file: string | undefined,
): Promise<{ inside?: string; outside?: string }> {
  if (file === '-') return { outside: '-' };
  const candidate = file ? path.resolve(file) : path.join(contextDir, 'Dockerfile');
  let exists = await fs.stat(candidate).then(
    (s) => s.isFile(),
    () => false,
  );
  let chosen = candidate;
  if (!exists && !file) {
    chosen = path.join(contextDir, 'dockerfile');
    exists = await fs.stat(chosen).then(
      (s) => s.isFile(),
      () => false,
    );
  }
  if (!exists) {
    throw new CliError(
      `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${candidate}: no such file or directory`,
    );
  }
  const relative = path.relative(contextDir, chosen);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return { outside: chosen };
  return { inside: relative.split(path.sep).join('/') };
}

/** Creates the context tar of `contextDir` for a Dockerfile located by locateDockerfile. */
export async function contextTar(
  contextDir: string,
  dockerfile: { inside?: string; outside?: string; content?: Buffer },
): Promise<PreparedContext> {
  const st = await fs.stat(contextDir).catch(() => undefined);
  if (!st?.isDirectory()) throw new CliError(`unable to prepare context: path "${contextDir}" not found`);
  const ignore = await loadDockerignore(contextDir, dockerfile.inside);
  // Like the docker CLI: the Dockerfile and .dockerignore are sent even when ignored.
  const keep = [...ignore.patterns];
  if (keep.length > 0) {
    if (dockerfile.inside) keep.push(`!${dockerfile.inside}`);
    keep.push('!.dockerignore');
  }
  const filter = ContextFilter.fromPatterns(keep);
  const entries = await walkContext(contextDir, filter);
  const pack = tar.pack();
  let name = dockerfile.inside ?? 'Dockerfile';
  const embedded =
    dockerfile.content ?? (dockerfile.outside ? await fs.readFile(dockerfile.outside) : undefined);
  if (embedded) name = `.dockerfile.${randomBytes(10).toString('hex')}`;
  void (async () => {
    try {
      for (const entry of entries) await addEntry(pack, contextDir, entry.path, entry.stats);
      if (embedded) {
        await entryDone(pack, { name, size: embedded.length, mode: 0o644, mtime: new Date() }, embedded);
      }
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return { stream: pack as unknown as Readable, dockerfile: name };
}

function entryDone(
  pack: tar.Pack,
  header: Partial<tar.Header> & { name: string },
  data?: Buffer,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (data) pack.entry(header, data, done);
    else pack.entry(header, done);
  });
}

async function addEntry(pack: tar.Pack, root: string, rel: string, st: Stats): Promise<void> {
  const base: Partial<tar.Header> & { name: string } = {
    name: rel,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: st.mtime,
  };
  const abs = path.join(root, rel);
  if (st.isDirectory()) return entryDone(pack, { ...base, name: `${rel}/`, type: 'directory' });
  if (st.isSymbolicLink())
    return entryDone(pack, { ...base, type: 'symlink', linkname: await fs.readlink(abs) });
  if (!st.isFile()) return; // sockets, FIFOs and devices are not part of a context
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ ...base, type: 'file', size: st.size }, (err) =>
      err ? reject(err) : resolve(),
    );
    const source = createReadStream(abs);
    source.on('error', reject);
    source.pipe(sink);
  });
}
