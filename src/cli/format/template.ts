/**
 * A Go text/template engine for docker's --format: the grammar of Go's
 * text/template, its builtin functions, and the functions docker/cli adds
 * (json, split, join, title, lower, upper, pad, truncate).
 *
 * Data is plain JavaScript: objects and Maps behave as Go maps (missing keys
 * print "<no value>"), arrays as slices. A function-valued property behaves as
 * a Go method: `.Label "x"` calls it with the arguments, `.Names` calls it with
 * none. An object with a GO_TYPE name behaves as a Go struct of that type, so a
 * missing field is an error, as for docker's formatter contexts.
 */
import {
  GO_TYPE,
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
import {
  nodeString,
  parse,
  TemplateError,
  type ArgNode,
  type CommandNode,
  type ControlNode,
  type FieldNode,
  type IdentifierNode,
  type Node,
  type ParsedTemplate,
  type PipeNode,
  type VariableNode,
} from './template-parse.js';

export { GO_TYPE, TemplateError };

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

const ARITY = new WeakMap<TemplateFunc, { min: number; variadic: boolean }>();

/** Declares how many arguments a function takes, so calls are checked as Go checks them. */
export function withArity<F extends TemplateFunc>(fn: F, min: number, variadic = false): F {
  ARITY.set(fn, { min, variadic });
  return fn;
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

// ---------------------------------------------------------------------------
// Execution

const MISSING: unique symbol = Symbol('missing');
type Final = unknown | typeof MISSING;

const BREAK: unique symbol = Symbol('break');
const CONTINUE: unique symbol = Symbol('continue');

const MAX_TEMPLATE_DEPTH = 1000;

/**
 * What a missing map key yields. 'default': "<no value>", as Go. 'error': a
 * failure, as Go's missingkey=error. 'inspect': what docker inspect shows,
 * which runs templates on typed structs and, when that fails, on raw maps with
 * missingkey=error: a missing field of an object that looks like a Go struct
 * (see looksLikeGoStruct) fails, a missing key of other objects gives
 * "<no value>".
 */
export type MissingKey = 'default' | 'error' | 'inspect';

export interface ExecuteOptions {
  missingKey?: MissingKey;
}

interface Variable {
  name: string;
  value: unknown;
}

type AnyNode = Node | ArgNode | CommandNode;

class ExecState {
  readonly out: string[] = [];
  vars: Variable[];
  node: AnyNode | undefined;
  templateName = '';
  depth = 0;

  constructor(
    private readonly tmpl: ParsedTemplate,
    private readonly funcs: FuncMap,
    private readonly missingKey: MissingKey,
    data: unknown,
  ) {
    this.vars = [{ name: '$', value: data }];
  }

  at(node: AnyNode): void {
    this.node = node;
  }

  errorf(message: string): never {
    let text: string;
    if (this.node === undefined) {
      text = `template: ${this.templateName}: ${message}`;
    } else {
      const before = Buffer.from(this.tmpl.text, 'utf8').subarray(0, this.node.pos);
      const lastNewline = before.lastIndexOf(10);
      const column = lastNewline < 0 ? this.node.pos : this.node.pos - (lastNewline + 1);
      let line = 1;
      for (const byte of before) if (byte === 10) line++;
      const context = nodeString(this.node);
      text = `template: :${line}:${column}: executing "${this.templateName}" at <${context}>: ${message}`;
    }
    throw new TemplateError(text, 'exec');
  }

  mark(): number {
    return this.vars.length;
  }

  pop(mark: number): void {
    this.vars.length = mark;
  }

  setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  setTopVar(n: number, value: unknown): void {
    this.vars[this.vars.length - n].value = value;
  }

  varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) return this.vars[i].value;
    }
    this.errorf(`undefined variable: ${name}`);
  }

  walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.kind) {
      case 'action': {
        const value = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, value);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'comment':
        return;
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'list':
        for (const child of node.nodes) this.walk(dot, child);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node.name, node.pipe);
      case 'text':
        this.out.push(node.text);
        return;
    }
  }

  walkIfOrWith(dot: unknown, node: ControlNode): void {
    const mark = this.mark();
    try {
      const value = this.evalPipeline(dot, node.pipe);
      if (isTrue(value)) this.walk(node.kind === 'with' ? value : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.pop(mark);
    }
  }

  walkRange(dot: unknown, node: ControlNode): void {
    this.at(node);
    const outerMark = this.mark();
    try {
      const value = this.evalPipeline(dot, node.pipe);
      const mark = this.mark();
      const decl = node.pipe.decl;
      const oneIteration = (key: unknown, elem: unknown): void => {
        if (decl.length > 0) {
          if (node.pipe.isAssign) this.setVar(decl[0].ident[0], decl.length > 1 ? key : elem);
          else this.setTopVar(1, elem);
        }
        if (decl.length > 1) {
          if (node.pipe.isAssign) this.setVar(decl[1].ident[0], elem);
          else this.setTopVar(2, key);
        }
        try {
          this.walk(elem, node.list);
        } catch (err) {
          if (err !== CONTINUE) throw err;
        } finally {
          this.pop(mark);
        }
      };
      let iterated = false;
      try {
        iterated = this.iterate(value, decl.length, oneIteration);
      } catch (err) {
        if (err !== BREAK) throw err;
        return;
      }
      if (!iterated && node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.pop(outerMark);
    }
  }

  /** Runs one iteration per element; reports whether there was any. */
  iterate(value: unknown, declCount: number, oneIteration: (key: unknown, elem: unknown) => void): boolean {
    if (value === undefined || value === null) return false;
    if (Array.isArray(value)) {
      value.forEach((elem, i) => oneIteration(i, elem));
      return value.length > 0;
    }
    if (isGoInt(value)) {
      if (declCount > 1)
        this.errorf(`can't use ${formatValue(value)} to iterate over more than one variable`);
      const n = Number(value);
      for (let i = 0; i < n; i++) oneIteration(i, i);
      return n > 0;
    }
    if (isGoMap(value)) {
      const entries = sortedMapEntries(value);
      for (const [key, elem] of entries) oneIteration(key, elem);
      return entries.length > 0;
    }
    this.errorf(`range can't iterate over ${formatValue(value)}`);
  }

  walkTemplate(dot: unknown, name: string, pipe: PipeNode | undefined): void {
    const list = this.tmpl.defined.get(name);
    if (!list) this.errorf(`template "${name}" not defined`);
    if (this.depth >= MAX_TEMPLATE_DEPTH)
      this.errorf(`exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`);
    const value = this.evalPipeline(dot, pipe);
    const saved = { vars: this.vars, name: this.templateName };
    this.vars = [{ name: '$', value }];
    this.templateName = name;
    this.depth++;
    try {
      this.walk(value, list);
    } finally {
      this.depth--;
      this.vars = saved.vars;
      this.templateName = saved.name;
    }
  }

  printValue(node: AnyNode, value: unknown): void {
    this.at(node);
    if (value === undefined) {
      this.out.push('<no value>');
      return;
    }
    if (typeof value === 'function')
      this.errorf(`can't print ${nodeString(node)} of type ${goTypeName(value)}`);
    this.out.push(formatValue(value));
  }

  evalPipeline(dot: unknown, pipe: PipeNode | undefined): unknown {
    if (!pipe) return dot;
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // A nil interface{} holds nothing: Go digs into it and finds no value.
      if (value === null) value = undefined;
    }
    for (const variable of pipe.decl) {
      if (pipe.isAssign) this.setVar(variable.ident[0], value);
      else this.vars.push({ name: variable.ident[0], value });
    }
    return value;
  }

  notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING)
      this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.kind) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain': {
        this.at(first);
        if (first.node.kind === 'nil')
          this.errorf(`indirection through explicit nil in ${nodeString(first)}`);
        const receiver = this.evalArg(dot, first.node);
        return this.evalFieldChain(dot, receiver, first, first.field, cmd.args, final);
      }
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      // falls through (errorf throws)
      case 'number':
        return first.value;
      case 'string':
        return first.text;
    }
  }

  evalFieldNode(dot: unknown, field: FieldNode, args: ArgNode[], final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  evalVariableNode(dot: unknown, variable: VariableNode, args: ArgNode[], final: Final): unknown {
    this.at(variable);
    const value = this.varValue(variable.ident[0]);
    if (variable.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, variable, variable.ident.slice(1), args, final);
  }

  evalFieldChain(
    dot: unknown,
    receiver: unknown,
    node: AnyNode,
    ident: string[],
    args: ArgNode[],
    final: Final,
  ): unknown {
    const n = ident.length;
    let fromMap = false;
    for (let i = 0; i < n - 1; i++) {
      const receiverIsMap = isGoMap(receiver);
      receiver = this.evalField(dot, ident[i], node, [], MISSING, receiver, fromMap);
      fromMap = receiverIsMap;
    }
    return this.evalField(dot, ident[n - 1], node, args, final, receiver, fromMap);
  }

  /** fromMap: the receiver was just looked up in a map, so Go holds it as an interface {}. */
  evalField(
    dot: unknown,
    name: string,
    node: AnyNode,
    args: ArgNode[],
    final: Final,
    receiver: unknown,
    fromMap = false,
  ): unknown {
    if (receiver === undefined) {
      if (this.missingKey === 'error') this.errorf(`nil data; no entry for key "${name}"`);
      return undefined;
    }
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${name}`);
    const hasArgs = args.length > 1 || final !== MISSING;
    const structType = structTypeOf(receiver);
    if (receiver instanceof Map) {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      if (receiver.has(name)) return receiver.get(name);
      return this.missingKeyValue(name, receiver);
    }
    if (typeof receiver === 'object' && !Array.isArray(receiver)) {
      const found = lookupProperty(receiver, name);
      if (found.ok && typeof found.value === 'function') {
        return this.evalCall(
          dot,
          (found.value as TemplateFunc).bind(receiver),
          false,
          node,
          name,
          args,
          final,
        );
      }
      if (found.ok) {
        if (hasArgs) {
          this.errorf(
            structType !== undefined
              ? `${name} has arguments but cannot be invoked as function`
              : `${name} is not a method but has arguments`,
          );
        }
        return found.value;
      }
      if (structType === undefined) {
        if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
        return this.missingKeyValue(name, receiver);
      }
    }
    // docker inspect's raw fallback holds map values as interface {}.
    const typeName = this.missingKey === 'inspect' && fromMap ? 'interface {}' : goTypeName(receiver);
    this.errorf(`can't evaluate field ${name} in type ${typeName}`);
  }

  missingKeyValue(name: string, receiver: object): undefined {
    if (this.missingKey === 'error' || (this.missingKey === 'inspect' && looksLikeGoStruct(receiver))) {
      this.errorf(`map has no entry for key "${name}"`);
    }
    return undefined;
  }

  /** cmd is where Go reports a failed call: the whole command, or the identifier used as an argument. */
  evalFunction(dot: unknown, ident: IdentifierNode, cmd: AnyNode, args: ArgNode[], final: Final): unknown {
    this.at(ident);
    const fn = this.funcs[ident.name];
    if (fn === undefined) this.errorf(`"${ident.name}" is not a defined function`);
    return this.evalCall(dot, fn, true, cmd, ident.name, args, final);
  }

  evalCall(
    dot: unknown,
    fn: TemplateFunc,
    isBuiltin: boolean,
    node: AnyNode,
    name: string,
    args: ArgNode[],
    final: Final,
  ): unknown {
    const argNodes = args.slice(1);
    const numIn = argNodes.length + (final === MISSING ? 0 : 1);
    const arity = ARITY.get(fn);
    if (arity) {
      if (arity.variadic && numIn < arity.min) {
        this.errorf(`wrong number of args for ${name}: want at least ${arity.min} got ${argNodes.length}`);
      }
      if (!arity.variadic && numIn !== arity.min) {
        this.errorf(`wrong number of args for ${name}: want ${arity.min} got ${numIn}`);
      }
    }
    if (
      isBuiltin &&
      (name === 'and' || name === 'or') &&
      fn === this.funcs[name] &&
      fn === builtinFuncs[name]
    ) {
      let value: unknown;
      for (const arg of argNodes) {
        value = this.evalArg(dot, arg);
        if (isTrue(value) === (name === 'or')) return value;
      }
      return final === MISSING ? value : final;
    }
    const argv = argNodes.map((arg) => this.evalArg(dot, arg));
    if (final !== MISSING) argv.push(final);
    try {
      return fn(...argv);
    } catch (err) {
      if (err instanceof TemplateError || err === BREAK || err === CONTINUE) throw err;
      if (err instanceof TemplateFuncError) this.argumentError(err, argNodes);
      this.at(node);
      this.errorf(`error calling ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Reports a bad argument where Go does: at the argument, worded for literals as Go words them. */
  argumentError(err: TemplateFuncError, argNodes: ArgNode[]): never {
    const argNode = err.argIndex === undefined ? undefined : argNodes[err.argIndex];
    if (argNode === undefined) this.errorf(err.message);
    this.at(argNode);
    const expected = err.expected === 'int' ? 'integer' : err.expected;
    switch (argNode.kind) {
      case 'nil':
        this.errorf(`cannot assign nil to ${err.expected}`);
      // falls through (errorf throws)
      case 'bool':
      case 'number':
      case 'string':
        if (expected !== undefined) this.errorf(`expected ${expected}; found ${nodeString(argNode)}`);
    }
    this.errorf(err.message);
  }

  evalArg(dot: unknown, node: ArgNode): unknown {
    this.at(node);
    switch (node.kind) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'field':
        return this.evalFieldNode(dot, node, [node], MISSING);
      case 'variable':
        return this.evalVariableNode(dot, node, [], MISSING);
      case 'pipe':
        return this.evalPipeline(dot, node);
      case 'identifier':
        return this.evalFunction(dot, node, node, [], MISSING);
      case 'chain': {
        if (node.node.kind === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(node)}`);
        const receiver = this.evalArg(dot, node.node);
        return this.evalFieldChain(dot, receiver, node, node.field, [], MISSING);
      }
      case 'bool':
        return node.value;
      case 'number':
        return node.value;
      case 'string':
        return node.text;
    }
  }
}

