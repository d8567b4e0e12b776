/**
 * Typed Dockerfile instructions and stages, built from parser nodes with
 * Docker's validation rules and error messages. Values are as written:
 * variable expansion happens per stage at build time (expand.ts).
 */
import { atLine, DockerfileError } from './errors.js';
import { DurationError, parseGoDuration } from './duration.js';
import { InstructionFlags } from './flags.js';
import { parseMountSpec, type RunMount } from './mount.js';
import {
  chompHeredocContent,
  nodeFromLine,
  parseDockerfile,
  parseHeredocWord,
  type Directive,
  type EscapeToken,
  type Node,
  type ParseResult,
} from './parser.js';
import { suggest, trimGoSpace } from './text.js';

export interface KeyValue {
  key: string;
  value: string;
  /** Written in the legacy `ENV key value` form (no `=`). */
  legacy: boolean;
}

export interface ArgDeclaration {
  key: string;
  /** The default as written; undefined for `ARG NAME` without `=`. */
  value?: string;
}

/** A RUN/CMD heredoc: a file given to the shell. */
export interface InlineFile {
  name: string;
  data: string;
  /** `<<-`: strip leading tabs (applied when the command is assembled). */
  chomp: boolean;
  expand: boolean;
}

/** A COPY/ADD heredoc source: the file's path (its delimiter word) and content (tabs already chomped). */
export interface SourceContent {
  path: string;
  data: string;
  /** False for a quoted delimiter: the body is copied verbatim. */
  expand: boolean;
}

/** Docker's HealthConfig; durations in nanoseconds, 0 meaning "inherit the default". */
export interface HealthConfig {
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export type NetworkMode = 'default' | 'none' | 'host';
export type SecurityMode = 'sandbox' | 'insecure';

interface Base {
  /** The keyword as written (`run`, `RUN`, ...). */
  keyword: string;
  /** The instruction's text, trimmed, continuations joined: what `Step N/M : ...` prints. */
  original: string;
  line: number;
  endLine: number;
  comments: string[];
}

export interface AddInstruction extends Base {
  kind: 'ADD';
  sources: string[];
  contents: SourceContent[];
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  checksum?: string;
  keepGitDir?: boolean;
  unpack?: boolean;
  excludes: string[];
}

export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: ArgDeclaration[];
}

export interface CmdInstruction extends Base {
  kind: 'CMD';
  /** Exec form: the argv. Shell form: one string to prepend the shell to. */
  command: string[];
  /** Shell form (prepend SHELL / `/bin/sh -c`). */
  shell: boolean;
  files: InlineFile[];
}

export interface CopyInstruction extends Base {
  kind: 'COPY';
  sources: string[];
  contents: SourceContent[];
  dest: string;
  /** `--from`: a stage name, a stage index, or an image reference. */
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  excludes: string[];
}

export interface EntrypointInstruction extends Base {
  kind: 'ENTRYPOINT';
  /** Empty for `ENTRYPOINT []`, which clears the entrypoint. */
  command: string[];
  shell: boolean;
  files: InlineFile[];
}

export interface EnvInstruction extends Base {
  kind: 'ENV';
  env: KeyValue[];
}

export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  /** As written, sorted (Docker sorts them); expansion may split words further. */
  ports: string[];
}

export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  health: HealthConfig;
}

export interface LabelInstruction extends Base {
  kind: 'LABEL';
  labels: KeyValue[];
}

export interface MaintainerInstruction extends Base {
  kind: 'MAINTAINER';
  maintainer: string;
}

export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger as stored in the image's OnBuild list (parse with parseTrigger()). */
  expression: string;
}

export interface RunInstruction extends Base {
  kind: 'RUN';
  command: string[];
  shell: boolean;
  files: InlineFile[];
  /** The raw `--mount` values. */
  mountSpecs: string[];
  /**
   * Parsed mounts. A spec that uses variables is `unresolved` here (only `from`
   * is known); expandInstruction() returns it fully resolved.
   */
  mounts: RunMount[];
  network: NetworkMode;
  security: SecurityMode;
  /** Flags given (`mount`, `network`, `security`), for builders that reject them. */
  flagsUsed: string[];
}

