/**
 * Go's fmt and strconv output for the values a docker template sees. Values
 * follow Go's view of decoded JSON: strings, numbers (integral numbers are Go
 * ints, others float64), booleans, null/undefined (nil), arrays
 * ([]interface {}) and objects or Maps (map[string]interface {}). An object
 * carrying a GO_TYPE name is treated as a Go struct of that type.
 */

/** Marks an object as a Go struct: `obj[GO_TYPE] = '*formatter.ContainerContext'`. */
export const GO_TYPE: unique symbol = Symbol.for('berth.goType');

export function structTypeOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const name = (value as { [GO_TYPE]?: unknown })[GO_TYPE];
  return typeof name === 'string' ? name : undefined;
}

export function isGoMap(value: unknown): value is Record<string, unknown> | Map<unknown, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    structTypeOf(value) === undefined &&
    !(value instanceof Date)
  );
}

const GO_EXPORTED_NAME = /^[A-Z][A-Za-z0-9_]*$/;

/**
 * Whether a decoded JSON object most likely came from a Go struct rather than
 * a Go map: it has keys and all are exported Go identifiers ("Id", "State"),
 * where map keys ("com.example.label", "80/tcp") usually are not.
 */
export function looksLikeGoStruct(value: object): boolean {
  if (structTypeOf(value) !== undefined) return true;
  if (value instanceof Map || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => GO_EXPORTED_NAME.test(key));
}

export function isGoInt(value: unknown): value is number | bigint {
  return typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value));
}

/** The Go type name of a value, as %T and error messages print it. */
export function goTypeName(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int64';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float64';
    case 'function':
      return 'func()';
  }
  const struct = structTypeOf(value);
  if (struct !== undefined) return struct;
  if (Array.isArray(value)) return '[]interface {}';
  if (value instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

/** Entries of a Go map in the order fmt and text/template use: sorted keys. */
export function sortedMapEntries(
  value: Record<string, unknown> | Map<unknown, unknown>,
): [unknown, unknown][] {
  const entries: [unknown, unknown][] =
    value instanceof Map ? [...value.entries()] : Object.keys(value).map((k) => [k, value[k]]);
  return entries.sort(([a], [b]) => compareKeys(a, b));
}

function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a);
  const sb = String(b);
  // Go compares strings bytewise; comparing code points gives the same order.
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

// ---------------------------------------------------------------------------
// strconv: floats

/** A decimal number 0.d1d2d3... × 10^dp; digits carry no leading or trailing zeros. */
interface Decimal {
  digits: string;
  dp: number;
}

function trimDecimal(digits: string, dp: number): Decimal {
  let start = 0;
  while (start < digits.length && digits[start] === '0') {
    start++;
    dp--;
  }
  let end = digits.length;
  while (end > start && digits[end - 1] === '0') end--;
  if (start === end) return { digits: '', dp: 0 };
  return { digits: digits.slice(start, end), dp };
}

/** The exact decimal expansion of a finite, non-negative double. */
function exactDecimal(x: number): Decimal {
  if (x === 0) return { digits: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biasedExp = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let exp2: number;
  if (biasedExp === 0) {
    exp2 = -1074;
  } else {
    mantissa |= 1n << 52n;
    exp2 = biasedExp - 1075;
  }
  if (exp2 >= 0) {
    const digits = (mantissa << BigInt(exp2)).toString();
    return trimDecimal(digits, digits.length);
  }
  const k = -exp2;
  const digits = (mantissa * 5n ** BigInt(k)).toString();
  return trimDecimal(digits, digits.length - k);
}

/** The shortest decimal that reads back as x (what Go's precision -1 uses). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { digits: '', dp: 0 };
  const [mantissa, exponent] = x.toExponential().split('e');
  const digits = mantissa.replace('.', '');
  return trimDecimal(digits, Number(exponent) + 1);
}

/** Rounds to nd significant digits, ties to even (on the exact value), like strconv's decimal.Round. */
function roundDecimal(d: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= d.digits.length) return d;
  const next = d.digits[nd];
  const exactlyHalf = next === '5' && nd + 1 === d.digits.length;
  const up = exactlyHalf ? nd > 0 && Number(d.digits[nd - 1]) % 2 === 1 : next >= '5';
  if (!up) return trimDecimal(d.digits.slice(0, nd), d.dp);
  let i = nd - 1;
  while (i >= 0 && d.digits[i] === '9') i--;
  if (i < 0) return { digits: '1', dp: d.dp + 1 };
  const digits = d.digits.slice(0, i) + String(Number(d.digits[i]) + 1);
  return trimDecimal(digits, d.dp);
}

