/**
 * The functions of docker's --format templates: Go text/template's builtins
 * and those docker/cli registers, with the argument checks Go's typed
 * parameters make.
 */
import {
  goTypeName,
  isGoInt,
  isGoMap,
  looksLikeGoStruct,
  sortedMapEntries,
  sprint,
  sprintf,
  sprintln,
  structTypeOf,
  formatValue,
} from './gofmt.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TemplateFunc = (...args: any[]) => unknown;
export type FuncMap = Readonly<Record<string, TemplateFunc>>;

/**
 * An error a template function throws to be reported as-is, like Go's
 * argument type errors, rather than as "error calling NAME: message".
 */
export class TemplateFuncError extends Error {
  /**
   * argIndex names the argument at fault (0-based); expected is the Go type
   * the function wanted there, for Go's wording of literal arguments.
   */
  constructor(
    message: string,
    readonly argIndex?: number,
    readonly expected?: 'string' | 'int',
  ) {
    super(message);
  }
}

export interface Arity {
  min: number;
  variadic: boolean;
}

const ARITY = new WeakMap<TemplateFunc, Arity>();

/** Declares how many arguments a function takes, so calls are checked as Go checks them. */
export function withArity<F extends TemplateFunc>(fn: F, min: number, variadic = false): F {
  ARITY.set(fn, { min, variadic });
  return fn;
}

export function arityOf(fn: TemplateFunc): Arity | undefined {
  return ARITY.get(fn);
}

// ---------------------------------------------------------------------------
// Value helpers shared by the functions

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function isTrue(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'number':
      return value !== 0;
    case 'bigint':
      return value !== 0n;
    case 'string':
      return value.length > 0;
    case 'function':
      return true;
  }
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof Map) return value.size > 0;
  if (structTypeOf(value) !== undefined) return true;
  return Object.keys(value as object).length > 0;
}

function typeForError(value: unknown): string {
  return value === null ? 'interface {}' : goTypeName(value);
}

/** Checks the argument at argIndex is a string, failing as Go's typed parameters do. */
export function expectString(value: unknown, argIndex?: number): string {
  if (typeof value === 'string') return value;
  if (value === undefined) throw new TemplateFuncError('invalid value; expected string', argIndex, 'string');
  throw new TemplateFuncError(
    `wrong type for value; expected string; got ${typeForError(value)}`,
    argIndex,
    'string',
  );
}

