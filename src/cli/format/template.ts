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
  structTypeOf,
  formatValue,
} from './gofmt.js';
import {
  arityOf,
  builtinFuncs,
  dockerFuncs,
  isTrue,
  TemplateFuncError,
  type FuncMap,
  type TemplateFunc,
} from './template-funcs.js';
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
export {
  builtinFuncs,
  dockerFuncs,
  expectInt,
  expectString,
  goJSON,
  headerFuncs,
  isTrue,
  TemplateFuncError,
  withArity,
  type FuncMap,
  type TemplateFunc,
} from './template-funcs.js';

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
        return this.errorf('nil is not a command');
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
    const arity = arityOf(fn);
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
        return this.errorf(`cannot assign nil to ${err.expected}`);
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
