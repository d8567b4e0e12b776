/**
 * Shell-word processing as Docker's Dockerfile frontend does it: quote removal,
 * escapes with the Dockerfile's escape token, and `$VAR` / `${VAR...}`
 * substitution, optionally with word splitting. It is a deliberately small
 * subset of POSIX sh: no command substitution, no globbing, no arithmetic.
 */
import { isGoSpace } from './text.js';

/** Where variable values come from. `undefined` means unset (not empty). */
export interface EnvLookup {
  get(name: string): string | undefined;
}

export interface LexOptions {
  /** Keep quote characters in the output (used to detect quoted heredoc words). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters (heredoc bodies). */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  skipUnsetEnv?: boolean;
}

export interface WordResult {
  result: string;
  words: string[];
  /** Variables referenced and set. */
  matched: Set<string>;
  /** Variables referenced but unset. */
  unmatched: Set<string>;
}

export class ShellSyntaxError extends Error {}

/** An EnvLookup over `KEY=value` strings; the last definition of a key wins, as in Docker. */
export function envFromList(list: readonly string[]): EnvLookup {
  const map = new Map<string, string>();
  for (const entry of list) {
    const eq = entry.indexOf('=');
    if (eq < 0) map.set(entry, '');
    else map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return map;
}

export const emptyEnv: EnvLookup = { get: () => undefined };

export class ShellLex {
  readonly escapeToken: string;
  readonly options: Readonly<LexOptions>;

  constructor(escapeToken = '\\', options: LexOptions = {}) {
    this.escapeToken = escapeToken;
    this.options = options;
  }

  with(options: LexOptions): ShellLex {
    return new ShellLex(this.escapeToken, { ...this.options, ...options });
  }

  /** Expands one word: quotes removed, variables substituted, spaces kept. */
  processWord(word: string, env: EnvLookup): string {
    return this.process(word, env).result;
  }

  /** Expands and splits on unquoted whitespace (after substitution, like the shell). */
  processWords(word: string, env: EnvLookup): string[] {
    return this.process(word, env).words;
  }

  process(word: string, env: EnvLookup): WordResult {
    const state = new WordProcessor(this, word, env);
    try {
      const { result, words } = state.processStopOn(undefined, this.options.rawEscapes ?? false);
      return { result, words, matched: state.matched, unmatched: state.unmatched };
    } catch (err) {
      if (err instanceof ShellSyntaxError) {
        throw new ShellSyntaxError(`failed to process ${JSON.stringify(word)}: ${err.message}`);
      }
      throw err;
    }
  }
}

class Scanner {
  private readonly chars: string[];
  private pos = 0;

  constructor(text: string) {
    this.chars = Array.from(text);
  }

  peek(): string | undefined {
    return this.chars[this.pos];
  }

  next(): string | undefined {
    return this.chars[this.pos++];
  }
}

/** Accumulates shell words: unquoted whitespace separates words, quoted text never does. */
class WordsBuilder {
  private buf = '';
  private inWord = false;
  private readonly words: string[] = [];

  addChar(ch: string): void {
    if (isGoSpace(ch)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else {
      this.addRaw(ch);
    }
  }

  addString(text: string): void {
    for (const ch of text) this.addChar(ch);
  }

  addRaw(text: string): void {
    this.buf += text;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const isLetter = (ch: string): boolean => /\p{L}/u.test(ch);
const isDigit = (ch: string): boolean => /\p{Nd}/u.test(ch);

class WordProcessor {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();
  private readonly scanner: Scanner;
  private rawEscapes: boolean;

  constructor(
    private readonly lex: ShellLex,
    source: string,
    private readonly env: EnvLookup,
  ) {
    this.scanner = new Scanner(source);
    this.rawEscapes = lex.options.rawEscapes ?? false;
  }

  private get escape(): string {
    return this.lex.escapeToken;
  }

  /** Processes until `stopChar` (consumed) or the end of input when stopChar is undefined. */
  processStopOn(stopChar: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    const savedRawEscapes = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      return this.scanUntil(stopChar);
    } finally {
      this.rawEscapes = savedRawEscapes;
    }
  }

  private scanUntil(stopChar: string | undefined): { result: string; words: string[] } {
    const s = this.scanner;
    const words = new WordsBuilder();
    let result = '';
    const processQuotes = !this.lex.options.skipProcessQuotes;
    for (let ch = s.peek(); ch !== undefined; ch = s.peek()) {
      if (stopChar !== undefined && ch === stopChar) {
        s.next();
        return { result, words: words.finish() };
      }
      const special =
        ch === '$'
          ? this.processDollar
          : ch === '<'
            ? this.processPossibleHeredoc
            : processQuotes && ch === "'"
              ? this.processSingleQuote
              : processQuotes && ch === '"'
                ? this.processDoubleQuote
                : undefined;
      if (special) {
        const text = special.call(this);
        result += text;
        if (ch === '$') words.addString(text);
        else words.addRaw(text);
        continue;
      }
      let c = s.next() as string;
      if (c === this.escape) {
        if (this.rawEscapes) {
          words.addRaw(c);
          result += c;
        }
        const escaped = s.next();
        if (escaped === undefined) break;
        c = escaped;
        words.addRaw(c);
      } else {
        words.addChar(c);
      }
      result += c;
    }
    if (stopChar !== undefined) {
      throw new ShellSyntaxError(`unexpected end of statement while looking for matching ${stopChar}`);
    }
    return { result, words: words.finish() };
  }

  private processSingleQuote(): string {
    const s = this.scanner;
    const raw = this.lex.options.rawQuotes;
    let result = raw ? (s.next() as string) : (s.next(), '');
    for (;;) {
      const ch = s.next();
      if (ch === undefined) {
        throw new ShellSyntaxError('unexpected end of statement while looking for matching single-quote');
      }
      if (ch === "'") return raw ? result + ch : result;
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    const s = this.scanner;
    const raw = this.lex.options.rawQuotes;
    let result = raw ? (s.next() as string) : (s.next(), '');
    for (;;) {
      const peek = s.peek();
      if (peek === undefined) {
        throw new ShellSyntaxError('unexpected end of statement while looking for matching double-quote');
      }
      if (peek === '"') {
        const ch = s.next() as string;
        return raw ? result + ch : result;
      }
      if (peek === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = s.next() as string;
      if (ch === this.escape) {
        if (this.rawEscapes) result += ch;
        const after = s.peek();
        if (after === undefined) continue;
        // Inside double quotes the escape only escapes ", $ and itself; elsewhere it is literal.
        if (after === '"' || after === '$' || after === this.escape) ch = s.next() as string;
      }
      result += ch;
    }
  }

  private processPossibleHeredoc(): string {
    const s = this.scanner;
    s.next();
    if (s.peek() !== '<') return '<';
    s.next();
    let space = '';
    for (let ch = s.peek(); ch === ' ' || ch === '\t' || ch === '\r'; ch = s.peek()) {
      space += ch;
      s.next();
    }
    return '<<' + space;
  }

  private processName(): string {
    const s = this.scanner;
    let name = '';
    for (let ch = s.peek(); ch !== undefined; ch = s.peek()) {
      if (name === '' && isDigit(ch)) {
        // Positional parameters: all the digits form the name, and they are never set.
        while (s.peek() !== undefined && isDigit(s.peek() as string)) name += s.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return s.next() as string;
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += s.next();
    }
    return name;
  }

  private getEnv(name: string): string | undefined {
    const value = this.env.get(name);
    if (value === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return value;
  }

  private processDollar(): string {
    const s = this.scanner;
    const skipUnset = this.lex.options.skipUnsetEnv ?? false;
    s.next();
    if (s.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined && skipUnset) return '$' + name;
      return value ?? '';
    }
    s.next();
    const first = s.peek();
    if (first === undefined) throw new ShellSyntaxError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':')
      throw new ShellSyntaxError('syntax error: bad substitution');
    const name = this.processName();
    let ch = s.next();
    if (ch === undefined) throw new ShellSyntaxError("syntax error: missing '}'");
    let modifier = ch;
    if (ch === '}') {
      const value = this.getEnv(name);
      if (value === undefined && skipUnset) return '${' + name + '}';
      return value ?? '';
    }
    if (ch === '/') return this.processReplacement(name);
    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = s.next();
      if (ch === undefined) throw new ShellSyntaxError("syntax error: missing '}'");
      modifier += ch;
    } else if (!'+-?#%'.includes(ch)) {
      throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`);
    }
    const isTrim = ch === '#' || ch === '%';
    if (nullIsUnset && isTrim)
      throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`);
    const word = this.wordUntil('}', isTrim, "syntax error: missing '}'");
    const value = this.getEnv(name);
    if (value === undefined && skipUnset) return '${' + name + modifier + word + '}';
    const unsetOrNull = value === undefined || (nullIsUnset && value === '');
    switch (ch) {
      case '-':
        return unsetOrNull ? word : (value as string);
      case '+':
        return unsetOrNull ? '' : word;
      case '?':
        if (value === undefined)
          throw new ShellSyntaxError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') {
          throw new ShellSyntaxError(`${name}: ${word || 'is not allowed to be empty'}`);
        }
        return value;
      case '#':
      case '%': {
        const greedy = word.startsWith(ch);
        const pattern = greedy ? word.slice(1) : word;
        return ch === '%'
          ? trimSuffix(pattern, value ?? '', greedy)
          : trimPrefix(pattern, value ?? '', greedy);
      }
      default:
        throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`);
    }
  }

  private processReplacement(name: string): string {
    const s = this.scanner;
    const replaceAll = s.peek() === '/';
    if (replaceAll) s.next();
    const pattern = this.wordUntil('/', true, "syntax error: missing '/' in ${}");
    const replacement = this.wordUntil('}', true, "syntax error: missing '}'");
    const value = this.getEnv(name);
    if (value === undefined && this.lex.options.skipUnsetEnv) {
      return '${' + name + '/' + pattern + '/' + replacement + '}';
    }
    const re = shellPatternToRegExp(pattern, true, false, replaceAll ? 'g' : '');
    return (value ?? '').replace(re, () => replacement);
  }

  private wordUntil(stop: string, rawEscapes: boolean, eofMessage: string): string {
    try {
      return this.processStopOn(stop, rawEscapes).result;
    } catch (err) {
      if (err instanceof ShellSyntaxError && this.scanner.peek() === undefined) {
        throw new ShellSyntaxError(eofMessage);
      }
      throw err;
    }
  }
}

const REGEXP_SPECIALS = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

/**
 * Converts a shell wildcard pattern (`*`, `?`, backslash escapes; no bracket
 * expressions) to a regular expression, as used by `${x#p}`, `${x%p}` and `${x/p/r}`.
 */
export function shellPatternToRegExp(
  pattern: string,
  greedy: boolean,
  anchored: boolean,
  flags = '',
): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') {
      out += greedy ? '.*' : '.*?';
    } else if (ch === '?') {
      out += '.';
    } else if (ch === '\\') {
      const next = chars[i + 1];
      // `}` and `/` are escaped to get them through ${...}; the escape is not part of the pattern.
      if (next === '}' || next === '/') continue;
      if (next !== '*' && next !== '?' && next !== '\\') {
        throw new ShellSyntaxError(
          `invalid pattern (${pattern}) in substitution: invalid escape '\\${next ?? ''}'`,
        );
      }
      out += '\\' + next;
      i++;
    } else {
      out += REGEXP_SPECIALS.has(ch) ? '\\' + ch : ch;
    }
  }
  return new RegExp(out, 'u' + flags);
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const match = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return match ? value.slice(match[0].length) : value;
}

/** Reverses a pattern while keeping escapes attached to the character they escape. */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = new Array(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last;) {
    const outIdx = last - i;
    if (chars[i] === '\\' && i !== last) {
      out[outIdx - 1] = chars[i];
      out[outIdx] = chars[i + 1];
      i += 2;
    } else {
      out[outIdx] = chars[i];
      i++;
    }
  }
  return out.join('');
}

const reverseString = (text: string): string => Array.from(text).reverse().join('');

/** Shortest/longest suffix removal, done as a prefix removal on the reversed strings. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}
