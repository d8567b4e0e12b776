/** Docker's volume list and prune filters (moby's filters.Args semantics). */
import { invalidParameter } from '../../common/errors.js';

/** Parsed `filters` parameter: key -> values. */
export type VolumeFilters = Map<string, string[]>;

export const LIST_FILTERS = ['dangling', 'name', 'driver', 'label'] as const;
export const PRUNE_FILTERS = ['label', 'label!', 'all'] as const;

export function validateFilters(filters: VolumeFilters, accepted: readonly string[]): void {
  for (const key of filters.keys()) {
    if (!accepted.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
  }
}

function invalidFilter(key: string, values: string[]): Error {
  return invalidParameter(`invalid filter '${key}=${values.join(',')}'`);
}

/** moby's GetBoolOrDefault: one value, true/1 or false/0 (case-insensitive). */
export function boolFilter(filters: VolumeFilters, key: string, fallback: boolean): boolean {
  const values = filters.get(key);
  if (!values || values.length === 0) return fallback;
  if (values.length > 1) throw invalidFilter(key, values);
  const value = values[0];
  if (value.toLowerCase() === 'true' || value === '1') return true;
  if (value.toLowerCase() === 'false' || value === '0') return false;
  throw invalidFilter(key, values);
}

/** Go's strconv.ParseBool, for prune's `all` filter. */
export function parseGoBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** Exact name, else any value used as a regular expression (moby's Args.Match). */
export function matchName(filters: VolumeFilters, key: string, source: string): boolean {
  const values = filters.get(key);
  if (!values || values.length === 0) return true;
  if (values.includes(source)) return true;
  return values.some((pattern) => {
    try {
      return new RegExp(pattern).test(source);
    } catch {
      return false;
    }
  });
}

/** Every `key` or `key=value` given must be among the labels (moby's MatchKVList). */
export function matchLabels(
  filters: VolumeFilters,
  key: string,
  labels: Record<string, string> | null,
): boolean {
  const values = filters.get(key);
  if (!values || values.length === 0) return true;
  if (!labels || Object.keys(labels).length === 0) return false;
  return values.every((wanted) => {
    const eq = wanted.indexOf('=');
    const name = eq === -1 ? wanted : wanted.slice(0, eq);
    if (!Object.hasOwn(labels, name)) return false;
    return eq === -1 || labels[name] === wanted.slice(eq + 1);
  });
}

/** `label` must all match and, when `label!` is given, not all of those may match. */
export function matchLabelFilters(filters: VolumeFilters, labels: Record<string, string> | null): boolean {
  if (!matchLabels(filters, 'label', labels)) return false;
  if (
    filters.has('label!') &&
    (filters.get('label!') ?? []).length > 0 &&
    matchLabels(filters, 'label!', labels)
  )
    return false;
  return true;
}
