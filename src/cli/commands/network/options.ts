import { CliError } from '../../context.js';

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

/** Go's time.Time String() for an RFC 3339 UTC timestamp: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function goTimeFromRfc3339(text: string): string {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(text);
  if (!match) return text;
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  return `${match[1]} ${match[2]}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}