/** Own or inherited property, but neither Object.prototype's nor a class's constructor. */
function lookupProperty(receiver: object, name: string): { ok: boolean; value?: unknown } {
  for (
    let obj: object | null = receiver;
    obj !== null && obj !== Object.prototype;
    obj = Object.getPrototypeOf(obj)
  ) {
    if (name === 'constructor' && obj !== receiver) break;
    if (Object.prototype.hasOwnProperty.call(obj, name))
      return { ok: true, value: Reflect.get(receiver, name) };
  }
  return { ok: false };
}

export interface ParseOptions {
  /** Functions beyond Go's builtins and docker's, known when the template is parsed. */
  funcs?: FuncMap;
}

/** A parsed template, ready to run against data any number of times. */
export class Template {
  constructor(
    private readonly parsed: ParsedTemplate,
    private readonly parseFuncs: FuncMap,
  ) {}

  /** The template source text. */
  get text(): string {
    return this.parsed.text;
  }

  /**
   * Renders data. funcs override functions of the same name (docker swaps in
   * its header functions this way). Throws TemplateError, whose output holds
   * what was rendered before the failure.
   */
  execute(data: unknown, funcs?: FuncMap, options: ExecuteOptions = {}): string {
    const allFuncs = { ...builtinFuncs, ...dockerFuncs, ...this.parseFuncs, ...funcs };
    const state = new ExecState(this.parsed, allFuncs, options.missingKey ?? 'default', data);
    try {
      state.walk(data, this.parsed.root);
    } catch (err) {
      if (err instanceof TemplateError) {
        err.output = state.out.join('');
        throw err;
      }
      throw err;
    }
    return state.out.join('');
  }
}

/** Parses Go template text; throws TemplateError ("template: :1: ...") on bad syntax. */
export function parseTemplate(text: string, options: ParseOptions = {}): Template {
  const funcs = options.funcs ?? {};
  const hasFunction = (name: string): boolean =>
    Object.prototype.hasOwnProperty.call(builtinFuncs, name) ||
    Object.prototype.hasOwnProperty.call(dockerFuncs, name) ||
    Object.prototype.hasOwnProperty.call(funcs, name);
  return new Template(parse(text, hasFunction), funcs);
}
