/**
 * docker export: the container's merged filesystem as a tar stream, made
 * in-process (never a host tar running inside a container-controlled tree)
 * and streamed with backpressure.
 */
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

/** Fields left out get tar-stream's defaults. */
type Header = Partial<tar.Header> & { name: string };

function headerFor(name: string, stats: Stats): Header | undefined {
  const base = {
    name,
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    mtime: stats.mtime,
  };
  if (stats.isDirectory()) return { ...base, type: 'directory' };
  if (stats.isFile()) return { ...base, type: 'file', size: stats.size };
  if (stats.isFIFO()) return { ...base, type: 'fifo' };
  if (stats.isCharacterDevice() || stats.isBlockDevice()) {
    return {
      ...base,
      type: stats.isCharacterDevice() ? 'character-device' : 'block-device',
      devmajor: Math.floor(stats.rdev / 256) & 0xfff,
      devminor: (stats.rdev & 0xff) | ((stats.rdev >> 12) & 0xfff00),
    };
  }
  return undefined;
}

/**
 * Writes `root` into `pack` (directories first, hard links as links) and
 * finalizes it. The caller pipes `pack` somewhere; writing waits for it.
 */
export async function packDirectory(root: string, pack: tar.Pack): Promise<void> {
  const inodes = new Map<string, string>();
  const entry = (header: Header): Promise<void> =>
    new Promise((resolve, reject) =>
      pack.entry(header as tar.Header, (err) => (err ? reject(err) : resolve())),
    );

  const walk = async (rel: string): Promise<void> => {
    const names = (await fs.readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      const full = path.join(root, childRel);
      const stats = await fs.lstat(full);
      if (stats.isSymbolicLink()) {
        await entry({
          name: childRel,
          type: 'symlink',
          linkname: await fs.readlink(full),
          mode: 0o777,
          uid: stats.uid,
          gid: stats.gid,
          mtime: stats.mtime,
        });
        continue;
      }
      if (!stats.isDirectory() && stats.nlink > 1) {
        const key = `${stats.dev}:${stats.ino}`;
        const first = inodes.get(key);
        if (first) {
          await entry({
            name: childRel,
            type: 'link',
            linkname: first,
            mode: stats.mode & 0o7777,
            mtime: stats.mtime,
          });
          continue;
        }
        inodes.set(key, childRel);
      }
      const header = headerFor(childRel, stats);
      if (!header) continue;
      if (header.type === 'file') {
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry(header as tar.Header, (err) => (err ? reject(err) : resolve()));
          pipeline(createReadStream(full), sink).catch(reject);
        });
        continue;
      }
      await entry(header);
      if (stats.isDirectory()) await walk(childRel);
    }
  };
  await walk('');
  pack.finalize();
}
