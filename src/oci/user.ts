/**
 * Resolving a container's `User` against the image's /etc/passwd and
 * /etc/group, read from the container's root filesystem without ever leaving
 * it (symlinks in the rootfs are resolved as if the rootfs were `/`).
 */
import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import path from 'node:path';
import { invalidParameter } from '../common/errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The primary gid first, then supplementary groups, then GroupAdd. */
  additionalGids: number[];
  /** From passwd; `/` when the user has no entry. */
  home: string;
}

const MAX_ID = 2147483647;
const MAX_SYMLINKS = 255;
const MAX_DB_BYTES = 16 * 1024 * 1024;

/**
 * The host path that `unsafePath` names inside `root`, resolving each symlink
 * on the way relative to `root`: absolute targets restart at `root`, and `..`
 * never climbs above it. Components that do not exist are joined as they are.
 */
export async function resolvePathInRoot(root: string, unsafePath: string): Promise<string> {
  const resolved: string[] = [];
  const pending = unsafePath.split('/');
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code !== 'ENOENT' &&
        (err as NodeJS.ErrnoException).code !== 'ENOTDIR'
      )
        throw err;
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINKS)
      throw invalidParameter(`too many levels of symbolic links resolving ${unsafePath}`);
    const target = await readlink(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/'));
  }
  return path.join(root, ...resolved);
}

/**
 * Reads a small regular file inside `root`; null when it is absent or not a
 * regular file (never blocks on a FIFO, never follows a final symlink).
 */
async function readFileInRoot(root: string, file: string): Promise<string | null> {
  const hostPath = await resolvePathInRoot(root, file);
  let handle;
  try {
    handle = await open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return null;
    if (info.size > MAX_DB_BYTES)
      throw invalidParameter(`${file} in the container is too large (${info.size} bytes)`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** A numeric field as libc-style parsers read it: garbage reads as 0. */
const idField = (text: string | undefined): number => {
  const value = Number.parseInt(text ?? '', 10);
  return Number.isFinite(value) ? value : 0;
};

const dbLines = (text: string | null): string[][] =>
  (text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => line.split(':'));

export function parsePasswd(text: string | null): PasswdEntry[] {
  return dbLines(text).map((f) => ({ name: f[0], uid: idField(f[2]), gid: idField(f[3]), home: f[5] ?? '' }));
}

export function parseGroup(text: string | null): GroupEntry[] {
  return dbLines(text).map((f) => ({
    name: f[0],
    gid: idField(f[2]),
    members: (f[3] ?? '').split(',').filter((m) => m.length > 0),
  }));
}

const numericId = (text: string): number | null => (/^\d+$/.test(text) ? Number(text) : null);

function checkRange(id: number): number {
  if (id > MAX_ID) throw invalidParameter(`uids and gids must be in range 0-${MAX_ID}`);
  return id;
}

/**
 * Resolves `userSpec` (`user`, `uid`, `user:group`, `uid:gid`, or empty for
 * root) and `groupAdd` (names or gids) the way runc and Docker do:
 * - a numeric user without a passwd entry is used as is, with gid 0;
 * - a named user without an entry is an error;
 * - without an explicit group, the user's passwd gid applies and the groups
 *   listing the user by name become supplementary groups.
 */
export async function resolveUser(
  rootfsDir: string,
  userSpec: string | undefined,
  groupAdd?: readonly string[] | null,
): Promise<ResolvedUser> {
  const [userArg = '', groupArg = ''] = (userSpec ?? '').split(':');
  const passwd = parsePasswd(await readFileInRoot(rootfsDir, '/etc/passwd'));
  const needGroups = groupArg !== '' || (groupAdd?.length ?? 0) > 0 || passwd.length > 0;
  const groups = needGroups ? parseGroup(await readFileInRoot(rootfsDir, '/etc/group')) : [];

  const uidArg = numericId(userArg);
  const wanted = userArg === '' ? 0 : uidArg;
  const entry = passwd.find((p) => (wanted !== null ? p.uid === wanted : p.name === userArg));
  let uid: number;
  let gid = 0;
  let home = '/';
  if (entry) {
    ({ uid, gid } = entry);
    home = entry.home || '/';
  } else if (wanted !== null) {
    uid = checkRange(wanted);
  } else {
    throw invalidParameter(`unable to find user ${userArg}: no matching entries in passwd file`);
  }

  const supplementary: number[] = [];
  if (groupArg !== '') {
    const gidArg = numericId(groupArg);
    const group = groups.find((g) => (gidArg !== null ? g.gid === gidArg : g.name === groupArg));
    if (group) gid = group.gid;
    else if (gidArg !== null) gid = checkRange(gidArg);
    else throw invalidParameter(`unable to find group ${groupArg}: no matching entries in group file`);
  } else if (entry) {
    for (const group of groups) if (group.members.includes(entry.name)) supplementary.push(group.gid);
  }

  const added = (groupAdd ?? []).map((name) => {
    const group = groups.find((g) => g.name === name || String(g.gid) === name);
    if (group) return group.gid;
    const gidArg = numericId(name);
    if (gidArg === null)
      throw invalidParameter(`Unable to find group ${name}: no matching entries in group file`);
    return checkRange(gidArg);
  });

  return { uid, gid, additionalGids: [...new Set([gid, ...supplementary, ...added])], home };
}