export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}

export interface StopsignalInstruction extends Base {
  kind: 'STOPSIGNAL';
  signal: string;
}

export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}

export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  volumes: string[];
}

export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}

export type Instruction =
  | AddInstruction
  | ArgInstruction
  | CmdInstruction
  | CopyInstruction
  | EntrypointInstruction
  | EnvInstruction
  | ExposeInstruction
  | HealthcheckInstruction
  | LabelInstruction
  | MaintainerInstruction
  | OnbuildInstruction
  | RunInstruction
  | ShellInstruction
  | StopsignalInstruction
  | UserInstruction
  | VolumeInstruction
  | WorkdirInstruction;

export type InstructionKind = Instruction['kind'];

export interface Stage {
  /** Position among all stages (what `--from=N` refers to). */
  index: number;
  /** `AS name`, lower-cased (stage names are case-insensitive). */
  name?: string;
  /** The FROM image as written (before global ARG expansion): an image, `scratch`, or a stage name. */
  baseName: string;
  /** `--platform` as written. */
  platform?: string;
  instructions: Instruction[];
  /** The FROM line (what `Step N/M : FROM ...` prints). */
  original: string;
  keyword: string;
  line: number;
  endLine: number;
  comments: string[];
}

export interface Dockerfile {
  escapeToken: EscapeToken;
  directives: Directive[];
  /** The `# syntax=` directive's value, if any. */
  syntax?: string;
  /** ARG instructions before the first FROM (the global scope). */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  warnings: string[];
}

const INSTRUCTION_NAMES = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
];
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;
const MIN_INTERVAL_NS = 1e6;

type FromLine = Omit<Stage, 'index' | 'instructions'> & { kind: 'FROM' };

const errAtLeastOne = (cmd: string): DockerfileError =>
  new DockerfileError(`${cmd} requires at least one argument`);
const errExactlyOne = (cmd: string): DockerfileError =>
  new DockerfileError(`${cmd} requires exactly one argument`);

function base(node: Node): Base {
  return {
    keyword: node.keyword,
    original: trimGoSpace(node.original),
    line: node.startLine,
    endLine: node.endLine,
    comments: node.comments,
  };
}

/** Parses a Dockerfile into its global ARGs and stages. Errors carry Docker's line-numbered messages. */
export function parseStages(source: string | Uint8Array): Dockerfile {
  return stagesFromParseResult(parseDockerfile(source));
}

export function stagesFromParseResult(parsed: ParseResult): Dockerfile {
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const node of parsed.nodes) {
    const parsedNode = atLine(node.startLine, node.endLine, () => parseNode(node));
    if (parsedNode.kind === 'FROM') {
      const { kind: _kind, ...from } = parsedNode;
      stages.push({ ...from, index: stages.length, instructions: [] });
      continue;
    }
    if (stages.length === 0) {
      if (parsedNode.kind === 'ARG') {
        metaArgs.push(parsedNode);
        continue;
      }
      throw new DockerfileError('no build stage in current context', node.startLine, node.endLine);
    }
    stages[stages.length - 1].instructions.push(parsedNode);
  }
  return {
    escapeToken: parsed.escapeToken,
    directives: parsed.directives,
    syntax: parsed.directives.find((d) => d.name === 'syntax')?.value,
    metaArgs,
    stages,
    warnings: parsed.warnings,
  };
}

/** Parses one ONBUILD trigger expression (as stored in an image's config) into an instruction. */
export function parseTrigger(expression: string): Instruction {
  const parsed = parseDockerfile(expression);
  if (parsed.nodes.length !== 1) throw new DockerfileError('onbuild trigger should be a single expression');
  const node = parsed.nodes[0];
  const instruction = atLine(node.startLine, node.endLine, () => parseNode(node));
  if (instruction.kind === 'FROM') throw new DockerfileError("FROM isn't allowed as an ONBUILD trigger");
  return instruction;
}

/** Parses a single instruction line, e.g. for `docker commit --change`. */
export function parseInstructionLine(line: string, escapeToken: EscapeToken = '\\'): Instruction | FromLine {
  return parseNode(nodeFromLine(line, escapeToken));
}

