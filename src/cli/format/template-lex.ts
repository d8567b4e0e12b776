/**
 * Lexer for Go text/template syntax (the `{{ }}` language of docker's
 * --format), following the token rules of Go's text/template/parse.
 */

export type TokenType =
  | 'error'
  | 'bool'
  | 'char'
  | 'charConstant'
  | 'assign'
  | 'declare'
  | 'eof'
  | 'field'
  | 'identifier'
  | 'leftDelim'
  | 'leftParen'
  | 'number'
  | 'pipe'
  | 'rawString'
  | 'rightDelim'
  | 'rightParen'
  | 'space'
  | 'string'
  | 'text'
  | 'variable'
  // keywords
  | 'block'
  | 'break'
  | 'continue'
  | 'dot'
  | 'define'
  | 'else'
  | 'end'
  | 'if'
  | 'nil'
  | 'range'
  | 'template'
  | 'with';

export interface Token {
  type: TokenType;
  /** Byte offset into the template text (Go reports byte positions). */
  pos: number;
  val: string;
  line: number;
}

const KEYWORDS: Partial<Record<string, TokenType>> = {
  '.': 'dot',
  block: 'block',
  break: 'break',
  continue: 'continue',
  define: 'define',
  else: 'else',
  end: 'end',
  if: 'if',
  range: 'range',
  nil: 'nil',
  template: 'template',
  with: 'with',
};

export function isKeyword(type: TokenType): boolean {
  return Object.values(KEYWORDS).includes(type);
}

const LEFT_DELIM = '{{';
const RIGHT_DELIM = '}}';
const LEFT_COMMENT = '/*';
const RIGHT_COMMENT = '*/';
const TRIM_MARKER = '-';
const SPACE_CHARS = ' \t\r\n';

function isSpace(ch: string): boolean {
  return ch !== '' && SPACE_CHARS.includes(ch);
}

function isAlphaNumeric(ch: string): boolean {
  return ch === '_' || /^[\p{L}\p{Nd}]$/u.test(ch);
}

function hasLeftTrimMarker(s: string): boolean {
  return s.length >= 2 && s[0] === TRIM_MARKER && isSpace(s[1]);
}

function hasRightTrimMarker(s: string): boolean {
  return s.length >= 2 && isSpace(s[0]) && s[1] === TRIM_MARKER;
}

/** Describes a character as Go's %#U does, e.g. U+0023 '#'. */
function describeRune(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${ch}'`;
}

type StateFn = ((lexer: Lexer) => StateFn) | null;

class Lexer {
  readonly tokens: Token[] = [];
  pos = 0; // index into input (UTF-16 units)
  start = 0;
  width = 0;
  parenDepth = 0;
  private lineCache = { index: 0, line: 1 };

  constructor(
    readonly input: string,
    readonly breakOK: boolean,
    readonly continueOK: boolean,
  ) {}

  next(): string {
    if (this.pos >= this.input.length) {
      this.width = 0;
      return '';
    }
    const ch = String.fromCodePoint(this.input.codePointAt(this.pos) ?? 0);
    this.width = ch.length;
    this.pos += ch.length;
    return ch;
  }

  peek(): string {
    const ch = this.next();
    this.backup();
    return ch;
  }

  backup(): void {
    this.pos -= this.width;
    this.width = 0;
  }

  rest(): string {
    return this.input.slice(this.pos);
  }

  /** Line of a position; positions only grow, so counting resumes from the last call. */
  lineAt(index: number): number {
    if (index < this.lineCache.index) this.lineCache = { index: 0, line: 1 };
    const line = this.lineCache.line + countNewlines(this.input.slice(this.lineCache.index, index));
    this.lineCache = { index, line };
    return line;
  }

  push(type: TokenType, val: string): void {
    const pos = Buffer.byteLength(this.input.slice(0, this.start), 'utf8');
    this.tokens.push({ type, pos, val, line: this.lineAt(this.start) });
  }

  emit(type: TokenType): void {
    this.push(type, this.input.slice(this.start, this.pos));
    this.start = this.pos;
  }

  ignore(): void {
    this.start = this.pos;
  }

  accept(valid: string): boolean {
    const ch = this.next();
    if (ch !== '' && valid.includes(ch)) return true;
    this.backup();
    return false;
  }

  acceptRun(valid: string): void {
    for (;;) {
      const ch = this.next();
      if (ch === '' || !valid.includes(ch)) break;
    }
    this.backup();
  }

  errorf(message: string): StateFn {
    this.push('error', message);
    return null;
  }

  atRightDelim(): { delim: boolean; trimSpaces: boolean } {
    const rest = this.rest();
    if (rest.startsWith(RIGHT_DELIM)) return { delim: true, trimSpaces: false };
    if (hasRightTrimMarker(rest) && rest.slice(2).startsWith(RIGHT_DELIM))
      return { delim: true, trimSpaces: true };
    return { delim: false, trimSpaces: false };
  }

