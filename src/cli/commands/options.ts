/** Option parsing that the docker CLI's commands share. */
import { CliError } from '../context.js';

/** Repeatable options (--label, -o, --filter) accumulate. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** docker's KEY=VALUE list to a map; a bare KEY maps to "". */
export function keyValueMap(values: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq === -1) map[value] = '';
    else map[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return map;
}

/** --filter name=value pairs as the API's `filters` JSON. */
export function filtersJSON(values: readonly string[]): string | undefined {
  if (values.length === 0) return undefined;
  const filters: Record<string, Record<string, boolean>> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq === -1) throw new CliError('bad format of filter (expected name=value)');
    const key = value.slice(0, eq).trim().toLowerCase();
    (filters[key] ??= {})[value.slice(eq + 1)] = true;
  }
  return JSON.stringify(filters);
}
