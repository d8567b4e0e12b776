/**
 * docker's human-readable units (github.com/docker/go-units) and the small
 * display helpers of docker/cli's formatter (IDs, ellipsis).
 */
import { formatFloat, sprintf } from './gofmt.js';
import { charWidth } from './width.js';

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function scale(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]];
}

/**
 * go-units HumanSizeWithPrecision: decimal units, `precision` significant
 * digits ("%.*g"). docker's list columns (image and container SIZE, history,
 * stats I/O) use precision 3: 4.26MB.
 */
export function humanSizeWithPrecision(size: number, precision: number): string {
  const [value, unit] = scale(size, 1000, DECIMAL_UNITS);
  return formatFloat(value, 'g', precision) + unit;
}

/** go-units HumanSize: decimal units, 4 significant digits ("2.746MB"), as system df and prune print. */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units BytesSize: binary units, 4 significant digits ("1.5GiB"), as docker stats prints memory. */
export function bytesSize(size: number): string {
  const [value, unit] = scale(size, 1024, BINARY_UNITS);
  return formatFloat(value, 'g', 4) + unit;
}

const DECIMAL_MULTIPLIERS: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const BINARY_MULTIPLIERS: Record<string, number> = {
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};

/** strconv.ParseFloat's accepted syntax, minus hex floats, infinities and NaN. */
const FLOAT_SYNTAX = /^[+-]?(\d[\d_]*\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseSize(text: string, multipliers: Record<string, number>): number {
  let sep = -1;
  for (let i = text.length - 1; i >= 0; i--) {
    if ('0123456789. '.includes(text[i])) {
      sep = i;
      break;
    }
  }
  if (sep < 0) throw new Error(`invalid size: '${text}'`);
  const num = text[sep] === ' ' ? text.slice(0, sep) : text.slice(0, sep + 1);
  let suffix = text.slice(sep + 1);
  if (!FLOAT_SYNTAX.test(num))
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  let size = Number(num.replace(/_/g, ''));
  if (size < 0) throw new Error(`invalid size: '${text}'`);
  if (suffix.length === 0) return Math.trunc(size);
  const badSuffix = new Error(`invalid suffix: '${suffix}'`);
  if (suffix.length > 3) throw badSuffix;
  suffix = suffix.toLowerCase();
  if (suffix[0] === 'b') {
    if (suffix.length > 1) throw badSuffix;
    return Math.trunc(size);
  }
  const multiplier = multipliers[suffix[0]];
  if (multiplier === undefined) throw badSuffix;
  size *= multiplier;
  if ((suffix.length === 2 && suffix[1] !== 'b') || (suffix.length === 3 && suffix.slice(1) !== 'ib'))
    throw badSuffix;
  return Math.trunc(size);
}

/** go-units RAMInBytes: "512m", "1g", "1.5GiB" in binary units (suffix case-insensitive, b optional). Throws on bad input. */
export function ramInBytes(text: string): number {
  return parseSize(text, BINARY_MULTIPLIERS);
}

/** go-units FromHumanSize: "44kB", "17MB" in decimal units. Throws on bad input. */
export function fromHumanSize(text: string): number {
  return parseSize(text, DECIMAL_MULTIPLIERS);
}

/** go-units HumanDuration of a duration in milliseconds: "Less than a second", "About a minute", "3 hours". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3600000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3600000) / 24 / 365)} years`;
}

/** "2 minutes ago", as docker prints CREATED columns; `time` is a Date, epoch milliseconds or a date string. */
export function timeAgo(time: Date | number | string, now: number = Date.now()): string {
  const then = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(time);
  return humanDuration(now - then) + ' ago';
}

/**
 * Go's time.Duration String for a duration in nanoseconds ("1h2m3s",
 * "1.5s", "300ms", "0s").
 */
export function goDuration(nanoseconds: bigint | number): string {
  let ns = BigInt(nanoseconds);
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  if (neg) ns = -ns;
  const sign = neg ? '-' : '';
  const fraction = (value: bigint, digits: number): string => {
    const text = value.toString().padStart(digits, '0').replace(/0+$/, '');
    return text === '' ? '' : '.' + text;
  };
  if (ns < 1_000_000_000n) {
    if (ns < 1000n) return `${sign}${ns}ns`;
    if (ns < 1_000_000n) return `${sign}${ns / 1000n}${fraction(ns % 1000n, 3)}µs`;
    return `${sign}${ns / 1_000_000n}${fraction(ns % 1_000_000n, 6)}ms`;
  }
  const totalSeconds = ns / 1_000_000_000n;
  const secondsText = `${totalSeconds % 60n}${fraction(ns % 1_000_000_000n, 9)}s`;
  const totalMinutes = totalSeconds / 60n;
  if (totalMinutes === 0n) return sign + secondsText;
  const hours = totalMinutes / 60n;
  const minutesText = `${totalMinutes % 60n}m`;
  return sign + (hours > 0n ? `${hours}h` : '') + minutesText + secondsText;
}

/** stringid.TruncateID: drops an "algorithm:" prefix, keeps 12 characters. */
export function truncateId(id: string): string {
  const colon = id.indexOf(':');
  const bare = colon >= 0 ? id.slice(colon + 1) : id;
  return bare.length > 12 ? bare.slice(0, 12) : bare;
}

/**
 * docker/cli's Ellipsis: fits text into maxWidth terminal columns, ending
 * with "…" when cut (docker ps cuts COMMAND to 20, search DESCRIPTION to 45).
 */
export function ellipsis(text: string, maxWidth: number): string {
  if (maxWidth <= 0) return '';
  const chars = Array.from(text);
  if (maxWidth === 1) return chars[0] ?? '';
  let total = 0;
  const ends: number[] = [];
  for (const ch of chars) {
    total += charWidth(ch);
    ends.push(total);
  }
  if (total <= maxWidth) return text;
  for (let i = 0; i < ends.length - 1; i++) {
    if (ends[i] <= maxWidth - 1 && ends[i + 1] > maxWidth - 1) return chars.slice(0, i + 1).join('') + '…';
  }
  // Only reachable when the first character is wider than the space left.
  return '…';
}

/**
 * Go's time.Time String for a time given in seconds since the epoch, in the
 * local zone: "2024-05-06 07:08:09 +0200 CEST", as docker ps prints CreatedAt.
 */
export function goTimeString(epochSeconds: number, timeZone?: string): string {
  const date = new Date(epochSeconds * 1000);
  const zone = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'short',
    })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  );
  const local = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const offsetMinutes = Math.round((local - Math.floor(epochSeconds) * 1000) / 60000);
  const offset = sprintf(
    '%s%02d%02d',
    offsetMinutes < 0 ? '-' : '+',
    Math.trunc(Math.abs(offsetMinutes) / 60),
    Math.abs(offsetMinutes) % 60,
  );
  // Go names zones by their tzdata abbreviation. Intl knows few of them; where
  // it does not, show what tzdata uses for unnamed zones: "+03", "+0530".
  let name = zone === 'UTC' || zone === 'Etc/UTC' ? 'UTC' : String(parts.timeZoneName);
  if (/^GMT([+-]|$)/.test(name)) name = offset === '+0000' ? 'GMT' : offset.replace(/00$/, '');
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${offset} ${name}`;
}
