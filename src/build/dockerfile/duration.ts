/** Go's time.ParseDuration, returning nanoseconds (HEALTHCHECK options are Go durations). */

const UNIT_NANOS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

export class DurationError extends Error {}

export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new DurationError(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest) as RegExpExecArray;
    const [whole, intPart, fracPart] = number;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) {
      throw new DurationError(`time: invalid duration ${quoted}`);
    }
    rest = rest.slice(whole.length);
    const unit = /^[^\d.]+/.exec(rest)?.[0];
    if (!unit) throw new DurationError(`time: missing unit in duration ${quoted}`);
    const scale = UNIT_NANOS[unit];
    if (scale === undefined)
      throw new DurationError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    rest = rest.slice(unit.length);
    total += Number(intPart || '0') * scale + (fracPart ? Number(`0.${fracPart}`) * scale : 0);
  }
  return sign * Math.round(total);
}
