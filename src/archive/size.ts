import { closeFd, fstatFd, lstatAtIfExists, openDirAt, openTrustedDir, readdirFd } from './fdops.js';

/**
 * Disk usage of a tree as Docker's directory.Size counts it: the sizes of
 * everything but directories, each hard-linked inode once. Walked fd by fd
 * without following symlinks, so a container-controlled tree cannot point
 * the walk elsewhere; other filesystems mounted inside are not entered.
 */
export async function treeSize(hostDir: string): Promise<number> {
  const fd = await openTrustedDir(hostDir);
  const seen = new Set<string>();
  try {
    const st = await fstatFd(fd);
    return await dirSize(fd, st.dev, seen);
  } finally {
    await closeFd(fd);
  }
}

async function dirSize(dirFd: number, dev: bigint, seen: Set<string>): Promise<number> {
  let total = 0;
  for (const name of await readdirFd(dirFd)) {
    const st = await lstatAtIfExists(dirFd, name);
    if (!st) continue;
    if (st.isDirectory()) {
      if (st.dev !== dev) continue;
      let child: number;
      try {
        child = await openDirAt(dirFd, name);
      } catch {
        continue; // replaced while we looked
      }
      try {
        total += await dirSize(child, dev, seen);
      } finally {
        await closeFd(child);
      }
      continue;
    }
    if (st.size === 0n) continue;
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    total += Number(st.size);
  }
  return total;
}