function parseNode(node: Node): Instruction | FromLine {
  switch (node.keyword.toLowerCase()) {
    case 'add':
      return parseAdd(node);
    case 'arg':
      return parseArg(node);
    case 'cmd':
      return { ...base(node), kind: 'CMD', ...shellDependent(node), files: inlineFiles(node) };
    case 'copy':
      return parseCopy(node);
    case 'entrypoint':
      return { ...base(node), kind: 'ENTRYPOINT', ...shellDependent(node), files: inlineFiles(node) };
    case 'env':
      new InstructionFlags(node.flags).parse();
      return { ...base(node), kind: 'ENV', env: keyValues(node.args, 'ENV') };
    case 'expose':
      if (node.args.length === 0) throw errAtLeastOne('EXPOSE');
      new InstructionFlags(node.flags).parse();
      return { ...base(node), kind: 'EXPOSE', ports: [...node.args].sort() };
    case 'from':
      return parseFrom(node);
    case 'healthcheck':
      return parseHealthcheck(node);
    case 'label':
      new InstructionFlags(node.flags).parse();
      return { ...base(node), kind: 'LABEL', labels: keyValues(node.args, 'LABEL') };
    case 'maintainer':
      if (node.args.length !== 1) throw errExactlyOne('MAINTAINER');
      new InstructionFlags(node.flags).parse();
      return { ...base(node), kind: 'MAINTAINER', maintainer: node.args[0] };
    case 'onbuild':
      return parseOnbuild(node);
    case 'run':
      return parseRun(node);
    case 'shell':
      return parseShell(node);
    case 'stopsignal':
      if (node.args.length !== 1) throw errExactlyOne('STOPSIGNAL');
      return { ...base(node), kind: 'STOPSIGNAL', signal: node.args[0] };
    case 'user':
      if (node.args.length !== 1) throw errExactlyOne('USER');
      new InstructionFlags(node.flags).parse();
      return { ...base(node), kind: 'USER', user: node.args[0] };
    case 'volume':
      return parseVolume(node);
    case 'workdir':
      if (node.args.length !== 1) throw errExactlyOne('WORKDIR');
      new InstructionFlags(node.flags).parse();
      return { ...base(node), kind: 'WORKDIR', path: node.args[0] };
    default: {
      const hint = suggest(node.keyword, INSTRUCTION_NAMES, false);
      throw new DockerfileError(
        `unknown instruction: ${node.keyword}${hint ? ` (did you mean ${hint}?)` : ''}`,
      );
    }
  }
}

function keyValues(args: string[], cmd: string): KeyValue[] {
  if (args.length === 0) throw errAtLeastOne(cmd);
  if (args.length % 3 !== 0) throw new DockerfileError(`Bad input to ${cmd}, too many arguments`);
  const pairs: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 3) {
    if (args[i].length === 0) throw new DockerfileError(`${cmd} names can not be blank`);
    pairs.push({ key: args[i], value: args[i + 1], legacy: args[i + 2] === '' });
  }
  return pairs;
}

function shellDependent(node: Node): { command: string[]; shell: boolean } {
  new InstructionFlags(node.flags).parse();
  return { command: joinShellForm(node.args, node.json), shell: !node.json };
}

/** Exec form stays an argv; shell form becomes one string (Docker's handleJSONArgs). */
function joinShellForm(args: string[], json: boolean): string[] {
  if (args.length === 0) return [];
  return json ? args : [args.join(' ')];
}

function inlineFiles(node: Node): InlineFile[] {
  return node.heredocs.map((doc) => ({
    name: doc.name,
    data: doc.content,
    chomp: doc.chomp,
    expand: doc.expand,
  }));
}

function parseFrom(node: Node): FromLine {
  const args = node.args;
  let name: string | undefined;
  if (args.length === 3 && args[1].toLowerCase() === 'as') {
    name = args[2].toLowerCase();
    if (!STAGE_NAME.test(name)) {
      throw new DockerfileError(
        `invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`,
      );
    }
  } else if (args.length !== 1) {
    throw new DockerfileError('FROM requires either one or three arguments');
  }
  const flags = new InstructionFlags(node.flags).string('platform').parse();
  const platform = flags.getString('platform');
  return {
    kind: 'FROM',
    keyword: node.keyword,
    original: trimGoSpace(node.original),
    line: node.startLine,
    endLine: node.endLine,
    comments: node.comments,
    baseName: args[0],
    name,
    platform: platform === '' ? undefined : platform,
  };
}

