/**
 * The filters of `GET /images/json` and `POST /images/prune`, with moby's
 * matching rules: labels (key, key=value, negated), dangling, before/since
 * another image, until a time, and reference globs (path.Match on the
 * familiar name with and without tag).
 */
import { invalidParameter } from '../../common/errors.js';

export type Filters = Map<string, string[]>;

export const LIST_FILTERS = ['dangling', 'label', 'label!', 'before', 'since', 'reference', 'until'] as const;
export const PRUNE_FILTERS = ['dangling', 'label', 'label!', 'until'] as const;

export function validateFilters(filters: Filters, allowed: readonly string[]): void {
  for (const key of filters.keys()) {
    if (!allowed.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
  }
}

/** moby's GetBoolOrDefault: "true"/"1" or "false"/"0" (any case), else an invalid filter. */
export function boolFilter(filters: Filters, key: string, fallback: boolean): boolean {
  const values = filters.get(key);
  if (!values || values.length === 0) return fallback;
  for (const value of values) {
    const v = value.toLowerCase();
    if (v !== 'true' && v !== '1' && v !== 'false' && v !== '0') {
      throw invalidParameter(`invalid filter '${key}=${value}'`);
    }
  }
  const v = values[0].toLowerCase();
  return v === 'true' || v === '1';
}

/** Whether labels satisfy every `label` filter and no `label!` filter. */
export function matchLabels(filters: Filters, labels: Record<string, string> | null | undefined): boolean {
  const have = labels ?? {};
  const matches = (spec: string): boolean => {
    const eq = spec.indexOf('=');
    if (eq === -1) return Object.prototype.hasOwnProperty.call(have, spec);
    const key = spec.slice(0, eq);
    return Object.prototype.hasOwnProperty.call(have, key) && have[key] === spec.slice(eq + 1);
  };
  if (!(filters.get('label') ?? []).every(matches)) return false;
  return !(filters.get('label!') ?? []).some(matches);
}

/** Go's path.Match as a RegExp: `*` and `?` never cross "/", [classes] and \ escapes work. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]);
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw invalidParameter('syntax error in pattern');
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^')) body = '^' + body.slice(1).replace(/[\\\]]/g, '\\$&');
      else body = body.replace(/[\\\]^]/g, '\\$&');
      source += `[${body}]`;
      i = end;
    } else source += escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** reference.FamiliarMatch: the pattern against "name:tag" (or "name@digest"), then the bare name. */
export function familiarMatch(pattern: string, familiarRef: string, familiarRepo: string): boolean {
  const re = globToRegExp(pattern);
  return re.test(familiarRef) || re.test(familiarRepo);
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A point in time as Docker's filters accept it (timetypes.GetTimestamp):
 * a Go duration before now ("10m", "1h30m"), Unix seconds ("1700000000.5"),
 * or an RFC 3339 date or date-time. Returns epoch milliseconds.
 */
export function parseTimestampFilter(value: string, now = Date.now()): number {
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) {
    let ms = 0;
    for (const [, amount, , unit] of value.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
      ms += Number(amount) * DURATION_UNITS[unit];
    }
    return now - ms;
  }
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw invalidParameter(`failed to parse value as time or duration: "${value}"`);
  return ms;
}