function digitAt(d: Decimal, i: number): string {
  return i >= 0 && i < d.digits.length ? d.digits[i] : '0';
}

function formatE(d: Decimal, prec: number, letter: string): string {
  let out = digitAt(d, 0);
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += digitAt(d, i);
  }
  const exp = d.digits.length === 0 ? 0 : d.dp - 1;
  const sign = exp < 0 ? '-' : '+';
  const abs = Math.abs(exp);
  return `${out}${letter}${sign}${abs < 10 ? '0' : ''}${abs}`;
}

function formatF(d: Decimal, prec: number): string {
  let out = '';
  if (d.dp > 0) {
    for (let i = 0; i < d.dp; i++) out += digitAt(d, i);
  } else {
    out = '0';
  }
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += digitAt(d, d.dp + i - 1);
  }
  return out;
}

export type FloatFormat = 'e' | 'E' | 'f' | 'g' | 'G';

/** strconv.FormatFloat(x, fmt, prec, 64); prec -1 means the shortest exact representation. */
export function formatFloat(x: number, fmt: FloatFormat, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const sign = neg ? '-' : '';
  const abs = Math.abs(x);
  const shortest = prec < 0;
  let digs: Decimal;
  if (shortest) {
    digs = shortestDecimal(abs);
    if (fmt === 'e' || fmt === 'E') prec = Math.max(digs.digits.length - 1, 0);
    else if (fmt === 'f') prec = Math.max(digs.digits.length - digs.dp, 0);
    else prec = digs.digits.length;
  } else {
    const exact = exactDecimal(abs);
    if (fmt === 'e' || fmt === 'E') digs = roundDecimal(exact, prec + 1);
    else if (fmt === 'f') digs = roundDecimal(exact, exact.dp + prec);
    else {
      if (prec === 0) prec = 1;
      digs = roundDecimal(exact, prec);
    }
  }
  switch (fmt) {
    case 'e':
    case 'E':
      return sign + formatE(digs, prec, fmt);
    case 'f':
      return sign + formatF(digs, prec);
  }
  let eprec = prec;
  if (eprec > digs.digits.length && digs.digits.length >= digs.dp) eprec = digs.digits.length;
  if (shortest) eprec = 6;
  const exp = digs.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (prec > digs.digits.length) prec = digs.digits.length;
    return sign + formatE(digs, prec - 1, fmt === 'g' ? 'e' : 'E');
  }
  if (prec > digs.dp) prec = digs.digits.length;
  return sign + formatF(digs, Math.max(prec - digs.dp, 0));
}

