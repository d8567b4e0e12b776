/**
 * Go's path/filepath.Match for slash paths: `*` (any run of non-`/`), `?`
 * (one non-`/` character), `[...]` classes with ranges and `^` negation, and
 * `\` escapes. Docker uses it for COPY/ADD sources and to validate
 * .dockerignore patterns.
 */
import { invalidParameter, type EngineError } from '../../common/errors.js';

export const badPattern = (): EngineError => invalidParameter('syntax error in pattern');

type Token =
  | { kind: 'star' }
  | { kind: 'any' }
  | { kind: 'literal'; ch: string }
  | { kind: 'class'; negated: boolean; ranges: [string, string][] };

/** Tokenises a pattern, throwing Docker's "syntax error in pattern" for malformed ones. */
function tokenize(pattern: string): Token[] {
  const chars = Array.from(pattern);
  const tokens: Token[] = [];
  let i = 0;
  const escaped = (): string => {
    // One class character: `\x` is x; `-` and `]` cannot start a range end-point.
    const ch = chars[i];
    if (ch === undefined || ch === '-' || ch === ']') throw badPattern();
    if (ch === '\\') {
      i++;
      if (chars[i] === undefined) throw badPattern();
    }
    const value = chars[i++];
    if (i >= chars.length) throw badPattern();
    return value;
  };
  while (i < chars.length) {
    const ch = chars[i];
    if (ch === '*') {
      tokens.push({ kind: 'star' });
      i++;
    } else if (ch === '?') {
      tokens.push({ kind: 'any' });
      i++;
    } else if (ch === '\\') {
      if (i + 1 >= chars.length) throw badPattern();
      tokens.push({ kind: 'literal', ch: chars[i + 1] });
      i += 2;
    } else if (ch === '[') {
      i++;
      const negated = chars[i] === '^';
      if (negated) i++;
      const ranges: [string, string][] = [];
      for (;;) {
        if (chars[i] === ']' && ranges.length > 0) {
          i++;
          break;
        }
        const lo = escaped();
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          hi = escaped();
        }
        ranges.push([lo, hi]);
      }
      tokens.push({ kind: 'class', negated, ranges });
    } else {
      tokens.push({ kind: 'literal', ch });
      i++;
    }
  }
  return tokens;
}

const regExpEscape = (ch: string): string => ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** Compiles a filepath.Match pattern to an anchored RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let source = '^';
  for (const token of tokenize(pattern)) {
    switch (token.kind) {
      case 'star':
        source += '[^/]*';
        break;
      case 'any':
        source += '[^/]';
        break;
      case 'literal':
        source += regExpEscape(token.ch);
        break;
      case 'class': {
        const items = token.ranges.map(([lo, hi]) =>
          lo === hi ? regExpEscape(lo) : `${regExpEscape(lo)}-${regExpEscape(hi)}`,
        );
        // An inverted range (z-a) matches nothing in Go; keep it valid for RegExp.
        const valid = token.ranges.every(([lo, hi]) => lo <= hi);
        source += valid ? `[${token.negated ? '^' : ''}${items.join('')}]` : token.negated ? '[^]' : '[]';
        break;
      }
    }
  }
  return new RegExp(source + '$', 'u');
}

/** Throws "syntax error in pattern" when Go's filepath.Match would return ErrBadPattern. */
export function validateGlob(pattern: string): void {
  tokenize(pattern);
}

/** filepath.Match(pattern, name). */
export function globMatch(pattern: string, name: string): boolean {
  return globToRegExp(pattern).test(name);
}

/** Whether a path uses `*`, `?` or `[` unescaped (Docker then resolves it as a pattern). */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** Go's filepath.Clean for slash-separated paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}
