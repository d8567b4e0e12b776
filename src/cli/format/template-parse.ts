/**
 * Parser for Go text/template: builds the node tree Go's text/template/parse
 * would, with the same error messages ("template: :1: unexpected ...").
 */
import { quote } from './gofmt.js';
import { isKeyword, lex, type Token, type TokenType } from './template-lex.js';

export interface TextNode {
  kind: 'text';
  pos: number;
  text: string;
}
export interface CommentNode {
  kind: 'comment';
  pos: number;
}
export interface ActionNode {
  kind: 'action';
  pos: number;
  pipe: PipeNode;
}
export interface ControlNode {
  kind: 'if' | 'with' | 'range';
  pos: number;
  pipe: PipeNode;
  list: ListNode;
  elseList?: ListNode;
}
export interface TemplateNode {
  kind: 'template';
  pos: number;
  name: string;
  pipe?: PipeNode;
}
export interface LoopControlNode {
  kind: 'break' | 'continue';
  pos: number;
}
export interface ListNode {
  kind: 'list';
  pos: number;
  nodes: Node[];
}
export type Node =
  TextNode | CommentNode | ActionNode | ControlNode | TemplateNode | LoopControlNode | ListNode;

export interface PipeNode {
  kind: 'pipe';
  pos: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
export interface CommandNode {
  kind: 'command';
  pos: number;
  args: ArgNode[];
}
export interface FieldNode {
  kind: 'field';
  pos: number;
  ident: string[];
}
export interface ChainNode {
  kind: 'chain';
  pos: number;
  node: ArgNode;
  field: string[];
}
export interface IdentifierNode {
  kind: 'identifier';
  pos: number;
  name: string;
}
export interface VariableNode {
  kind: 'variable';
  pos: number;
  ident: string[];
}
export interface DotNode {
  kind: 'dot';
  pos: number;
}
export interface NilNode {
  kind: 'nil';
  pos: number;
}
export interface BoolNode {
  kind: 'bool';
  pos: number;
  value: boolean;
}
export interface NumberNode {
  kind: 'number';
  pos: number;
  text: string;
  value: number;
  isInt: boolean;
}
export interface StringNode {
  kind: 'string';
  pos: number;
  quoted: string;
  text: string;
}
export type ArgNode =
  | FieldNode
  | ChainNode
  | IdentifierNode
  | VariableNode
  | DotNode
  | NilNode
  | BoolNode
  | NumberNode
  | StringNode
  | PipeNode;

type EndNode = { kind: 'end'; pos: number } | { kind: 'else'; pos: number };

/**
 * A template failure, worded like Go's: "template: :LINE: message" when
 * parsing, "template: :LINE:COL: executing "" at <NODE>: message" when
 * executing. output holds what execution wrote before it failed.
 */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly phase: 'parse' | 'exec' = 'parse',
    public output = '',
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Renders a node back to template syntax, as Go's Node.String does (used in error contexts). */
export function nodeString(node: Node | ArgNode | CommandNode): string {
  switch (node.kind) {
    case 'text':
      return quote(node.text);
    case 'comment':
      return '{{/* */}}';
    case 'action':
      return `{{${nodeString(node.pipe)}}}`;
    case 'if':
    case 'with':
    case 'range': {
      const elsePart = node.elseList ? `{{else}}${nodeString(node.elseList)}` : '';
      return `{{${node.kind} ${nodeString(node.pipe)}}}${nodeString(node.list)}${elsePart}{{end}}`;
    }
    case 'template':
      return node.pipe
        ? `{{template ${quote(node.name)} ${nodeString(node.pipe)}}}`
        : `{{template ${quote(node.name)}}}`;
    case 'break':
    case 'continue':
      return `{{${node.kind}}}`;
    case 'list':
      return node.nodes.map(nodeString).join('');
    case 'pipe': {
      let out = '';
      if (node.decl.length > 0) {
        out = node.decl.map(nodeString).join(', ') + (node.isAssign ? ' = ' : ' := ');
      }
      return out + node.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return node.args
        .map((arg) => (arg.kind === 'pipe' ? `(${nodeString(arg)})` : nodeString(arg)))
        .join(' ');
    case 'field':
      return node.ident.map((id) => '.' + id).join('');
    case 'chain': {
      const base = node.node.kind === 'pipe' ? `(${nodeString(node.node)})` : nodeString(node.node);
      return base + node.field.map((id) => '.' + id).join('');
    }
    case 'identifier':
      return node.name;
    case 'variable':
      return node.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(node.value);
    case 'number':
      return node.text;
    case 'string':
      return node.quoted;
  }
}

/** Whether a tree holds nothing but space and comments (Go's IsEmptyTree). */
function isEmptyTree(node: Node): boolean {
  switch (node.kind) {
    case 'comment':
      return true;
    case 'list':
      return node.nodes.every(isEmptyTree);
    case 'text':
      return node.text.trim() === '';
  }
  return false;
}

function tokenString(token: Token): string {
  if (token.type === 'eof') return 'EOF';
  if (token.type === 'error') return token.val;
  if (isKeyword(token.type)) return `<${token.val}>`;
  if (Array.from(token.val).length > 10) return quote(Array.from(token.val).slice(0, 10).join('')) + '...';
  return quote(token.val);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
};

/** strconv.Unquote for "..." , `...` and '...' literals; throws "invalid syntax". */
export function unquote(literal: string): string {
  const q = literal[0];
  if (literal.length < 2 || literal[literal.length - 1] !== q) throw new Error('invalid syntax');
  const body = literal.slice(1, -1);
  if (q === '`') {
    if (body.includes('`')) throw new Error('invalid syntax');
    return body.replace(/\r/g, '');
  }
  if (q !== '"' && q !== "'") throw new Error('invalid syntax');
  let out = '';
  for (let i = 0; i < body.length;) {
    const ch = body[i];
    if (ch === q || ch === '\n') throw new Error('invalid syntax');
    if (ch !== '\\') {
      out += ch;
      i++;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw new Error('invalid syntax');
    if (e in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[e];
      i += 2;
    } else if (e === q) {
      out += q;
      i += 2;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const digits = body.slice(i + 2, i + 2 + n);
      if (digits.length !== n || !/^[0-9a-fA-F]+$/.test(digits)) throw new Error('invalid syntax');
      const cp = parseInt(digits, 16);
      if (e !== 'x' && (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) throw new Error('invalid syntax');
      // \x escapes are bytes; values above 0x7f would make invalid UTF-8 in Go.
      out += String.fromCodePoint(cp);
      i += 2 + n;
    } else if (e >= '0' && e <= '7') {
      const digits = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(digits)) throw new Error('invalid syntax');
      const value = parseInt(digits, 8);
      if (value > 255) throw new Error('invalid syntax');
      out += String.fromCharCode(value);
      i += 4;
    } else {
      throw new Error('invalid syntax');
    }
  }
  if (q === "'" && Array.from(out).length !== 1) throw new Error('invalid syntax');
  return out;
}

function parseNumberLiteral(text: string, type: TokenType): { value: number; isInt: boolean } {
  if (type === 'charConstant') {
    const ch = unquote(text);
    return { value: ch.codePointAt(0) ?? 0, isInt: true };
  }
  const clean = text.replace(/_/g, '');
  if (/i$/.test(clean)) throw new Error(`complex numbers are not supported: ${text}`);
  const sign = clean.startsWith('-') ? -1 : 1;
  const unsigned = clean.replace(/^[+-]/, '');
  let match: RegExpMatchArray | null;
  if ((match = unsigned.match(/^0[xX]([0-9a-fA-F]+)$/)))
    return { value: sign * parseInt(match[1], 16), isInt: true };
  if ((match = unsigned.match(/^0[oO]?([0-7]+)$/)))
    return { value: sign * parseInt(match[1], 8), isInt: true };
  if ((match = unsigned.match(/^0[bB]([01]+)$/))) return { value: sign * parseInt(match[1], 2), isInt: true };
  if (/^[0-9]+$/.test(unsigned)) return { value: sign * Number(unsigned), isInt: true };
  if (/^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(unsigned)) {
    const value = sign * Number(unsigned);
    // Go keeps a float constant whose value is integral usable where ints are wanted.
    return { value, isInt: Number.isInteger(value) };
  }
  throw new Error(`illegal number syntax: ${quote(text)}`);
}

export interface ParsedTemplate {
  root: ListNode;
  /** Templates introduced with {{define}} or {{block}}. */
  defined: Map<string, ListNode>;
  text: string;
}

class Parser {
  private tokens: Token[];
  private index = 0;
  private current: Token;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;

  constructor(
    text: string,
    private readonly hasFunction: (name: string) => boolean,
    private readonly defined: Map<string, ListNode>,
  ) {
    this.tokens = lex(text, { breakOK: !hasFunction('break'), continueOK: !hasFunction('continue') });
    this.current = this.tokens[0];
  }

  errorf(message: string): never {
    throw new TemplateError(`template: :${this.current.line}: ${message}`);
  }

  next(): Token {
    const token = this.tokens[Math.min(this.index, this.tokens.length - 1)];
    this.index++;
    this.current = token;
    return token;
  }

  backup(n = 1): void {
    this.index -= n;
  }

  peek(): Token {
    return this.tokens[Math.min(this.index, this.tokens.length - 1)];
  }

  nextNonSpace(): Token {
    let token: Token;
    do token = this.next();
    while (token.type === 'space');
    return token;
  }

  /** Like Go's: skips spaces for good, leaving the next token unread. */
  peekNonSpace(): Token {
    const token = this.nextNonSpace();
    this.backup();
    return token;
  }

  expect(type: TokenType, context: string): Token {
    const token = this.nextNonSpace();
    if (token.type !== type) this.unexpected(token, context);
    return token;
  }

  unexpected(token: Token, context: string): never {
    if (token.type === 'error') {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at :${this.actionLine}`;
        if (token.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(token.val + extra);
    }
    this.errorf(`unexpected ${tokenString(token)} in ${context}`);
  }

  parse(): ListNode {
    const root: ListNode = { kind: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().type !== 'eof') {
      if (this.peek().type === 'leftDelim') {
        const start = this.index;
        this.next();
        if (this.nextNonSpace().type === 'define') {
          this.parseDefinition();
          continue;
        }
        this.index = start;
      }
      const node = this.textOrAction();
      if (node.kind === 'end' || node.kind === 'else') this.errorf(`unexpected {{${node.kind}}}`);
      root.nodes.push(node);
    }
    return root;
  }

  parseDefinition(): void {
    const context = 'define clause';
    const nameToken = this.nextNonSpace();
    if (nameToken.type !== 'string' && nameToken.type !== 'rawString') this.unexpected(nameToken, context);
    const name = this.unquoteToken(nameToken);
    this.expect('rightDelim', context);
    const { list, end } = this.itemList();
    if (end.kind !== 'end') this.errorf(`unexpected {{${end.kind}}} in ${context}`);
    this.define(name, list);
  }

  /** Adds a named template; only an empty definition may be replaced or replace. */
  define(name: string, list: ListNode): void {
    const existing = this.defined.get(name);
    if (existing && !isEmptyTree(existing)) {
      if (!isEmptyTree(list)) this.errorf(`template: multiple definition of template ${quote(name)}`);
      return;
    }
    this.defined.set(name, list);
  }

  itemList(): { list: ListNode; end: EndNode } {
    const list: ListNode = { kind: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().type !== 'eof') {
      const node = this.textOrAction();
      if (node.kind === 'end' || node.kind === 'else') return { list, end: node };
      list.nodes.push(node);
    }
    this.errorf('unexpected EOF');
  }

  textOrAction(): Node | EndNode {
    const token = this.nextNonSpace();
    switch (token.type) {
      case 'text':
        return { kind: 'text', pos: token.pos, text: token.val };
      case 'leftDelim':
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
    }
    this.unexpected(token, 'input');
  }

  action(): Node | EndNode {
    const token = this.nextNonSpace();
    switch (token.type) {
      case 'block':
        return this.blockControl();
      case 'break':
      case 'continue':
        return this.loopControl(token);
      case 'else':
        return this.elseControl();
      case 'end':
        return { kind: 'end', pos: this.expect('rightDelim', 'end').pos };
      case 'if':
      case 'range':
      case 'with':
        return this.control(token.type);
      case 'template':
        return this.templateControl();
    }
    this.backup();
    const start = this.peek();
    return { kind: 'action', pos: start.pos, pipe: this.pipeline('command', 'rightDelim') };
  }

  loopControl(token: Token): LoopControlNode {
    const kind = token.type as 'break' | 'continue';
    const next = this.nextNonSpace();
    if (next.type !== 'rightDelim') this.unexpected(next, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kind}}} outside {{range}}`);
    return { kind, pos: token.pos };
  }

  elseControl(): EndNode {
    const peek = this.peekNonSpace();
    // "{{else if ...}}" and "{{else with ...}}" behave as "{{else}}{{if ...}}...{{end}}".
    if (peek.type === 'if' || peek.type === 'with') return { kind: 'else', pos: peek.pos };
    const token = this.expect('rightDelim', 'else');
    return { kind: 'else', pos: token.pos };
  }

  control(kind: 'if' | 'range' | 'with'): ControlNode {
    const varsMark = this.vars.length;
    try {
      const pipe = this.pipeline(kind, 'rightDelim');
      if (kind === 'range') this.rangeDepth++;
      let result: { list: ListNode; end: EndNode };
      try {
        result = this.itemList();
      } finally {
        if (kind === 'range') this.rangeDepth--;
      }
      const { list, end } = result;
      let elseList: ListNode | undefined;
      if (end.kind === 'else') {
        const chained = this.peek().type;
        if ((kind === 'if' && chained === 'if') || (kind === 'with' && chained === 'with')) {
          this.next();
          elseList = { kind: 'list', pos: end.pos, nodes: [this.control(kind)] };
        } else {
          const rest = this.itemList();
          if (rest.end.kind !== 'end') this.errorf(`expected end; found {{${rest.end.kind}}}`);
          elseList = rest.list;
        }
      }
      return { kind, pos: pipe.pos, pipe, list, elseList };
    } finally {
      this.vars.length = varsMark;
    }
  }

  blockControl(): TemplateNode {
    const context = 'block clause';
    const token = this.nextNonSpace();
    const name = this.templateName(token, context);
    const pipe = this.pipeline(context, 'rightDelim');
    const outerVars = this.vars;
    this.vars = ['$'];
    try {
      const { list, end } = this.itemList();
      if (end.kind !== 'end') this.errorf(`unexpected {{${end.kind}}} in ${context}`);
      this.define(name, list);
    } finally {
      this.vars = outerVars;
    }
    return { kind: 'template', pos: token.pos, name, pipe };
  }

  templateControl(): TemplateNode {
    const context = 'template clause';
    const token = this.nextNonSpace();
    const name = this.templateName(token, context);
    let pipe: PipeNode | undefined;
    if (this.nextNonSpace().type !== 'rightDelim') {
      this.backup();
      pipe = this.pipeline(context, 'rightDelim');
    }
    return { kind: 'template', pos: token.pos, name, pipe };
  }

  templateName(token: Token, context: string): string {
    if (token.type !== 'string' && token.type !== 'rawString') this.unexpected(token, context);
    return this.unquoteToken(token);
  }

  unquoteToken(token: Token): string {
    try {
      return unquote(token.val);
    } catch (err) {
      this.errorf((err as Error).message);
    }
  }

  pipeline(context: string, end: TokenType): PipeNode {
    const first = this.peekNonSpace();
    const pipe: PipeNode = { kind: 'pipe', pos: first.pos, isAssign: false, decl: [], cmds: [] };
    this.declarations(pipe, context);
    for (;;) {
      const token = this.nextNonSpace();
      if (token.type === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (token.type) {
        case 'bool':
        case 'charConstant':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(token, context);
      }
    }
  }

  declarations(pipe: PipeNode, context: string): void {
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== 'variable') return;
      const mark = this.index;
      this.nextNonSpace();
      const next = this.peekNonSpace();
      if (next.type === 'assign' || next.type === 'declare') {
        pipe.isAssign = next.type === 'assign';
        this.nextNonSpace();
        pipe.decl.push({ kind: 'variable', pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
        return;
      }
      if (next.type === 'char' && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push({ kind: 'variable', pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const following = this.peekNonSpace().type;
          if (following === 'variable' || following === 'rightDelim' || following === 'rightParen') continue;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      }
      this.index = mark;
      return;
    }
  }

  checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((cmd, i) => {
      const kind = cmd.args[0].kind;
      if (kind === 'bool' || kind === 'dot' || kind === 'nil' || kind === 'number' || kind === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  command(): CommandNode {
    const cmd: CommandNode = { kind: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const token = this.next();
      if (token.type === 'space') continue;
      if (token.type === 'rightDelim' || token.type === 'rightParen') this.backup();
      else if (token.type !== 'pipe') this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  operand(): ArgNode | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().type !== 'field') return node;
    const pos = this.peek().pos;
    const fields: string[] = [];
    while (this.peek().type === 'field') fields.push(this.next().val.slice(1));
    switch (node.kind) {
      case 'field':
        return { kind: 'field', pos, ident: [...node.ident, ...fields] };
      case 'variable':
        return { kind: 'variable', pos, ident: [...node.ident, ...fields] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.errorf(`unexpected . after term ${quote(nodeString(node))}`);
    }
    return { kind: 'chain', pos, node, field: fields };
  }

  term(): ArgNode | undefined {
    const token = this.nextNonSpace();
    switch (token.type) {
      case 'identifier':
        if (!this.hasFunction(token.val)) this.errorf(`function ${quote(token.val)} not defined`);
        return { kind: 'identifier', pos: token.pos, name: token.val };
      case 'dot':
        return { kind: 'dot', pos: token.pos };
      case 'nil':
        return { kind: 'nil', pos: token.pos };
      case 'variable':
        return this.useVar(token);
      case 'field':
        return { kind: 'field', pos: token.pos, ident: token.val.slice(1).split('.') };
      case 'bool':
        return { kind: 'bool', pos: token.pos, value: token.val === 'true' };
      case 'charConstant':
      case 'number':
        try {
          const { value, isInt } = parseNumberLiteral(token.val, token.type);
          return { kind: 'number', pos: token.pos, text: token.val, value, isInt };
        } catch (err) {
          this.errorf((err as Error).message);
        }
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString':
        return { kind: 'string', pos: token.pos, quoted: token.val, text: this.unquoteToken(token) };
    }
    this.backup();
    return undefined;
  }

  useVar(token: Token): VariableNode {
    const ident = token.val.split('.');
    if (!this.vars.includes(ident[0])) this.errorf(`undefined variable ${quote(ident[0])}`);
    return { kind: 'variable', pos: token.pos, ident };
  }
}

/** Parses template text; hasFunction tells which identifiers name functions. */
export function parse(text: string, hasFunction: (name: string) => boolean): ParsedTemplate {
  const defined = new Map<string, ListNode>();
  const root = new Parser(text, hasFunction, defined).parse();
  return { root, defined, text };
}
