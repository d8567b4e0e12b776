/**
 * `berth cp`: files between a container and the host through the archive
 * endpoints, with docker's rules for destinations (an existing directory
 * receives the source by name, a missing path takes the source's place, a
 * trailing `/.` copies a directory's contents, `-` is a tar stream on
 * stdin or stdout). Local archives are made and extracted in-process with
 * the same in-root resolution the daemon uses.
 */
import { Command } from 'commander';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import {
  archivePath,
  decodePathStat,
  extractArchive,
  GO_MODE,
  PATH_STAT_HEADER,
  type PathStat,
} from '../../../archive/index.js';
import { readAll } from '../../client/api-client.js';
import { CliError, type CliContext } from '../../context.js';
import { humanSize } from '../../format/units.js';

interface CpFlags {
  archive?: boolean;
  followLink?: boolean;
  quiet?: boolean;
}

/** What one side of a copy is: a path, whether it exists and is a directory, and a name to give it. */
interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  rebaseName?: string;
}

/** `CONTAINER:PATH` or a local path (anything starting with `/` or `.` is local, colons or not). */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon <= 0) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

const specifiesCurrentDir = (p: string): boolean => p === '.' || p.endsWith('/.');
const assertsDirectory = (p: string): boolean => p.endsWith('/') || specifiesCurrentDir(p);

/** docker's SplitPathDirEntry: "a/b/." is ("a/b", "."), "a/b/" is ("a", "b"). */
export function splitPathDirEntry(p: string): { dir: string; base: string } {
  let cleaned = path.posix.normalize(p);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (specifiesCurrentDir(p)) cleaned = cleaned === '.' ? './.' : `${cleaned}/.`;
  return { dir: path.posix.dirname(cleaned), base: cleaned === '/' ? '/' : path.posix.basename(cleaned) };
}

/**
 * docker's PrepareArchiveCopy: the directory to extract into and the
 * renaming of the archive's top entry that makes the copy land where the
 * destination says.
 */
export function prepareArchiveCopy(
  src: CopyInfo,
  dst: CopyInfo,
): { dstDir: string; rebase?: { from: string; to: string } } {
  const { dir: dstDir, base: dstBase } = splitPathDirEntry(dst.path);
  const srcBase = src.rebaseName || splitPathDirEntry(src.path).base;
  if (dst.exists && dst.isDir) return { dstDir: dst.path };
  if (dst.exists && src.isDir) throw new CliError('cannot copy a directory to a file');
  if (dst.exists || src.isDir) return { dstDir, rebase: { from: srcBase, to: dstBase } };
  if (assertsDirectory(dst.path)) throw new CliError('no such directory');
  return { dstDir, rebase: { from: srcBase, to: dstBase } };
}

/** Renames a tar's entries under `from` to `to` (docker's RebaseArchiveEntries). */
export function rebaseArchive(input: Readable, from: string, to: string): Readable {
  const rename = (name: string): string => {
    if (name === from || name === `${from}/`) return name.replace(from, to);
    if (name.startsWith(`${from}/`)) return to + name.slice(from.length);
    return name;
  };
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, stream, next) => {
    header.name = rename(header.name);
    if (header.type === 'link' && header.linkname) header.linkname = rename(header.linkname);
    stream.pipe(pack.entry(header, next) as NodeJS.WritableStream);
  });
  extract.on('finish', () => pack.finalize());
  extract.on('error', (err) => pack.destroy(err));
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  const out = new PassThrough();
  pack.on('error', (err) => out.destroy(err));
  pack.pipe(out);
  return out;
}

const isDirMode = (stat: PathStat): boolean => (stat.mode & GO_MODE.dir) !== 0;
const isLinkMode = (stat: PathStat): boolean => (stat.mode & GO_MODE.symlink) !== 0;

/** The path's stat in the container, or undefined when it does not exist. */
async function statContainerPath(
  ctx: CliContext,
  container: string,
  p: string,
): Promise<PathStat | undefined> {
  const res = await ctx
    .client()
    .raw('HEAD', `/containers/${encodeURIComponent(container)}/archive`, { query: { path: p } });
  res.body.resume();
  if (res.status === 404) {
    // A missing container also answers 404: tell the two apart as docker does.
    await ctx
      .client()
      .request('GET', `/containers/${encodeURIComponent(container)}/json`)
      .then((r) => r.body.resume());
    return undefined;
  }
  if (res.status >= 400)
    throw new CliError(`Error response from daemon: ${res.status} stat ${container}:${p}`);
  const header = res.headers[PATH_STAT_HEADER.toLowerCase()];
  if (typeof header !== 'string') throw new CliError('the daemon sent no path stat');
  return decodePathStat(header);
}

/** A local path's facts (following a final symlink when asked). */
async function localInfo(p: string, follow: boolean): Promise<CopyInfo & { linkTarget?: string }> {
  try {
    const st = await fs.lstat(p);
    if (st.isSymbolicLink() && follow) {
      const target = await fs.realpath(p);
      const targetStat = await fs.stat(target);
      return { path: target, exists: true, isDir: targetStat.isDirectory(), linkTarget: target };
    }
    return { path: p, exists: true, isDir: st.isDirectory() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path: p, exists: false, isDir: false };
    throw err;
  }
}

function progress(ctx: CliContext, flags: CpFlags, bytes: number, where: string): void {
  const err = ctx.err as NodeJS.WriteStream;
  if (flags.quiet || !err.isTTY) return;
  err.write(`Successfully copied ${humanSize(bytes)} to ${where}\n`);
}