/** Checks the argument at argIndex is an integer, failing as Go's typed parameters do. */
export function expectInt(value: unknown, argIndex?: number): number {
  if (isGoInt(value)) return Number(value);
  if (value === undefined) throw new TemplateFuncError('invalid value; expected int', argIndex, 'int');
  throw new TemplateFuncError(
    `wrong type for value; expected int; got ${typeForError(value)}`,
    argIndex,
    'int',
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * encoding/json as docker's `json` function uses it (HTML characters left
 * alone). Go writes map keys sorted and struct fields in declaration order,
 * so objects that look like maps are sorted and others keep their order.
 */
export function goJSON(value: unknown): string {
  const text = JSON.stringify(value === undefined ? null : value, (_key, v: unknown) => {
    if (v instanceof Map) return Object.fromEntries(sortedMapEntries(v) as [string, unknown][]);
    if (isPlainObject(v) && !looksLikeGoStruct(v)) return Object.fromEntries(sortedMapEntries(v));
    if (typeof v === 'bigint') return Number(v);
    return v;
  });
  return (text ?? 'null').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

// ---------------------------------------------------------------------------
// Go's builtin functions

type Kind = 'bool' | 'number' | 'string' | 'invalid';

function basicKind(value: unknown): Kind {
  switch (typeof value) {
    case 'boolean':
      return 'bool';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
  }
  return 'invalid';
}

function isNil(value: unknown): boolean {
  return value === null || value === undefined;
}

function eq(arg1: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new Error('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const arg of rest) {
    const k2 = basicKind(arg);
    let truth: boolean;
    if (k1 !== k2) {
      if (!isNil(arg1) && !isNil(arg)) throw new Error('incompatible types for comparison');
      truth = false;
    } else if (k1 === 'invalid') {
      if (isNil(arg1) || isNil(arg)) truth = isNil(arg1) === isNil(arg);
      else throw new Error(`non-comparable type ${formatValue(arg)}: ${goTypeName(arg)}`);
    } else if (k1 === 'number') {
      truth = Number(arg1) === Number(arg);
    } else {
      truth = arg1 === arg;
    }
    if (truth) return true;
  }
  return false;
}

function lt(arg1: unknown, arg2: unknown): boolean {
  const k1 = basicKind(arg1);
  const k2 = basicKind(arg2);
  if (k1 === 'invalid' || k2 === 'invalid') throw new Error('invalid type for comparison');
  if (k1 !== k2) throw new Error('incompatible types for comparison');
  if (k1 === 'bool') throw new Error('invalid type for comparison');
  if (k1 === 'number') return Number(arg1) < Number(arg2);
  return (arg1 as string) < (arg2 as string);
}

function indexArg(index: unknown, cap: number): number {
  if (index === null || index === undefined) throw new Error('cannot index slice/array with nil');
  if (!isGoInt(index)) throw new Error(`cannot index slice/array with type ${goTypeName(index)}`);
  const x = Number(index);
  if (x < 0 || x > cap) throw new Error(`index out of range: ${x}`);
  return x;
}

function mapLookup(map: Record<string, unknown> | Map<unknown, unknown>, key: unknown): unknown {
  if (map instanceof Map) return map.get(key);
  if (typeof key !== 'string') throw new Error(`value has type ${goTypeName(key)}; should be string`);
  return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}

/** The value Go yields for a missing key: "" for maps of strings, like docker's map[string]string labels. */
function missingMapValue(map: Record<string, unknown> | Map<unknown, unknown>): unknown {
  const values = map instanceof Map ? [...map.values()] : Object.values(map);
  return values.every((v) => typeof v === 'string') ? '' : undefined;
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined) throw new Error('index of untyped nil');
  for (const idx of indexes) {
    if (item === null || item === undefined) {
      // A JSON null stands for a typed nil map, which indexes to its zero value.
      if (typeof idx === 'string') return '';
      throw new Error('index of untyped nil');
    }
    if (typeof item === 'string') {
      const bytes = Buffer.from(item, 'utf8');
      const x = indexArg(idx, bytes.length);
      if (x === bytes.length) throw new Error(`index out of range: ${x}`);
      item = bytes[x];
    } else if (Array.isArray(item)) {
      const x = indexArg(idx, item.length);
      if (x === item.length) throw new Error(`index out of range: ${x}`);
      item = item[x];
    } else if (isGoMap(item)) {
      const found = mapLookup(item, idx);
      item = found === undefined ? missingMapValue(item) : found;
    } else {
      throw new Error(`can't index item of type ${goTypeName(item)}`);
    }
  }
  return item;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (item === null || item === undefined) throw new Error('slice of untyped nil');
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  let length: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new Error('cannot 3-index slice a string');
    length = byteLength(item);
  } else if (Array.isArray(item)) {
    length = item.length;
  } else {
    throw new Error(`can't slice item of type ${goTypeName(item)}`);
  }
  const idx = [0, length, length];
  indexes.forEach((index, i) => (idx[i] = indexArg(index, length)));
  if (idx[0] > idx[1]) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2]) throw new Error(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (typeof item === 'string') return Buffer.from(item, 'utf8').subarray(idx[0], idx[1]).toString('utf8');
  return (item as unknown[]).slice(idx[0], idx[1]);
}

function length(item: unknown): number {
  if (item === null || item === undefined) throw new Error('len of nil pointer');
  if (typeof item === 'string') return byteLength(item);
  if (Array.isArray(item)) return item.length;
  if (item instanceof Map) return item.size;
  if (isGoMap(item)) return Object.keys(item).length;
  throw new Error(`len of type ${goTypeName(item)}`);
}

/** fmt.Sprint of the arguments, except that one string argument is taken as-is. */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(...args);
}

const HTML_ESCAPES: Record<string, string> = {
  '"': '&#34;',
  "'": '&#39;',
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
};

function htmlEscape(...args: unknown[]): string {
  return evalArgs(args).replace(/["'&<>]/g, (ch) => HTML_ESCAPES[ch]);
}

function jsEscape(...args: unknown[]): string {
  let out = '';
  for (const ch of evalArgs(args)) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '\\' || ch === "'" || ch === '"') out += '\\' + ch;
    else if (ch === '<') out += '\\u003C';
    else if (ch === '>') out += '\\u003E';
    else if (ch === '&') out += '\\u0026';
    else if (ch === '=') out += '\\u003D';
    else if (cp < 0x20) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    else out += ch;
  }
  return out;
}

