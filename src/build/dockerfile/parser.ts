/**
 * The Dockerfile syntax layer: logical lines (directives, escapes, line
 * continuations, comments, heredocs) split into an instruction keyword,
 * `--flags` and arguments shaped per instruction. It follows BuildKit's parser
 * rules so that the same file means the same thing here as under Docker;
 * instruction semantics live in instructions.ts.
 */
import { atLine, DockerfileError } from './errors.js';
import { emptyEnv, ShellLex, ShellSyntaxError } from './lex.js';
import { isGoSpace, splitLineWhitespace, trimGoSpace, trimGoSpaceLeft } from './text.js';

export type EscapeToken = '\\' | '`';
export const DEFAULT_ESCAPE_TOKEN: EscapeToken = '\\';

export interface Heredoc {
  /** The delimiter word, quotes removed. */
  name: string;
  fileDescriptor: number;
  /** False when any part of the delimiter was quoted (`<<"EOF"`): no expansion of the body. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from body lines. */
  chomp: boolean;
  /** Body lines with their line endings, without the terminator line. */
  content: string;
}

export interface Directive {
  name: 'syntax' | 'escape' | 'check';
  value: string;
  line: number;
}

/** One instruction as written. `args` are shaped by the instruction's line parser (see parseArgs). */
export interface Node {
  /** The keyword as written (case preserved). */
  keyword: string;
  /** Raw `--name=value` words before the arguments. */
  flags: string[];
  /**
   * ENV and LABEL: triples [key, value, "=" or "" for the legacy `KEY value` form].
   * HEALTHCHECK: [type, ...command]. Others: the argument words.
   */
  args: string[];
  /** Arguments were a JSON array (exec form). */
  json: boolean;
  heredocs: Heredoc[];
  /** The logical line, continuations joined, without heredoc bodies. */
  original: string;
  startLine: number;
  endLine: number;
  /** Comment lines directly above the instruction. */
  comments: string[];
  /** ONBUILD's trigger instruction. */
  child?: Node;
}

export interface ParseResult {
  nodes: Node[];
  escapeToken: EscapeToken;
  directives: Directive[];
  /** Warnings Docker prints before building (empty continuation lines). */
  warnings: string[];
}

const HEREDOC_INSTRUCTIONS = new Set(['add', 'copy', 'run']);
const VALID_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const DIRECTIVE_LINE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const HEREDOC_WORD = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;

/**
 * Parser directives (`# escape=\``) are only honoured in the leading run of
 * `#` lines: the first line that is not a directive ends the run for good.
 */
class DirectiveState {
  escapeToken: EscapeToken = DEFAULT_ESCAPE_TOKEN;
  continuation = continuationRegExp(DEFAULT_ESCAPE_TOKEN);
  readonly found: Directive[] = [];
  private lineNo = 0;
  private done = false;
  private readonly seen = new Set<string>();

