/**
 * Cache keys for COPY/ADD sources: which context paths a source names
 * (Docker's glob rules, symlinks resolved inside the context) and a content
 * digest over them that covers what the copy would reproduce: names, file
 * types, permission bits, owners, sizes, symlink targets and file contents.
 * Modification times are left out, so a key is stable across runs and across
 * re-extractions of the same context.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { notFound } from '../../common/errors.js';
import { PathNotFoundError } from '../../archive/errors.js';
import { openInRoot } from '../../archive/resolve.js';
import { ContextFilter, PatternMatcher } from './dockerignore.js';
import { cleanPath, containsWildcards, globMatch } from './glob.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface SourceMatch {
  /** The source as written in the Dockerfile. */
  source: string;
  /** The matched path relative to the context root, symlinks resolved ('' is the root itself). */
  path: string;
  type: EntryType;
}

export interface SourcesDigest {
  /** `sha256:<hex>` over all sources, in order. */
  digest: string;
  /** One digest per source, same order as given. */
  perSource: string[];
  matches: SourceMatch[];
}

export interface DigestOptions {
  /**
   * COPY --exclude patterns: matched against each matched item's name and,
   * inside a matched directory, against paths relative to that directory.
   */
  excludes?: readonly string[];
  /** Follow a symlink that a source names directly (Docker does); links inside directories are never followed. */
  followSymlinks?: boolean;
}

export interface DigesterOptions {
  /** .dockerignore rules, when the directory still holds excluded files. */
  filter?: ContextFilter;
  /** Files hashed at once. */
  concurrency?: number;
}

const TYPE_CODES: Record<EntryType, string> = {
  file: '0',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  socket: 's',
};

function entryType(stats: BigIntStats): EntryType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  if (stats.isFIFO()) return 'fifo';
  return 'socket';
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const join = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);

/** Docker's classic wording for a source that is not in the context. */
export function sourceNotFound(source: string): Error {
  return notFound(
    `file not found in build context or excluded by .dockerignore: stat ${source}: file does not exist`,
  );
}

/**
 * Digests sources of one context directory. File contents are hashed once per
 * (inode, size, mtime, ctime) for the digester's lifetime, so reuse one
 * digester for all the COPY/ADD steps of a build.
 */