function urlQueryEscape(...args: unknown[]): string {
  return encodeURIComponent(evalArgs(args))
    .replace(/[!'()*]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

function call(fn: unknown, ...args: unknown[]): unknown {
  if (typeof fn !== 'function') {
    throw new Error(`non-function ${fn === undefined ? 'of untyped nil' : `of type ${goTypeName(fn)}`}`);
  }
  return fn(...args);
}

/** Go's builtins; `and` and `or` are evaluated lazily by the executor. */
export const builtinFuncs: FuncMap = {
  and: withArity((...args: unknown[]) => args.find((a) => !isTrue(a)) ?? args[args.length - 1], 1, true),
  or: withArity((...args: unknown[]) => args.find((a) => isTrue(a)) ?? args[args.length - 1], 1, true),
  not: withArity((arg: unknown) => !isTrue(arg), 1),
  len: withArity(length, 1),
  index: withArity(index, 1, true),
  slice: withArity(slice, 1, true),
  call: withArity(call, 1, true),
  print: withArity(sprint, 0, true),
  printf: withArity(
    (format: unknown, ...args: unknown[]) => sprintf(expectString(format, 0), ...args),
    1,
    true,
  ),
  println: withArity(sprintln, 0, true),
  html: withArity(htmlEscape, 0, true),
  js: withArity(jsEscape, 0, true),
  urlquery: withArity(urlQueryEscape, 0, true),
  eq: withArity(eq, 1, true),
  ne: withArity((a: unknown, b: unknown) => !eq(a, b), 2),
  lt: withArity(lt, 2),
  le: withArity((a: unknown, b: unknown) => lt(a, b) || eq(a, b), 2),
  gt: withArity((a: unknown, b: unknown) => !(lt(a, b) || eq(a, b)), 2),
  ge: withArity((a: unknown, b: unknown) => !lt(a, b), 2),
};

// ---------------------------------------------------------------------------
// docker/cli's template functions

function isTitleSeparator(ch: string): boolean {
  if (/^[0-9A-Za-z_]$/.test(ch)) return false;
  if ((ch.codePointAt(0) ?? 0) <= 0x7f) return true;
  if (/^[\p{L}\p{Nd}]$/u.test(ch)) return false;
  return /^\s$/u.test(ch);
}

/** strings.Title: upper-cases the first letter of each word. */
export function goTitle(text: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of text) {
    out += isTitleSeparator(prev) ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

/** strings.Split: an empty separator splits into characters. */
function goSplit(text: string, sep: string): string[] {
  return sep === '' ? Array.from(text) : text.split(sep);
}

function join(elems: unknown, sep: unknown): string {
  const separator = expectString(sep, 1);
  if (elems === null || elems === undefined) return '';
  if (Array.isArray(elems)) {
    return elems.map((e) => (typeof e === 'string' ? e : sprint(e))).join(separator);
  }
  if (isGoMap(elems)) {
    const values = sortedMapEntries(elems).map(([, v]) => sprint(v));
    return values.sort().join(separator);
  }
  throw new Error(`expected slice, got ${goTypeName(elems)}`);
}

function truncate(source: unknown, len: unknown): string {
  const text = expectString(source, 0);
  const n = expectInt(len, 1);
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length < n) return text;
  if (n < 0) throw new Error(`runtime error: slice bounds out of range [:${n}]`);
  return bytes.subarray(0, n).toString('utf8');
}

function pad(source: unknown, prefix: unknown, suffix: unknown): string {
  const text = expectString(source, 0);
  const before = expectInt(prefix, 1);
  const after = expectInt(suffix, 2);
  if (text === '') return text;
  if (before < 0 || after < 0) throw new Error('strings: negative Repeat count');
  return ' '.repeat(before) + text + ' '.repeat(after);
}

/** The functions docker/cli registers for every --format template. */
export const dockerFuncs: FuncMap = {
  json: withArity(goJSON, 1),
  split: withArity((s: unknown, sep: unknown) => goSplit(expectString(s, 0), expectString(sep, 1)), 2),
  join: withArity(join, 2),
  title: withArity((s: unknown) => goTitle(expectString(s, 0)), 1),
  lower: withArity((s: unknown) => expectString(s, 0).toLowerCase(), 1),
  upper: withArity((s: unknown) => expectString(s, 0).toUpperCase(), 1),
  pad: withArity(pad, 3),
  truncate: withArity(truncate, 2),
};

/**
 * docker/cli's replacements used when rendering a table header, so that
 * `{{upper .Name}}` still prints the column title unchanged.
 */
export const headerFuncs: FuncMap = {
  json: withArity((v: unknown) => expectString(v, 0), 1),
  split: withArity((v: unknown, sep: unknown) => [expectString(v, 0), expectString(sep, 1)][0], 2),
  join: withArity((v: unknown, sep: unknown) => [expectString(v, 0), expectString(sep, 1)][0], 2),
  title: withArity((v: unknown) => expectString(v, 0), 1),
  lower: withArity((v: unknown) => expectString(v, 0), 1),
  upper: withArity((v: unknown) => expectString(v, 0), 1),
  truncate: withArity((v: unknown, n: unknown) => [expectString(v, 0), expectInt(n, 1)][0], 2),
};