// ---------------------------------------------------------------------------
// strconv: quoting

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function escapeRune(char: string, quoteChar: string, asciiOnly: boolean): string {
  const cp = char.codePointAt(0) ?? 0;
  if (char === quoteChar || char === '\\') return '\\' + char;
  if (PRINTABLE.test(char) && (!asciiOnly || cp < 0x80)) return char;
  switch (char) {
    case '\x07':
      return '\\a';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\v':
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + hex(cp, 2);
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd';
  if (cp < 0x10000) return '\\u' + hex(cp, 4);
  return '\\U' + hex(cp, 8);
}

/** strconv.Quote (or QuoteToASCII): a double-quoted Go string literal. */
export function quote(text: string, asciiOnly = false): string {
  let out = '"';
  for (const char of text) out += escapeRune(char, '"', asciiOnly);
  return out + '"';
}

/** strconv.QuoteRune: a single-quoted Go character literal. */
export function quoteRune(codePoint: number, asciiOnly = false): string {
  const valid = codePoint >= 0 && codePoint <= 0x10ffff && !(codePoint >= 0xd800 && codePoint <= 0xdfff);
  const char = String.fromCodePoint(valid ? codePoint : 0xfffd);
  return "'" + escapeRune(char, "'", asciiOnly) + "'";
}

function canBackquote(text: string): boolean {
  for (const char of text) {
    const cp = char.codePointAt(0) ?? 0;
    if (char === '`' || char === '\ufeff') return false;
    if ((cp < 0x20 && char !== '\t') || cp === 0x7f) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// fmt

interface Spec {
  verb: string;
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

function plainSpec(verb: string): Spec {
  return { verb, minus: false, plus: false, sharp: false, space: false, zero: false };
}

function runeCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function pad(text: string, spec: Spec): string {
  if (spec.width === undefined || spec.width === 0) return text;
  const n = spec.width - runeCount(text);
  if (n <= 0) return text;
  if (spec.minus) return text + ' '.repeat(n);
  return (spec.zero ? '0' : ' ').repeat(n) + text;
}

function badVerb(value: unknown, spec: Spec): string {
  if (value === null || value === undefined) return `%!${spec.verb}(<nil>)`;
  return `%!${spec.verb}(${goTypeName(value)}=${formatArg(value, { ...spec, verb: 'v' })})`;
}

function utf8Bytes(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

function formatInteger(value: bigint, spec: Spec): string {
  const verb = spec.verb;
  if (verb === 'c')
    return pad(String.fromCodePoint(Number(value) <= 0x10ffff && value >= 0n ? Number(value) : 0xfffd), spec);
  if (verb === 'q') return pad(quoteRune(Number(value), spec.plus), spec);
  if (verb === 'U') {
    let digits = (value < 0n ? -value : value).toString(16).toUpperCase();
    digits = digits.padStart(Math.max(4, spec.prec ?? 0), '0');
    let out = 'U+' + digits;
    if (
      spec.sharp &&
      value >= 0n &&
      value <= 0x10ffffn &&
      PRINTABLE.test(String.fromCodePoint(Number(value)))
    ) {
      out += " '" + String.fromCodePoint(Number(value)) + "'";
    }
    return pad(out, { ...spec, zero: false });
  }
  const base = verb === 'b' ? 2 : verb === 'o' || verb === 'O' ? 8 : verb === 'x' || verb === 'X' ? 16 : 10;
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString(base);
  if (verb === 'X') digits = digits.toUpperCase();
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && value === 0n) return ' '.repeat(spec.width ?? 0);
    digits = digits.padStart(spec.prec, '0');
  } else if (spec.zero && spec.width !== undefined && !spec.minus) {
    const signWidth = negative || spec.plus || spec.space ? 1 : 0;
    digits = digits.padStart(spec.width - signWidth, '0');
  }
  if (spec.sharp && verb === 'o' && digits[0] !== '0') digits = '0' + digits;
  if (spec.sharp && (verb === 'x' || verb === 'X')) digits = (verb === 'x' ? '0x' : '0X') + digits;
  if (verb === 'O') digits = '0o' + digits;
  const sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return pad(sign + digits, { ...spec, zero: false });
}

function formatFloatArg(value: number, spec: Spec): string {
  let verb = spec.verb;
  let prec: number;
  if (verb === 'v') {
    verb = 'g';
    prec = -1;
  } else if (verb === 'g' || verb === 'G') {
    prec = -1;
  } else {
    prec = 6;
  }
  if (verb === 'F') verb = 'f';
  if (spec.prec !== undefined) prec = spec.prec;
  let num = formatFloat(value, verb as FloatFormat, prec);
  let sign = '+';
  if (num[0] === '-' || num[0] === '+') {
    sign = num[0];
    num = num.slice(1);
  }
  if (spec.space && sign === '+' && !spec.plus) sign = ' ';
  if (num === 'Inf' || num === 'NaN') {
    if (num === 'NaN' && !spec.space && !spec.plus) return pad(num, { ...spec, zero: false });
    return pad(sign + num, { ...spec, zero: false });
  }
  if (spec.sharp) {
    let digits = verb === 'g' || verb === 'G' ? (prec === -1 ? 6 : prec) : 0;
    let tail = '';
    const e = num.search(/[eE]/);
    if (e >= 0) {
      tail = num.slice(e);
      num = num.slice(0, e);
    }
    for (const ch of num) if (ch !== '.') digits--;
    if (!num.includes('.')) num += '.';
    if (digits > 0) num += '0'.repeat(digits);
    num += tail;
  }
  const full = sign + num;
  if (spec.plus || sign !== '+') {
    if (spec.zero && !spec.minus && spec.width !== undefined && spec.width > full.length) {
      return sign + '0'.repeat(spec.width - full.length) + num;
    }
    return pad(full, spec);
  }
  return pad(num, spec);
}

function truncateRunes(text: string, spec: Spec): string {
  if (spec.prec === undefined) return text;
  return Array.from(text).slice(0, spec.prec).join('');
}

function formatHexBytes(bytes: Buffer, spec: Spec): string {
  const upper = spec.verb === 'X';
  let length = bytes.length;
  if (spec.prec !== undefined && spec.prec < length) length = spec.prec;
  if (length === 0) return spec.width ? ' '.repeat(spec.width) : '';
  const parts: string[] = [];
  for (let i = 0; i < length; i++) {
    let h = hex(bytes[i], 2);
    if (upper) h = h.toUpperCase();
    if (spec.space && spec.sharp) h = (upper ? '0X' : '0x') + h;
    parts.push(h);
  }
  let out = parts.join(spec.space ? ' ' : '');
  if (spec.sharp && !spec.space) out = (upper ? '0X' : '0x') + out;
  const n = (spec.width ?? 0) - out.length;
  if (n <= 0) return out;
  return spec.minus ? out + ' '.repeat(n) : ' '.repeat(n) + out;
}

function formatString(value: string, spec: Spec): string {
  switch (spec.verb) {
    case 'v':
    case 's':
      return pad(truncateRunes(value, spec), spec);
    case 'x':
    case 'X':
      return formatHexBytes(utf8Bytes(value), spec);
    case 'q': {
      const text = truncateRunes(value, spec);
      if (spec.sharp && canBackquote(text)) return pad('`' + text + '`', spec);
      return pad(quote(text, spec.plus), spec);
    }
  }
  return badVerb(value, spec);
}

function formatElement(value: unknown, spec: Spec): string {
  if (value === null || value === undefined) return pad('<nil>', spec);
  return formatArg(value, spec);
}

function formatArg(value: unknown, spec: Spec): string {
  if (spec.verb === 'T') return pad(goTypeName(value), spec);
  if (value === null || value === undefined) {
    return spec.verb === 'v' ? pad('<nil>', spec) : badVerb(value, spec);
  }
  switch (typeof value) {
    case 'boolean':
      return spec.verb === 'v' || spec.verb === 't' ? pad(String(value), spec) : badVerb(value, spec);
    case 'bigint':
      return 'vdboOxXcqU'.includes(spec.verb) ? formatInteger(value, spec) : badVerb(value, spec);
    case 'number':
      if (Number.isInteger(value) && !Object.is(value, -0) && 'vdboOxXcqU'.includes(spec.verb)) {
        return formatInteger(BigInt(value), spec);
      }
      // A JSON number cannot say whether Go would have held it in an int or a
      // float64, so the float verbs also accept integral values.
      if ('veEfFgG'.includes(spec.verb)) return formatFloatArg(value, spec);
      return badVerb(value, spec);
    case 'string':
      return formatString(value, spec);
    case 'function':
      return spec.verb === 'v' || spec.verb === 'p' ? pad('0x0', spec) : badVerb(value, spec);
  }
  if (Array.isArray(value)) {
    return '[' + value.map((item) => formatElement(item, spec)).join(' ') + ']';
  }
  if (value instanceof Date) return formatString(value.toISOString(), spec);
  if (structTypeOf(value) !== undefined) {
    const fields = Object.keys(value).map((key) =>
      formatElement((value as Record<string, unknown>)[key], spec),
    );
    return '{' + fields.join(' ') + '}';
  }
  const entries = sortedMapEntries(value as Record<string, unknown>);
  return (
    'map[' + entries.map(([k, v]) => formatElement(k, spec) + ':' + formatElement(v, spec)).join(' ') + ']'
  );
}

/** fmt.Sprint of one value (%v). */
export function formatValue(value: unknown): string {
  return formatArg(value, plainSpec('v'));
}

/** fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(...args: unknown[]): string {
  let out = '';
  let prevString = false;
  args.forEach((arg, i) => {
    const isString = typeof arg === 'string';
    if (i > 0 && !isString && !prevString) out += ' ';
    out += formatValue(arg);
    prevString = isString;
  });
  return out;
}

/** fmt.Sprintln: operands always separated by spaces, newline appended. */
export function sprintln(...args: unknown[]): string {
  return args.map(formatValue).join(' ') + '\n';
}

function parseNumber(format: string, start: number): { value?: number; end: number } {
  let end = start;
  while (end < format.length && format[end] >= '0' && format[end] <= '9') end++;
  if (end === start) return { end };
  return { value: Number(format.slice(start, end)), end };
}

function intArg(arg: unknown): number | undefined {
  if (typeof arg === 'number' && Number.isInteger(arg) && Math.abs(arg) <= 1e6) return arg;
  if (typeof arg === 'bigint' && arg <= 1000000n && arg >= -1000000n) return Number(arg);
  return undefined;
}

/** fmt.Sprintf with Go's verbs, flags, width and precision, and its error annotations. */
export function sprintf(format: string, ...args: unknown[]): string {
  let out = '';
  let argNum = 0;
  let i = 0;
  while (i < format.length) {
    const percent = format.indexOf('%', i);
    if (percent < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, percent);
    i = percent + 1;
    const spec = plainSpec('');
    flags: while (i < format.length) {
      switch (format[i]) {
        case '#':
          spec.sharp = true;
          break;
        case '0':
          spec.zero = !spec.minus;
          break;
        case '+':
          spec.plus = true;
          break;
        case '-':
          spec.minus = true;
          spec.zero = false;
          break;
        case ' ':
          spec.space = true;
          break;
        default:
          break flags;
      }
      i++;
    }
    if (format[i] === '*') {
      i++;
      const width = argNum < args.length ? intArg(args[argNum]) : undefined;
      argNum++;
      if (width === undefined) {
        out += '%!(BADWIDTH)';
      } else if (width < 0) {
        spec.minus = true;
        spec.zero = false;
        spec.width = -width;
      } else {
        spec.width = width;
      }
    } else {
      const parsed = parseNumber(format, i);
      spec.width = parsed.value;
      i = parsed.end;
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const prec = argNum < args.length ? intArg(args[argNum]) : undefined;
        argNum++;
        if (prec === undefined) out += '%!(BADPREC)';
        else if (prec >= 0) spec.prec = prec;
      } else {
        const parsed = parseNumber(format, i);
        spec.prec = parsed.value ?? 0;
        i = parsed.end;
      }
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i) ?? 0);
    i += verb.length;
    spec.verb = verb;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    if (verb === 'w') spec.verb = 'v';
    out += formatArg(args[argNum++], spec);
  }
  if (argNum < args.length) {
    const extras = args
      .slice(argNum)
      .map((arg) => (arg === null || arg === undefined ? '<nil>' : `${goTypeName(arg)}=${formatValue(arg)}`));
    out += `%!(EXTRA ${extras.join(', ')})`;
  }
  return out;
}
