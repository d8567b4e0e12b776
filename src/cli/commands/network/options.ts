import { CliError } from '../../context.js';

/** Repeatable options accumulate. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Repeatable options that also take comma-separated values (cobra's StringSlice). */
export const collectSlice = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== ''),
];

/** A bool flag that may be given as --flag or --flag=true|false. */
export function parseBoolFlag(name: string): (value: string | boolean | undefined) => boolean {
  return (value) => {
    if (value === undefined || value === true) return true;
    const text = String(value).toLowerCase();
    if (['1', 't', 'true'].includes(text)) return true;
    if (['0', 'f', 'false'].includes(text)) return false;
    throw new CliError(
      `invalid argument "${String(value)}" for "--${name}" flag: strconv.ParseBool: parsing "${String(value)}": invalid syntax`,
    );
  };
}

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

/** Go's time.Time String() for an RFC 3339 UTC timestamp: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function goTimeFromRfc3339(text: string): string {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(text);
  if (!match) return text;
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  return `${match[1]} ${match[2]}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}