  atTerminator(): boolean {
    const ch = this.peek();
    if (isSpace(ch)) return true;
    switch (ch) {
      case '':
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
    }
    return this.rest().startsWith(RIGHT_DELIM);
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function leftTrimLength(s: string): number {
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  return i;
}

function rightTrimLength(s: string): number {
  let i = s.length;
  while (i > 0 && isSpace(s[i - 1])) i--;
  return s.length - i;
}

function lexText(l: Lexer): StateFn {
  const x = l.input.indexOf(LEFT_DELIM, l.pos);
  if (x < 0) {
    l.pos = l.input.length;
    if (l.pos > l.start) l.emit('text');
    l.emit('eof');
    return null;
  }
  l.pos = x;
  let trim = 0;
  if (hasLeftTrimMarker(l.input.slice(l.pos + LEFT_DELIM.length))) {
    trim = rightTrimLength(l.input.slice(l.start, l.pos));
  }
  l.pos -= trim;
  if (l.pos > l.start) l.emit('text');
  l.pos += trim;
  l.ignore();
  return lexLeftDelim;
}

function lexLeftDelim(l: Lexer): StateFn {
  l.pos += LEFT_DELIM.length;
  const trimSpace = hasLeftTrimMarker(l.rest());
  const afterMarker = trimSpace ? 2 : 0;
  if (l.input.slice(l.pos + afterMarker).startsWith(LEFT_COMMENT)) {
    l.pos += afterMarker;
    l.ignore();
    return lexComment;
  }
  l.emit('leftDelim');
  l.pos += afterMarker;
  l.ignore();
  l.parenDepth = 0;
  return lexInsideAction;
}

function lexComment(l: Lexer): StateFn {
  l.pos += LEFT_COMMENT.length;
  const i = l.input.indexOf(RIGHT_COMMENT, l.pos);
  if (i < 0) return l.errorf('unclosed comment');
  l.pos = i + RIGHT_COMMENT.length;
  const { delim, trimSpaces } = l.atRightDelim();
  if (!delim) return l.errorf('comment ends before closing delimiter');
  if (trimSpaces) l.pos += 2;
  l.pos += RIGHT_DELIM.length;
  if (trimSpaces) l.pos += leftTrimLength(l.rest());
  l.ignore();
  return lexText;
}

function lexRightDelim(l: Lexer): StateFn {
  const trimSpace = hasRightTrimMarker(l.rest());
  if (trimSpace) {
    l.pos += 2;
    l.ignore();
  }
  l.pos += RIGHT_DELIM.length;
  l.emit('rightDelim');
  if (trimSpace) {
    l.pos += leftTrimLength(l.rest());
    l.ignore();
  }
  return lexText;
}

function lexInsideAction(l: Lexer): StateFn {
  const { delim } = l.atRightDelim();
  if (delim) {
    if (l.parenDepth === 0) return lexRightDelim;
    return l.errorf('unclosed left paren');
  }
  const ch = l.next();
  if (ch === '') return l.errorf('unclosed action');
  if (isSpace(ch)) {
    l.backup();
    return lexSpace;
  }
  switch (ch) {
    case '=':
      l.emit('assign');
      return lexInsideAction;
    case ':':
      if (l.next() !== '=') return l.errorf('expected :=');
      l.emit('declare');
      return lexInsideAction;
    case '|':
      l.emit('pipe');
      return lexInsideAction;
    case '"':
      return lexQuote;
    case '`':
      return lexRawQuote;
    case '$':
      return lexVariable;
    case "'":
      return lexChar;
    case '(':
      l.emit('leftParen');
      l.parenDepth++;
      return lexInsideAction;
    case ')':
      l.emit('rightParen');
      l.parenDepth--;
      if (l.parenDepth < 0) return l.errorf('unexpected right paren');
      return lexInsideAction;
  }
  if (ch === '.') {
    const nextCh = l.input[l.pos] ?? '';
    if (!(nextCh >= '0' && nextCh <= '9')) return lexField;
  }
  if (ch === '.' || ch === '+' || ch === '-' || (ch >= '0' && ch <= '9')) {
    l.backup();
    return lexNumber;
  }
  if (isAlphaNumeric(ch)) {
    l.backup();
    return lexIdentifier;
  }
  const cp = ch.codePointAt(0) ?? 0;
  if (cp <= 0x7f && cp >= 0x20 && cp !== 0x7f) {
    l.emit('char');
    return lexInsideAction;
  }
  return l.errorf(`unrecognized character in action: ${describeRune(ch)}`);
}

function lexSpace(l: Lexer): StateFn {
  let numSpaces = 0;
  while (isSpace(l.peek())) {
    l.next();
    numSpaces++;
  }
  // A space may belong to a trim-marked closing delimiter (" -}}").
  const before = l.input.slice(l.pos - 1);
  if (hasRightTrimMarker(before) && before.slice(2).startsWith(RIGHT_DELIM)) {
    l.pos--;
    if (numSpaces === 1) return lexRightDelim;
  }
  l.emit('space');
  return lexInsideAction;
}

function lexIdentifier(l: Lexer): StateFn {
  for (;;) {
    const ch = l.next();
    if (isAlphaNumeric(ch)) continue;
    l.backup();
    const word = l.input.slice(l.start, l.pos);
    if (!l.atTerminator()) return l.errorf(`bad character ${describeRune(l.peek())}`);
    const keyword = KEYWORDS[word];
    if (keyword !== undefined && keyword !== 'dot') {
      if ((keyword === 'break' && !l.breakOK) || (keyword === 'continue' && !l.continueOK)) {
        l.emit('identifier');
      } else {
        l.emit(keyword);
      }
    } else if (word === 'true' || word === 'false') {
      l.emit('bool');
    } else {
      l.emit('identifier');
    }
    return lexInsideAction;
  }
}

function lexField(l: Lexer): StateFn {
  return lexFieldOrVariable(l, 'field');
}

function lexVariable(l: Lexer): StateFn {
  if (l.atTerminator()) {
    l.emit('variable');
    return lexInsideAction;
  }
  return lexFieldOrVariable(l, 'variable');
}

function lexFieldOrVariable(l: Lexer, type: 'field' | 'variable'): StateFn {
  if (l.atTerminator()) {
    l.emit(type === 'variable' ? 'variable' : 'dot');
    return lexInsideAction;
  }
  let ch: string;
  for (;;) {
    ch = l.next();
    if (!isAlphaNumeric(ch)) {
      l.backup();
      break;
    }
  }
  if (!l.atTerminator()) return l.errorf(`bad character ${describeRune(l.peek())}`);
  l.emit(type);
  return lexInsideAction;
}

function lexChar(l: Lexer): StateFn {
  for (;;) {
    const ch = l.next();
    if (ch === '\\') {
      const escaped = l.next();
      if (escaped !== '' && escaped !== '\n') continue;
      return l.errorf('unterminated character constant');
    }
    if (ch === '' || ch === '\n') return l.errorf('unterminated character constant');
    if (ch === "'") break;
  }
  l.emit('charConstant');
  return lexInsideAction;
}

function scanNumber(l: Lexer): boolean {
  l.accept('+-');
  let digits = '0123456789_';
  if (l.accept('0')) {
    if (l.accept('xX')) digits = '0123456789abcdefABCDEF_';
    else if (l.accept('oO')) digits = '01234567_';
    else if (l.accept('bB')) digits = '01_';
  }
  l.acceptRun(digits);
  if (l.accept('.')) l.acceptRun(digits);
  if (digits.length === 11 && l.accept('eE')) {
    l.accept('+-');
    l.acceptRun('0123456789_');
  }
  if (digits.length === 23 && l.accept('pP')) {
    l.accept('+-');
    l.acceptRun('0123456789_');
  }
  l.accept('i');
  if (isAlphaNumeric(l.peek())) {
    l.next();
    return false;
  }
  return true;
}

function lexNumber(l: Lexer): StateFn {
  if (!scanNumber(l)) return l.errorf(`bad number syntax: "${l.input.slice(l.start, l.pos)}"`);
  const sign = l.peek();
  if (sign === '+' || sign === '-') {
    // Go accepts complex constants (1+2i); docker formats never need them.
    const complex = scanNumber(l) && l.input[l.pos - 1] === 'i';
    const text = l.input.slice(l.start, l.pos);
    return l.errorf(
      complex ? `complex numbers are not supported: "${text}"` : `bad number syntax: "${text}"`,
    );
  }
  l.emit('number');
  return lexInsideAction;
}

function lexQuote(l: Lexer): StateFn {
  for (;;) {
    const ch = l.next();
    if (ch === '\\') {
      const escaped = l.next();
      if (escaped !== '' && escaped !== '\n') continue;
      return l.errorf('unterminated quoted string');
    }
    if (ch === '' || ch === '\n') return l.errorf('unterminated quoted string');
    if (ch === '"') break;
  }
  l.emit('string');
  return lexInsideAction;
}

function lexRawQuote(l: Lexer): StateFn {
  for (;;) {
    const ch = l.next();
    if (ch === '') return l.errorf('unterminated raw quoted string');
    if (ch === '`') break;
  }
  l.emit('rawString');
  return lexInsideAction;
}

/** Scans a whole template; the token list ends with an eof or an error token. */
export function lex(input: string, options: { breakOK?: boolean; continueOK?: boolean } = {}): Token[] {
  const lexer = new Lexer(input, options.breakOK ?? true, options.continueOK ?? true);
  for (let state: StateFn = lexText; state !== null;) state = state(lexer);
  return lexer.tokens;
}