function parseSources(
  node: Node,
  cmd: 'ADD' | 'COPY',
): { sources: string[]; contents: SourceContent[]; dest: string } {
  const dest = node.args[node.args.length - 1];
  if (heredocWord(dest)) throw new DockerfileError(`${cmd} cannot accept a heredoc as a destination`);
  const byName = new Map(node.heredocs.map((doc) => [doc.name, doc]));
  const sources: string[] = [];
  const contents: SourceContent[] = [];
  for (const src of node.args.slice(0, -1)) {
    const word = heredocWord(src);
    if (!word) {
      sources.push(src);
      continue;
    }
    const content = byName.get(word.name)?.content ?? '';
    contents.push({
      path: word.name,
      data: word.chomp ? chompHeredocContent(content) : content,
      expand: word.expand,
    });
  }
  return { sources, contents, dest };
}

function heredocWord(word: string): ReturnType<typeof parseHeredocWord> {
  try {
    return parseHeredocWord(word);
  } catch {
    return undefined;
  }
}

const optional = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

function parseAdd(node: Node): AddInstruction {
  if (node.args.length < 2) {
    throw new DockerfileError(
      'ADD requires at least two arguments, but only one was provided. Destination could not be determined',
    );
  }
  const flags = new InstructionFlags(node.flags)
    .string('chown')
    .string('chmod')
    .bool('link')
    .bool('keep-git-dir')
    .string('checksum')
    .bool('unpack')
    .strings('exclude')
    .parse();
  return {
    ...base(node),
    kind: 'ADD',
    ...parseSources(node, 'ADD'),
    chown: optional(flags.getString('chown')),
    chmod: optional(flags.getString('chmod')),
    link: flags.getBool('link'),
    checksum: optional(flags.getString('checksum')),
    keepGitDir: flags.getOptionalBool('keep-git-dir'),
    unpack: flags.getOptionalBool('unpack'),
    excludes: flags.getStrings('exclude'),
  };
}

function parseCopy(node: Node): CopyInstruction {
  if (node.args.length < 2) {
    throw new DockerfileError(
      'COPY requires at least two arguments, but only one was provided. Destination could not be determined',
    );
  }
  const flags = new InstructionFlags(node.flags)
    .string('chown')
    .string('from')
    .string('chmod')
    .bool('link')
    .strings('exclude')
    .bool('parents')
    .parse();
  return {
    ...base(node),
    kind: 'COPY',
    ...parseSources(node, 'COPY'),
    from: optional(flags.getString('from')),
    chown: optional(flags.getString('chown')),
    chmod: optional(flags.getString('chmod')),
    link: flags.getBool('link'),
    parents: flags.getBool('parents'),
    excludes: flags.getStrings('exclude'),
  };
}

function parseOnbuild(node: Node): OnbuildInstruction {
  if (!node.child) throw errAtLeastOne('ONBUILD');
  new InstructionFlags(node.flags).parse();
  const trigger = node.child.keyword.trim().toUpperCase();
  if (trigger === 'ONBUILD')
    throw new DockerfileError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger === 'MAINTAINER' || trigger === 'FROM') {
    throw new DockerfileError(`${trigger} isn't allowed as an ONBUILD trigger`);
  }
  let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const doc of node.heredocs) expression += '\n' + doc.content + doc.name;
  return { ...base(node), kind: 'ONBUILD', expression };
}

