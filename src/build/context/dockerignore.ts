/**
 * .dockerignore with Docker's semantics (moby/patternmatcher and
 * moby/patternmatcher/ignorefile): patterns are cleaned paths relative to the
 * context root; `*` and `?` stop at `/`; `**` spans directories; a pattern
 * that matches a directory excludes everything below it; `!` re-includes;
 * the last matching pattern wins. Walking honours Docker's shortcut: an
 * excluded directory is not entered unless some `!` pattern starts with its
 * path, so `!**\/keep` cannot re-include a file under an excluded directory.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { invalidParameter, isEngineError } from '../../common/errors.js';
import { PathNotFoundError } from '../../archive/errors.js';
import { openInRoot } from '../../archive/resolve.js';
import { badPattern, cleanPath, validateGlob } from './glob.js';

export const DEFAULT_DOCKERIGNORE = '.dockerignore';

/** Reads an ignore file: comments (`#` at column 0) and blank lines dropped, paths cleaned, leading `/` removed. */
export function parseDockerignore(content: string | Uint8Array): string[] {
  let text = typeof content === 'string' ? content : new TextDecoder().decode(content);
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const patterns: string[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? '!' + pattern : pattern);
  }
  return patterns;
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

const REGEXP_ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

class Pattern {
  readonly exclusion: boolean;
  readonly cleaned: string;
  private readonly type: MatchType;
  private readonly regexp?: RegExp;

  constructor(cleaned: string, exclusion: boolean) {
    this.cleaned = cleaned;
    this.exclusion = exclusion;
    const compiled = compile(cleaned);
    this.type = compiled.type;
    this.regexp = compiled.regexp;
  }

  match(file: string): boolean {
    switch (this.type) {
      case 'exact':
        return file === this.cleaned;
      case 'prefix':
        return file.startsWith(this.cleaned.slice(0, -2));
      case 'suffix': {
        const suffix = this.cleaned.slice(2);
        // `**/foo` also matches `foo` at the root.
        return file.endsWith(suffix) || (suffix.startsWith('/') && file === suffix.slice(1));
      }
      case 'regexp':
        return (this.regexp as RegExp).test(file);
    }
  }
}

/** Translates a pattern into an exact/prefix/suffix test or a RegExp, the way patternmatcher does. */
function compile(pattern: string): { type: MatchType; regexp?: RegExp } {
  const chars = Array.from(pattern);
  let source = '^';
  let type: MatchType = 'exact';
  for (let i = 0, pos = 0; pos < chars.length; i++) {
    const ch = chars[pos++];
    if (ch === '*') {
      if (chars[pos] === '*') {
        pos++;
        if (chars[pos] === '/') pos++;
        if (pos >= chars.length) {
          if (type === 'exact') type = 'prefix';
          else {
            source += '.*';
            type = 'regexp';
          }
        } else {
          source += '(.*/)?';
          type = 'regexp';
        }
        if (i === 0) type = 'suffix';
      } else {
        source += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      source += '[^/]';
      type = 'regexp';
    } else if (REGEXP_ESCAPED.has(ch)) {
      source += '\\' + ch;
    } else if (ch === '\\') {
      if (pos < chars.length) {
        const next = chars[pos++];
        source += /[A-Za-z0-9]/.test(next) ? next : '\\' + next;
        type = 'regexp';
      } else {
        source += '\\\\';
      }
    } else if (ch === '[' || ch === ']') {
      source += ch;
      type = 'regexp';
    } else {
      source += ch;
    }
  }
  if (type !== 'regexp') return { type };
  try {
    return { type, regexp: new RegExp(source + '$', 'u') };
  } catch {
    throw badPattern();
  }
}

/** Per-pattern results for a directory, handed to its children while walking. */
export type MatchInfo = readonly boolean[];

export class PatternMatcher {
  private readonly patterns: Pattern[] = [];
  readonly hasExclusions: boolean;

  constructor(patterns: readonly string[]) {
    let exclusions = false;
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw invalidParameter('illegal exclusion pattern: "!"');
        exclusion = true;
        exclusions = true;
        p = p.slice(1);
      }
      validateGlob(p);
      this.patterns.push(new Pattern(p, exclusion));
    }
    this.hasExclusions = exclusions;
  }

  get size(): number {
    return this.patterns.length;
  }

  /**
   * Whether `file` (slash path relative to the context) is excluded: some
   * pattern matches it or one of its parent directories, and no later `!`
   * pattern does (patternmatcher's MatchesOrParentMatches).
   */
  matches(file: string): boolean {
    const clean = cleanPath(file);
    if (clean === '.') return false;
    const parents = parentPrefixes(clean);
    let matched = false;
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      const match = pattern.match(clean) || parents.some((p) => pattern.match(p));
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * The walking variant (MatchesUsingParentResults): `parent` is what this
   * returned for the containing directory, or undefined at the top level.
   */
  matchesWithParent(file: string, parent?: MatchInfo): { excluded: boolean; info: MatchInfo } {
    const clean = cleanPath(file);
    const info: boolean[] = new Array(this.patterns.length).fill(false);
    let matched = false;
    const parents = parent === undefined ? parentPrefixes(clean) : [];
    this.patterns.forEach((pattern, i) => {
      let match = parent?.[i] ?? false;
      if (!match) {
        if (pattern.exclusion !== matched) return;
        match = pattern.match(clean) || parents.some((p) => pattern.match(p));
      }
      info[i] = match;
      if (match) matched = !pattern.exclusion;
    });
    return { excluded: matched, info };
  }

  /** Whether some `!` pattern could re-include something below directory `dir` (Docker's walk shortcut). */
  exclusionUnder(dir: string): boolean {
    const dirSlash = cleanPath(dir) + '/';
    return this.patterns.some((p) => p.exclusion && (p.cleaned + '/').startsWith(dirSlash));
  }
}