function counted(stream: Readable, counter: { bytes: number }): Readable {
  stream.on('data', (chunk: Buffer) => (counter.bytes += chunk.length));
  return stream;
}

async function copyFromContainer(
  ctx: CliContext,
  container: string,
  srcPath: string,
  dstPath: string,
  flags: CpFlags,
): Promise<void> {
  let source = srcPath;
  let rebaseName: string | undefined;
  if (flags.followLink) {
    const stat = await statContainerPath(ctx, container, srcPath);
    if (stat && isLinkMode(stat) && stat.linkTarget) {
      source = stat.linkTarget;
      rebaseName = splitPathDirEntry(srcPath).base;
    }
  }
  const res = await ctx
    .client()
    .request('GET', `/containers/${encodeURIComponent(container)}/archive`, { query: { path: source } });
  const header = res.headers[PATH_STAT_HEADER.toLowerCase()];
  const stat = typeof header === 'string' ? decodePathStat(header) : undefined;
  const counter = { bytes: 0 };
  if (dstPath === '-') {
    await pipeline(counted(res.body, counter), ctx.out);
    return;
  }
  const dst = await localInfo(dstPath, true);
  if (!dst.exists) {
    const parent = path.dirname(path.resolve(dstPath));
    const parentInfo = await localInfo(parent, true);
    if (!parentInfo.exists) {
      res.body.resume();
      throw new CliError(`lstat ${parent}: no such file or directory`);
    }
  } else if (!dst.isDir && assertsDirectory(dstPath)) {
    res.body.resume();
    throw new CliError(`destination "${dstPath}" must be a directory`);
  }
  const src: CopyInfo = { path: source, exists: true, isDir: stat ? isDirMode(stat) : false, rebaseName };
  let plan: ReturnType<typeof prepareArchiveCopy>;
  try {
    plan = prepareArchiveCopy(src, { ...dst, path: dst.exists && dst.isDir ? dst.path : dstPath });
  } catch (err) {
    res.body.resume();
    throw err;
  }
  const body = counted(res.body, counter);
  const archive = plan.rebase ? rebaseArchive(body, plan.rebase.from, plan.rebase.to) : body;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  await extractArchive('/', path.resolve(plan.dstDir), archive, {
    noOverwriteDirNonDir: true,
    owner: { uid, gid },
  });
  progress(ctx, flags, counter.bytes, dstPath);
}

async function copyToContainer(
  ctx: CliContext,
  srcPath: string,
  container: string,
  dstPath: string,
  flags: CpFlags,
): Promise<void> {
  const put = (dir: string, stream: Readable): Promise<unknown> =>
    ctx
      .client()
      .request('PUT', `/containers/${encodeURIComponent(container)}/archive`, {
        query: { path: dir, noOverwriteDirNonDir: true, copyUIDGID: flags.archive === true },
        stream,
        headers: { 'Content-Type': 'application/x-tar' },
      })
      .then((res) => readAll(res.body));
  let dstStat = await statContainerPath(ctx, container, dstPath);
  let dstTarget = dstPath;
  if (dstStat && isLinkMode(dstStat) && dstStat.linkTarget) {
    // A symlink destination is followed (inside the container).
    dstTarget = dstStat.linkTarget;
    dstStat = await statContainerPath(ctx, container, dstTarget);
  }
  if (srcPath === '-') {
    if (!dstStat || !isDirMode(dstStat))
      throw new CliError(`destination "${container}:${dstPath}" must be a directory`);
    await put(dstTarget, process.stdin);
    return;
  }
  const src = await localInfo(srcPath, flags.followLink === true);
  if (!src.exists) throw new CliError(`lstat ${path.resolve(srcPath)}: no such file or directory`);
  const localPath = src.linkTarget ?? path.resolve(srcPath);
  const archiveSource = specifiesCurrentDir(srcPath) && !src.linkTarget ? `${localPath}/.` : localPath;
  const { stream } = await archivePath('/', archiveSource);
  const plan = prepareArchiveCopy(
    {
      path: archiveSource,
      exists: true,
      isDir: src.isDir,
      rebaseName: src.linkTarget ? splitPathDirEntry(srcPath).base : undefined,
    },
    {
      path: dstStat && isDirMode(dstStat) ? dstTarget : dstTarget,
      exists: dstStat !== undefined,
      isDir: dstStat !== undefined && isDirMode(dstStat),
    },
  );
  const counter = { bytes: 0 };
  const body = counted(stream, counter);
  const archive = plan.rebase ? rebaseArchive(body, plan.rebase.from, plan.rebase.to) : body;
  await put(plan.dstDir, archive);
  progress(ctx, flags, counter.bytes, `${container}:${dstPath}`);
}

export function cpCommand(ctx: CliContext): Command {
  return new Command('cp')
    .description('Copy files/folders between a container and the local filesystem')
    .usage('[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH')
    .argument('<source>')
    .argument('<destination>')
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    .option('-q, --quiet', 'Suppress progress output during copy')
    .action(async (source: string, destination: string, flags: CpFlags) => {
      const src = splitCpArg(source);
      const dst = splitCpArg(destination);
      if (src.container !== undefined && dst.container !== undefined)
        throw new CliError('copying between containers is not supported');
      if (src.container === undefined && dst.container === undefined)
        throw new CliError('must specify at least one container source');
      if (src.container !== undefined) {
        if (src.path === '') throw new CliError('source can not be empty');
        await copyFromContainer(ctx, src.container, src.path, dst.path, flags);
      } else {
        if (dst.path === '') throw new CliError('destination can not be empty');
        await copyToContainer(ctx, src.path, dst.container!, dst.path, flags);
      }
    });
}