  /** Returns true when the line was a directive. */
  consider(line: string): boolean {
    this.lineNo++;
    if (this.done) return false;
    if (!line.startsWith('#')) {
      this.done = true;
      return false;
    }
    const match = DIRECTIVE_LINE.exec(trimGoSpaceLeft(line.slice(1)));
    const name = match?.[1].toLowerCase();
    if (!match || !name || !VALID_DIRECTIVES.has(name)) {
      this.done = true;
      return false;
    }
    if (this.seen.has(name)) throw new DockerfileError(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    const value = match[2];
    if (name === 'escape') this.setEscapeToken(value);
    this.found.push({ name: name as Directive['name'], value, line: this.lineNo });
    return true;
  }

  private setEscapeToken(value: string): void {
    if (value !== '`' && value !== '\\') {
      throw new DockerfileError(`invalid escape token '${value}' does not match \` or \\`);
    }
    this.escapeToken = value;
    this.continuation = continuationRegExp(value);
  }
}

/**
 * The escape token ends a line to continue it, unless it is itself escaped
 * by a preceding character... except that, like Docker, `\\` at the end is not
 * treated as an escaped escape (the regular expression cannot look behind).
 */
function continuationRegExp(escape: EscapeToken): RegExp {
  const e = escape === '\\' ? '\\\\' : '`';
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

/** Splits into lines, each keeping its `\n`, like Docker's scanner. */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
    lines.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

const trimNewline = (line: string): string => line.replace(/[\r\n]+$/, '');
const isComment = (line: string): boolean => trimGoSpaceLeft(line).startsWith('#');
const isEmptyContinuationLine = (line: string): boolean => trimGoSpaceLeft(trimNewline(line)).length === 0;

function processLine(
  state: DirectiveState,
  raw: string,
  stripLeft: boolean,
): { text: string; directive: boolean } {
  let token = trimNewline(raw);
  if (stripLeft) token = trimGoSpaceLeft(token);
  const directive = state.consider(token);
  return { text: isComment(token) ? '' : token, directive };
}

function trimContinuation(line: string, state: DirectiveState): { text: string; ends: boolean } {
  if (state.continuation.test(line)) return { text: line.replace(state.continuation, '$1'), ends: false };
  return { text: line, ends: true };
}

/** Parses Dockerfile text into instruction nodes. Throws DockerfileError with Docker's messages. */
export function parseDockerfile(source: string | Uint8Array): ParseResult {
  const text = typeof source === 'string' ? source : new TextDecoder().decode(source);
  const lines = splitLines(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const state = new DirectiveState();
  const nodes: Node[] = [];
  const warnings: string[] = [];
  let comments: string[] = [];
  let currentLine = 0;
  let next = 0;

  while (next < lines.length) {
    const raw = lines[next++];
    if (isComment(raw)) {
      const comment = trimGoSpace(raw.slice(1));
      comments = comment === '' ? [] : [...comments, comment];
    }
    const first = atLine(currentLine + 1, currentLine + 1, () => processLine(state, raw, true));
    if (first.directive) comments = comments.slice(0, -1);
    currentLine++;
    const startLine = currentLine;
    let { text: logical, ends } = trimContinuation(first.text, state);
    if (ends && logical.length === 0) continue;

    let sawEmptyContinuation = false;
    while (!ends && next < lines.length) {
      const rawNext = lines[next++];
      const processed = atLine(currentLine + 1, currentLine + 1, () => processLine(state, rawNext, false));
      currentLine++;
      if (isComment(rawNext)) continue;
      if (isEmptyContinuationLine(processed.text)) {
        sawEmptyContinuation = true;
        continue;
      }
      const piece = trimContinuation(processed.text, state);
      logical += piece.text;
      ends = piece.ends;
    }
    if (sawEmptyContinuation) warnings.push(`Empty continuation line found in: ${logical}`);

    const node = atLine(startLine, currentLine, () => nodeFromLine(logical, state.escapeToken, comments));
    if (canContainHeredoc(node) && logical.includes('<<')) {
      const docs = atLine(startLine, currentLine, () => heredocsFromLine(logical));
      for (const doc of docs) {
        let terminated = false;
        let content = '';
        while (next < lines.length) {
          const bodyLine = lines[next++];
          currentLine++;
          let candidate = trimNewline(bodyLine);
          if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          content += bodyLine;
        }
        if (!terminated) throw new DockerfileError('unterminated heredoc', startLine, currentLine);
        node.heredocs.push({ ...doc, content });
      }
    }
    node.startLine = startLine;
    node.endLine = currentLine;
    nodes.push(node);
    comments = [];
  }

  if (nodes.length === 0) throw new DockerfileError('file with no instructions');
  return { nodes, escapeToken: state.escapeToken, directives: state.found, warnings };
}

function canContainHeredoc(node: Node): boolean {
  const target = node.keyword.toLowerCase() === 'onbuild' && node.child ? node.child : node;
  return HEREDOC_INSTRUCTIONS.has(target.keyword.toLowerCase()) && !target.json;
}

/** Builds the node for one logical line (also used for ONBUILD triggers). */
export function nodeFromLine(line: string, escapeToken: EscapeToken, comments: string[] = []): Node {
  const parts = splitLineWhitespace(trimGoSpace(line), 2);
  const keyword = parts[0];
  let flags: string[] = [];
  let rest = '';
  if (parts.length === 2) {
    const extracted = extractBuilderFlags(parts[1], escapeToken);
    flags = extracted.flags;
    rest = trimGoSpace(extracted.rest);
  }
  const parsed = parseArgs(keyword.toLowerCase(), rest, escapeToken);
  return {
    keyword,
    flags,
    args: parsed.args,
    json: parsed.json,
    heredocs: [],
    original: line,
    startLine: 0,
    endLine: 0,
    comments,
    child: parsed.child,
  };
}

/** Splits leading `--flag[=value]` words off an instruction's arguments. A bare `--` ends them. */
function extractBuilderFlags(line: string, escapeToken: EscapeToken): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = line[pos];
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (isGoSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return { rest: line.slice(pos), flags };
      phase = 'word';
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        if (word === '--') return { rest: line.slice(pos), flags };
        if (blankOK || word.length > 0) flags.push(word);
        phase = 'spaces';
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === escapeToken) {
        if (pos + 1 === line.length) continue;
        ch = line[++pos];
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === escapeToken) {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  return { rest: '', flags };
}

interface ParsedArgs {
  args: string[];
  json: boolean;
  child?: Node;
}

const NO_ARGS: ParsedArgs = { args: [], json: false };

/** The per-instruction line parsers (BuildKit's dispatch table). */
function parseArgs(instruction: string, rest: string, escapeToken: EscapeToken): ParsedArgs {
  switch (instruction) {
    case 'add':
    case 'copy':
    case 'volume':
      return parseMaybeJSONToList(rest);
    case 'arg':
      return { args: parseWords(rest, escapeToken), json: false };
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return parseMaybeJSON(rest);
    case 'env':
      return { args: parseNameVal(rest, 'ENV', escapeToken), json: false };
    case 'label':
      return { args: parseNameVal(rest, 'LABEL', escapeToken), json: false };
    case 'expose':
    case 'from':
      return { args: rest === '' ? [] : splitLineWhitespace(rest), json: false };
    case 'healthcheck':
      return parseHealthConfig(rest);
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return { args: rest === '' ? [] : [rest], json: false };
    case 'onbuild':
      return rest === '' ? NO_ARGS : { args: [], json: false, child: nodeFromLine(rest, escapeToken) };
    default:
      // Unknown instructions are reported with their line by the instruction layer.
      return NO_ARGS;
  }
}

class NotStringArrayError extends DockerfileError {
  constructor() {
    super('when using JSON array syntax, arrays must be comprised of strings only');
  }
}

/** The exec form: a JSON array of strings. Returns undefined when the text is not a JSON array. */
function parseJSON(rest: string): string[] | undefined {
  const text = trimGoSpaceLeft(rest);
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((item) => typeof item === 'string')) throw new NotStringArrayError();
  return value as string[];
}

function parseMaybeJSON(rest: string): ParsedArgs {
  if (rest === '') return NO_ARGS;
  const json = parseJSON(rest);
  return json ? { args: json, json: true } : { args: [rest], json: false };
}

function parseMaybeJSONToList(rest: string): ParsedArgs {
  const json = parseJSON(rest);
  if (json) return { args: json, json: true };
  return { args: rest === '' ? [] : splitLineWhitespace(rest), json: false };
}

function parseHealthConfig(rest: string): ParsedArgs {
  let sep = 0;
  while (sep < rest.length && !isGoSpace(rest[sep])) sep++;
  if (sep === 0) return NO_ARGS;
  let next = sep;
  while (next < rest.length && isGoSpace(rest[next])) next++;
  const command = parseMaybeJSON(rest.slice(next));
  return { args: [rest.slice(0, sep), ...command.args], json: command.json };
}

/**
 * Splits on whitespace outside quotes, keeping quotes and escapes in the words
 * (they are removed later, during variable expansion).
 */
export function parseWords(rest: string, escapeToken: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos];
    if (phase === 'spaces') {
      if (pos === chars.length) break;
      if (isGoSpace(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escapeToken) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        ch = chars[++pos];
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos];
    }
    word += ch;
  }
  return words;
}