export class ContextDigester {
  private readonly contentHashes = new Map<string, Promise<string>>();
  private readonly filter?: ContextFilter;
  private readonly concurrency: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly root: string,
    options: DigesterOptions = {},
  ) {
    this.filter = options.filter;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
  }

  /** The context paths a COPY/ADD source names, in Docker's order; throws Docker's errors when none. */
  async resolve(source: string, followSymlinks = true): Promise<SourceMatch[]> {
    const relative = cleanPath('/' + source).slice(1);
    if (!containsWildcards(relative)) {
      const match = await this.resolveLiteral(relative, followSymlinks);
      if (!match || !this.included(match.path)) throw sourceNotFound(source);
      return [{ source, ...match }];
    }
    const components = relative.split('/');
    const firstWild = components.findIndex(containsWildcards);
    const base = await this.resolveLiteral(components.slice(0, firstWild).join('/'), true);
    if (!base || base.type !== 'dir') throw notFound('no source files were specified');
    let candidates = [base.path];
    for (let level = firstWild; level < components.length; level++) {
      const last = level === components.length - 1;
      const next: string[] = [];
      for (const dir of candidates) {
        for (const name of (await fs.readdir(path.join(this.root, dir))).sort(byName)) {
          if (!globMatch(components[level], name) || !this.included(join(dir, name))) continue;
          if (last) next.push(join(dir, name));
          else {
            const resolved = await this.resolveLiteral(join(dir, name), true);
            if (resolved?.type === 'dir') next.push(resolved.path);
          }
        }
      }
      candidates = next;
    }
    if (candidates.length === 0) throw notFound('no source files were specified');
    const matches: SourceMatch[] = [];
    for (const candidate of candidates) {
      const resolved = await this.resolveLiteral(candidate, followSymlinks);
      if (resolved) matches.push({ source, ...resolved });
    }
    return matches;
  }

  /** Digests the sources of one COPY/ADD (as written, after variable expansion). */
  async digest(sources: readonly string[], options: DigestOptions = {}): Promise<SourcesDigest> {
    const excludes =
      options.excludes && options.excludes.length > 0 ? new PatternMatcher(options.excludes) : undefined;
    const perSource: string[] = [];
    const matches: SourceMatch[] = [];
    for (const source of sources) {
      const found = await this.resolve(source, options.followSymlinks ?? true);
      const hash = createHash('sha256');
      hash.update(`source\0${source}\n`);
      for (const match of found) {
        if (excludes?.matches(path.posix.basename(match.path))) continue;
        matches.push(match);
        for (const record of await this.records(match, excludes)) hash.update(record);
      }
      perSource.push('sha256:' + hash.digest('hex'));
    }
    const total = createHash('sha256');
    for (const digest of perSource) total.update(digest + '\n');
    return { digest: 'sha256:' + total.digest('hex'), perSource, matches };
  }

  private included(relPath: string): boolean {
    return this.filter === undefined || relPath === '' || this.filter.includes(relPath);
  }

  private enters(relDir: string): boolean {
    if (this.included(relDir)) return true;
    const matcher = (this.filter as ContextFilter).matcher;
    return matcher.hasExclusions && matcher.exclusionUnder(relDir);
  }

  /** Resolves a context-relative path inside the context; undefined when it does not exist. */
  private async resolveLiteral(
    relative: string,
    followFinal: boolean,
  ): Promise<{ path: string; type: EntryType } | undefined> {
    if (relative === '' || relative === '.') return { path: '', type: 'dir' };
    let resolved;
    try {
      resolved = await openInRoot(this.root, relative, { followFinalSymlink: followFinal });
    } catch (err) {
      if (err instanceof PathNotFoundError) return undefined;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    try {
      if (!resolved.exists) return undefined;
      const stats = await resolved.lstat();
      return { path: resolved.containerPath.replace(/^\/+/, ''), type: entryType(stats) };
    } finally {
      await resolved.close();
    }
  }

  /** The hashed records of one match: the item itself, then (for a directory) everything below it. */
  private async records(match: SourceMatch, excludes: PatternMatcher | undefined): Promise<string[]> {
    const pending: Promise<string>[] = [];
    const walk = async (rel: string, inside: string | undefined): Promise<void> => {
      const abs = path.join(this.root, rel);
      const stats = await fs.lstat(abs, { bigint: true });
      if (this.included(rel)) pending.push(this.record(rel, abs, stats));
      if (!stats.isDirectory() || !this.enters(rel)) return;
      for (const name of (await fs.readdir(abs)).sort(byName)) {
        const childInside = inside === undefined ? name : `${inside}/${name}`;
        if (excludes?.matches(childInside)) continue;
        await walk(join(rel, name), childInside);
      }
    };
    await walk(match.path, undefined);
    return Promise.all(pending);
  }

  private async record(rel: string, abs: string, stats: BigIntStats): Promise<string> {
    const type = entryType(stats);
    const mode = (Number(stats.mode) & 0o7777).toString(8);
    const size = type === 'file' ? stats.size.toString() : '0';
    const link = type === 'symlink' ? await fs.readlink(abs) : '';
    const device = type === 'char' || type === 'block' ? stats.rdev.toString() : '';
    const content = type === 'file' ? await this.contentHash(abs, stats) : '';
    return [rel, TYPE_CODES[type], mode, stats.uid, stats.gid, size, link, device, content].join('\0') + '\n';
  }

  private contentHash(abs: string, stats: BigIntStats): Promise<string> {
    const key = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
    let hash = this.contentHashes.get(key);
    if (!hash) {
      hash = this.limited(() => hashFile(abs));
      this.contentHashes.set(key, hash);
      hash.catch(() => this.contentHashes.delete(key));
    }
    return hash;
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}
