import { CliError } from '../../context.js';

/** `--filter key=value` flags as the API's filters JSON ({"key":{"value":true}}), or undefined. */
export function filtersQuery(values: string[] | undefined): string | undefined {
  if (!values?.length) return undefined;
  const filters: Record<string, Record<string, boolean>> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0)
      throw new CliError(
        `invalid argument "${value}" for "-f, --filter" flag: bad format of filter (expected name=value)`,
      );
    const key = value.slice(0, eq).trim().toLowerCase();
    (filters[key] ??= {})[value.slice(eq + 1).trim()] = true;
  }
  return JSON.stringify(filters);
}