function parseRun(node: Node): RunInstruction {
  const flags = new InstructionFlags(node.flags)
    .strings('mount')
    .string('network')
    .string('security')
    .parse();
  const network = flags.getString('network') ?? 'default';
  if (network !== 'default' && network !== 'none' && network !== 'host') {
    throw new DockerfileError(`invalid network mode ${JSON.stringify(network)}`);
  }
  const security = flags.getString('security') ?? 'sandbox';
  if (security !== 'sandbox' && security !== 'insecure') {
    throw new DockerfileError(`security ${JSON.stringify(security)} is not valid`);
  }
  const mountSpecs = flags.getStrings('mount');
  return {
    ...base(node),
    kind: 'RUN',
    command: joinShellForm(node.args, node.json),
    shell: !node.json,
    files: inlineFiles(node),
    mountSpecs,
    mounts: mountSpecs.map((spec) => parseMountSpec(spec)),
    network,
    security,
    flagsUsed: flags.usedNames(),
  };
}

function parseShell(node: Node): ShellInstruction {
  new InstructionFlags(node.flags).parse();
  const shell = joinShellForm(node.args, node.json);
  if (shell.length === 0) throw errAtLeastOne('SHELL');
  if (!node.json) throw new DockerfileError('SHELL requires the arguments to be in JSON form');
  return { ...base(node), kind: 'SHELL', shell };
}

function parseVolume(node: Node): VolumeInstruction {
  if (node.args.length === 0) throw errAtLeastOne('VOLUME');
  new InstructionFlags(node.flags).parse();
  const volumes = node.args.map((v) => v.trim());
  if (volumes.some((v) => v === '')) throw new DockerfileError('VOLUME specified can not be an empty string');
  return { ...base(node), kind: 'VOLUME', volumes };
}

function parseArg(node: Node): ArgInstruction {
  if (node.args.length === 0) throw errAtLeastOne('ARG');
  const args = node.args.map((word): ArgDeclaration => {
    const eq = word.indexOf('=');
    if (eq < 0) return { key: word };
    if (eq === 0) throw new DockerfileError('ARG names can not be blank');
    return { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
  return { ...base(node), kind: 'ARG', args };
}

function interval(flags: InstructionFlags, name: string): number {
  const text = flags.getString(name) ?? '';
  if (text === '') return 0;
  let ns: number;
  try {
    ns = parseGoDuration(text);
  } catch (err) {
    if (err instanceof DurationError) throw new DockerfileError(err.message);
    throw err;
  }
  if (ns === 0) return 0;
  if (ns < MIN_INTERVAL_NS)
    throw new DockerfileError(`Interval ${JSON.stringify(name)} cannot be less than 1ms`);
  return ns;
}

function parseHealthcheck(node: Node): HealthcheckInstruction {
  if (node.args.length === 0) throw errAtLeastOne('HEALTHCHECK');
  const type = node.args[0].toUpperCase();
  const rest = node.args.slice(1);
  const none: HealthConfig = {
    test: ['NONE'],
    interval: 0,
    timeout: 0,
    startPeriod: 0,
    startInterval: 0,
    retries: 0,
  };
  if (type === 'NONE') {
    if (rest.length !== 0) throw new DockerfileError('HEALTHCHECK NONE takes no arguments');
    return { ...base(node), kind: 'HEALTHCHECK', health: none };
  }
  const flags = new InstructionFlags(node.flags)
    .string('interval')
    .string('timeout')
    .string('start-period')
    .string('start-interval')
    .string('retries')
    .parse();
  if (type !== 'CMD')
    throw new DockerfileError(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  const command = joinShellForm(rest, node.json);
  if (command.length === 0) throw new DockerfileError('Missing command after HEALTHCHECK CMD');
  const health: HealthConfig = {
    test: [node.json ? 'CMD' : 'CMD-SHELL', ...command],
    interval: interval(flags, 'interval'),
    timeout: interval(flags, 'timeout'),
    startPeriod: interval(flags, 'start-period'),
    startInterval: interval(flags, 'start-interval'),
    retries: parseRetries(flags.getString('retries') ?? ''),
  };
  return { ...base(node), kind: 'HEALTHCHECK', health };
}

function parseRetries(text: string): number {
  if (text === '') return 0;
  if (!/^[+-]?\d+$/.test(text)) {
    throw new DockerfileError(`strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  const retries = Number.parseInt(text, 10);
  if (retries > 2 ** 31 - 1 || retries < -(2 ** 31)) {
    throw new DockerfileError(`strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`);
  }
  if (retries < 0) throw new DockerfileError(`--retries cannot be negative (${retries})`);
  return retries;
}