/** ENV and LABEL: `KEY value` (legacy, one pair) or `k=v k2="v 2"`. Returns flat triples. */
function parseNameVal(rest: string, instruction: string, escapeToken: string): string[] {
  const words = parseWords(rest, escapeToken);
  if (words.length === 0) return [];
  if (!words[0].includes('=')) {
    const parts = splitLineWhitespace(rest, 2);
    if (parts.length < 2) throw new DockerfileError(`${instruction} must have two arguments`);
    return [parts[0], parts[1], ''];
  }
  const triples: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw new DockerfileError(
        `Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`,
      );
    }
    triples.push(word.slice(0, eq), word.slice(eq + 1), '=');
  }
  return triples;
}

/** Parses one `[n]<<[-]WORD` word; undefined when the word is not a heredoc. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const match = HEREDOC_WORD.exec(word);
  if (!match || match[3] === '') return undefined;
  const rest = match[3];
  const plain = new ShellLex('\\', { skipUnsetEnv: true });
  const words = plain.processWords(rest, emptyEnv);
  if (words.length !== 1) return undefined;
  const raw = plain.with({ rawQuotes: true }).processWords(rest, emptyEnv);
  if (raw.length !== words.length) {
    throw new DockerfileError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  }
  const quotes = (text: string): number => (text.match(/['"]/g) ?? []).length;
  return {
    name: words[0],
    fileDescriptor: match[1] === '' ? 0 : Number.parseInt(match[1], 10),
    expand: quotes(words[0]) === quotes(raw[0]),
    chomp: match[2] === '-',
  };
}

function heredocsFromLine(line: string): Omit<Heredoc, 'content'>[] {
  const lex = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  let words: string[];
  try {
    words = lex.processWords(line, emptyEnv);
  } catch (err) {
    if (err instanceof ShellSyntaxError) return [];
    throw err;
  }
  const docs: Omit<Heredoc, 'content'>[] = [];
  for (const word of words) {
    let doc: Omit<Heredoc, 'content'> | undefined;
    try {
      doc = parseHeredocWord(word);
    } catch (err) {
      if (err instanceof ShellSyntaxError) throw new DockerfileError(err.message);
      throw err;
    }
    if (doc) docs.push(doc);
  }
  return docs;
}

/** Removes the leading tabs of every line of a `<<-` heredoc body. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
