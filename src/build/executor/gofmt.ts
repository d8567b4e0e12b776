/**
 * The few Go `fmt` renderings Docker's classic builder puts into image
 * history (`CMD %q`, `VOLUME %v`, `HEALTHCHECK %+v`), so `docker history`
 * reads the same for berth-built images.
 */

/** strconv.Quote: double quotes, Go escapes for control characters, printable Unicode kept. */
export function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    switch (char) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0x80 && code < 0xa0) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return out + '"';
}

/** `%q` of a []string: `["a" "b"]`. */
export function goQuoteList(values: readonly string[] | null | undefined): string {
  return `[${(values ?? []).map(goQuote).join(' ')}]`;
}

/** `%v` of a []string: `[a b]`. */
export function goList(values: readonly string[] | null | undefined): string {
  return `[${(values ?? []).join(' ')}]`;
}

/** time.Duration.String() for a duration in nanoseconds: `1m30s`, `500ms`, `0s`. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const negative = ns < 0;
  let rest = Math.abs(ns);
  const sign = negative ? '-' : '';
  if (rest < 1e9) {
    if (rest < 1e3) return `${sign}${rest}ns`;
    if (rest < 1e6) return `${sign}${trimFraction(rest / 1e3)}µs`;
    return `${sign}${trimFraction(rest / 1e6)}ms`;
  }
  const hours = Math.floor(rest / 3600e9);
  rest -= hours * 3600e9;
  const minutes = Math.floor(rest / 60e9);
  rest -= minutes * 60e9;
  const seconds = `${trimFraction(rest / 1e9)}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

function trimFraction(value: number): string {
  return Number(value.toFixed(9)).toString();
}

/** The first 12 hex digits of an ID (stringid.TruncateID). */
export function truncateId(id: string): string {
  const hex = id.startsWith('sha256:') ? id.slice('sha256:'.length) : id;
  return hex.slice(0, 12);
}