function parentPrefixes(clean: string): string[] {
  const parts = clean.split('/');
  const prefixes: string[] = [];
  for (let i = 1; i < parts.length; i++) prefixes.push(parts.slice(0, i).join('/'));
  return prefixes;
}

/**
 * What the context keeps, decided exactly as Docker's context walk decides
 * it, for any path (so a tar can be filtered entry by entry in any order).
 */
export class ContextFilter {
  constructor(readonly matcher: PatternMatcher) {}

  static fromPatterns(patterns: readonly string[]): ContextFilter {
    return new ContextFilter(new PatternMatcher(patterns));
  }

  /** Whether `relPath` (slash path relative to the context root) is part of the context. */
  includes(relPath: string): boolean {
    const clean = cleanPath(relPath.replace(/^\/+/, ''));
    if (clean === '.' || this.matcher.size === 0) return true;
    if (clean === '..' || clean.startsWith('../')) return false;
    const parts = clean.split('/');
    let info: MatchInfo | undefined;
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const result = this.matcher.matchesWithParent(prefix, info);
      if (i === parts.length) return !result.excluded;
      if (result.excluded && !(this.matcher.hasExclusions && this.matcher.exclusionUnder(prefix)))
        return false;
      info = result.info;
    }
    return true;
  }
}

export interface ContextEntry {
  /** Slash path relative to the context root. */
  path: string;
  stats: import('node:fs').Stats;
}

/**
 * Lists what the context holds after .dockerignore, in Docker's walk order
 * (lexical within each directory, parents first). Symlinks are not followed.
 * Excluded directories that are entered (for a `!` pattern below them) are
 * not themselves listed.
 */
export async function walkContext(root: string, filter?: ContextFilter): Promise<ContextEntry[]> {
  const out: ContextEntry[] = [];
  const matcher = filter?.matcher;
  const visit = async (rel: string, parentInfo: MatchInfo | undefined): Promise<void> => {
    const names = (await fs.readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const stats = await fs.lstat(path.join(root, childRel));
      let info: MatchInfo | undefined;
      let excluded = false;
      if (matcher && matcher.size > 0) {
        const result = matcher.matchesWithParent(childRel, parentInfo);
        excluded = result.excluded;
        info = result.info;
      }
      if (excluded) {
        if (!stats.isDirectory() || !matcher?.hasExclusions || !matcher.exclusionUnder(childRel)) continue;
        await visit(childRel, info);
        continue;
      }
      out.push({ path: childRel, stats });
      if (stats.isDirectory()) await visit(childRel, info);
    }
  };
  await visit('', undefined);
  return out;
}

/** Ignore files to try, in order: `<Dockerfile>.dockerignore` beside the Dockerfile, then the context's `.dockerignore`. */
export function dockerignoreCandidates(dockerfilePath?: string): string[] {
  const candidates: string[] = [];
  if (dockerfilePath) candidates.push(`${dockerfilePath}.dockerignore`);
  candidates.push(DEFAULT_DOCKERIGNORE);
  return candidates;
}

export interface LoadedDockerignore {
  /** The file used (absolute), or undefined when there is none. */
  file?: string;
  patterns: string[];
  filter: ContextFilter;
}

/** Reads a candidate; one inside the context is resolved within it, so a symlink cannot reach host files. */
async function readIgnoreFile(contextDir: string, candidate: string): Promise<Buffer | undefined> {
  try {
    if (path.isAbsolute(candidate)) return await fs.readFile(candidate);
    const resolved = await openInRoot(contextDir, candidate, { followFinalSymlink: true });
    try {
      if (!resolved.exists) return undefined;
      return await fs.readFile(resolved.procPath());
    } finally {
      await resolved.close();
    }
  } catch (err) {
    if (err instanceof PathNotFoundError) return undefined;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    if (isEngineError(err, 'InvalidParameter')) return undefined;
    throw err;
  }
}

/**
 * Finds and reads the ignore file for a build: the Dockerfile-specific one
 * (`<Dockerfile>.dockerignore`, the Dockerfile path taken relative to the
 * context unless absolute) wins over the context's `.dockerignore`.
 */
export async function loadDockerignore(
  contextDir: string,
  dockerfilePath?: string,
): Promise<LoadedDockerignore> {
  for (const candidate of dockerignoreCandidates(dockerfilePath)) {
    const file = path.isAbsolute(candidate) ? candidate : path.join(contextDir, candidate);
    const content = await readIgnoreFile(contextDir, candidate);
    if (content === undefined) continue;
    const patterns = parseDockerignore(content);
    return { file, patterns, filter: ContextFilter.fromPatterns(patterns) };
  }
  return { patterns: [], filter: ContextFilter.fromPatterns([]) };
}
