/** Small text helpers that reproduce Go's definitions, so parsing matches Docker byte for byte. */

const UNICODE_WHITE_SPACE = new Set([
  '\u0085',
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u2001',
  '\u2002',
  '\u2003',
  '\u2004',
  '\u2005',
  '\u2006',
  '\u2007',
  '\u2008',
  '\u2009',
  '\u200a',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
]);

/** Go's unicode.IsSpace for one character. */
export function isGoSpace(ch: string): boolean {
  switch (ch) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
      return true;
    default:
      return UNICODE_WHITE_SPACE.has(ch);
  }
}

/** Go's strings.TrimSpace. */
export function trimGoSpace(text: string): string {
  return trimGoSpaceRight(trimGoSpaceLeft(text));
}

export function trimGoSpaceLeft(text: string): string {
  let i = 0;
  while (i < text.length && isGoSpace(text[i])) i++;
  return text.slice(i);
}

export function trimGoSpaceRight(text: string): string {
  let end = text.length;
  while (end > 0 && isGoSpace(text[end - 1])) end--;
  return text.slice(0, end);
}

/** The whitespace Docker's line parsers split on (`[\t\v\f\r ]+`: not newlines). */
export const LINE_WHITESPACE = /[\t\v\f\r ]+/;

/** Splits on LINE_WHITESPACE into at most `limit` parts, like Go's regexp.Split(s, n). */
export function splitLineWhitespace(text: string, limit = -1): string[] {
  if (limit === 0) return [];
  const parts: string[] = [];
  const re = new RegExp(LINE_WHITESPACE.source, 'g');
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (limit > 0 && parts.length === limit - 1) break;
    parts.push(text.slice(start, m.index));
    start = m.index + m[0].length;
  }
  parts.push(text.slice(start));
  return parts;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = saved;
    }
  }
  return prev[b.length];
}

/**
 * The closest option within edit distance 2, as BuildKit suggests it; undefined
 * when nothing is close or the value is itself an option.
 */
export function suggest(
  value: string,
  options: readonly string[],
  caseSensitive: boolean,
): string | undefined {
  const needle = caseSensitive ? value : value.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const option of options) {
    const candidate = caseSensitive ? option : option.toLowerCase();
    if (candidate === needle) return undefined;
    const distance = levenshtein(needle, candidate);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = caseSensitive ? candidate : matchCase(candidate, value);
    }
  }
  return best;
}

function matchCase(candidate: string, original: string): string {
  if (original === original.toLowerCase()) return candidate.toLowerCase();
  if (original === original.toUpperCase()) return candidate.toUpperCase();
  return candidate;
}

/** Go's regexp.Split behaviour for a Go `%v` of a string slice: `[a b c]`. */
export function goSlice(values: readonly string[]): string {
  return `[${values.join(' ')}]`;
}

/** Go's %q for a string, close enough for error messages (JSON escapes are a superset for ASCII). */
export function goQuote(text: string): string {
  return JSON.stringify(text);
}
