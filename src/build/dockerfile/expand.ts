/**
 * Variable expansion applied to instructions the way Docker applies it: only
 * ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG
 * and the values of RUN --mount are expanded; RUN/CMD/ENTRYPOINT/HEALTHCHECK
 * /SHELL commands are left to the shell, ONBUILD triggers to the child build.
 * COPY --from is never expanded (Docker refuses variables there).
 */
import { DockerfileError } from './errors.js';
import type { Instruction, RunInstruction, SourceContent, Stage } from './instructions.js';
import { emptyEnv, ShellLex, ShellSyntaxError, type EnvLookup } from './lex.js';
import { parseMountSpec } from './mount.js';
import { chompHeredocContent, parseHeredocWord, type EscapeToken } from './parser.js';

export type { EnvLookup } from './lex.js';

/** Expands one word with `env`; errors become line-numbered DockerfileErrors. */
export function expandWord(
  word: string,
  env: EnvLookup,
  escapeToken: EscapeToken = '\\',
  line?: number,
): string {
  return wrapShellError(line, () => new ShellLex(escapeToken).processWord(word, env));
}

/** Expands and splits into words (EXPOSE, and anything Docker treats as a list). */
export function expandWords(
  word: string,
  env: EnvLookup,
  escapeToken: EscapeToken = '\\',
  line?: number,
): string[] {
  return wrapShellError(line, () => new ShellLex(escapeToken).processWords(word, env));
}

function wrapShellError<T>(line: number | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ShellSyntaxError) throw new DockerfileError(err.message, line);
    throw err;
  }
}

/**
 * Returns a copy of `instruction` with variables expanded from `env` (the
 * stage's ENV plus the ARGs in scope; see StageScope in plan.ts). Instructions
 * Docker does not expand are returned unchanged. A RUN comes back with every
 * mount resolved.
 */
export function expandInstruction<T extends Instruction>(
  instruction: T,
  env: EnvLookup,
  escapeToken: EscapeToken,
): T {
  const lex = new ShellLex(escapeToken);
  const line = instruction.line;
  const word = (text: string): string => wrapShellError(line, () => lex.processWord(text, env));
  const maybe = (text: string | undefined): string | undefined =>
    text === undefined ? undefined : word(text);
  const i = instruction as Instruction;
  switch (i.kind) {
    case 'ADD':
      return {
        ...i,
        chown: maybe(i.chown),
        chmod: maybe(i.chmod),
        checksum: maybe(i.checksum),
        sources: i.sources.map(word),
        dest: word(i.dest),
        contents: expandContents(i.contents, env, line),
      } as T;
    case 'COPY':
      return {
        ...i,
        chown: maybe(i.chown),
        chmod: maybe(i.chmod),
        sources: i.sources.map(word),
        dest: word(i.dest),
        contents: expandContents(i.contents, env, line),
      } as T;
    case 'ENV':
      return { ...i, env: i.env.map((kv) => ({ ...kv, key: word(kv.key), value: word(kv.value) })) } as T;
    case 'LABEL':
      return {
        ...i,
        labels: i.labels.map((kv) => ({ ...kv, key: word(kv.key), value: word(kv.value) })),
      } as T;
    case 'EXPOSE':
      return {
        ...i,
        ports: i.ports.flatMap((p) => wrapShellError(line, () => lex.processWords(p, env))),
      } as T;
    case 'ARG':
      return { ...i, args: i.args.map((a) => ({ key: word(a.key), value: maybe(a.value) })) } as T;
    case 'USER':
      return { ...i, user: word(i.user) } as T;
    case 'WORKDIR':
      return { ...i, path: word(i.path) } as T;
    case 'STOPSIGNAL':
      return { ...i, signal: word(i.signal) } as T;
    case 'VOLUME':
      return { ...i, volumes: i.volumes.map(word) } as T;
    case 'RUN':
      return resolveMounts(i, word) as T;
    default:
      return instruction;
  }
}

/** Heredoc bodies with an unquoted delimiter: `$VAR` expanded, quotes kept, `\` escapes. */
function expandContents(contents: SourceContent[], env: EnvLookup, line: number): SourceContent[] {
  const lex = new ShellLex('\\', { skipProcessQuotes: true });
  return contents.map((c) =>
    c.expand ? { ...c, data: wrapShellError(line, () => lex.processWord(c.data, env)) } : c,
  );
}

function resolveMounts(run: RunInstruction, word: (text: string) => string): RunInstruction {
  if (run.mountSpecs.length === 0) return run;
  const mounts = run.mountSpecs.map((spec) => {
    try {
      return parseMountSpec(spec, word);
    } catch (err) {
      if (err instanceof DockerfileError && err.line === undefined)
        throw new DockerfileError(err.reason, run.line);
      throw err;
    }
  });
  return { ...run, mounts };
}

export interface ExpandedFrom {
  /** The base image or stage name; `scratch` for an empty base. */
  baseName: string;
  platform?: string;
  /** Global ARGs the FROM line referenced (they count as consumed). */
  used: Set<string>;
}

/** Expands a FROM line with the global scope (predefined and pre-FROM ARGs only). */
export function expandFrom(stage: Stage, globalArgs: EnvLookup, escapeToken: EscapeToken): ExpandedFrom {
  const lex = new ShellLex(escapeToken);
  const used = new Set<string>();
  const name = wrapShellError(stage.line, () => lex.process(stage.baseName, globalArgs));
  name.matched.forEach((n) => used.add(n));
  if (name.result === '') {
    throw new DockerfileError(`base name (${stage.baseName}) should not be blank`, stage.line);
  }
  let platform: string | undefined;
  if (stage.platform !== undefined) {
    const expanded = wrapShellError(stage.line, () => lex.process(stage.platform as string, globalArgs));
    expanded.matched.forEach((n) => used.add(n));
    if (expanded.result === '') {
      throw new DockerfileError(`empty platform value from expression ${stage.platform}`, stage.line);
    }
    platform = expanded.result;
  }
  return { baseName: name.result, platform, used };
}

/** `--from` must be literal: Docker refuses variables there. */
export function checkLiteralFrom(from: string, line: number): void {
  const expanded = wrapShellError(line, () => new ShellLex('\\').processWord(from, emptyEnv));
  if (expanded !== from) {
    throw new DockerfileError(
      'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
      line,
    );
  }
}

export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

/** A file a RUN heredoc needs inside the container (a script with a `#!` line). */
export interface RunScript {
  /** Absolute path in the container. */
  path: string;
  data: string;
  mode: number;
}

/** Where BuildKit mounts heredoc scripts; kept so behaviour and history match. */
export const HEREDOC_SCRIPT_DIR = '/dev/pipes/';

/**
 * The argv a RUN (or shell-form CMD/ENTRYPOINT) executes, with the image's
 * SHELL (default `/bin/sh -c`) prepended for the shell form, and heredocs
 * turned into what the shell sees: a lone `<<EOF` runs its body as the script
 * (or as an executable file when it starts with `#!`); heredocs inside a
 * longer command are passed to the shell verbatim.
 */
export function commandLine(
  instruction: { command: string[]; shell: boolean; files: { name: string; data: string; chomp: boolean }[] },
  shell: readonly string[] | undefined = DEFAULT_SHELL,
): { args: string[]; scripts: RunScript[] } {
  let args = instruction.command;
  const scripts: RunScript[] = [];
  const files = instruction.files;
  if (files.length > 0) {
    if (args.length !== 1 || !instruction.shell) {
      throw new DockerfileError(`parsing produced an invalid run command: [${args.join(' ')}]`);
    }
    let lone: ReturnType<typeof parseHeredocWord>;
    try {
      lone = parseHeredocWord(args[0]);
    } catch {
      lone = undefined;
    }
    if (lone) {
      const data = files[0].chomp ? chompHeredocContent(files[0].data) : files[0].data;
      if (data.startsWith('#!')) {
        const path = HEREDOC_SCRIPT_DIR + files[0].name;
        scripts.push({ path, data, mode: 0o755 });
        args = [path];
      } else {
        args = [data];
      }
    } else {
      let text = args[0];
      for (const file of files) text += '\n' + file.data + file.name;
      args = [text];
    }
  }
  if (instruction.shell) {
    const prefix = shell && shell.length > 0 ? shell : DEFAULT_SHELL;
    args = [...prefix, args.join(' ')];
  }
  return { args, scripts };
}

/**
 * EXPOSE values normalised to Docker's `port/proto` keys (ranges expanded,
 * protocol lower-cased, `tcp` by default), with Docker's validation errors.
 */
export function exposedPorts(ports: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of ports) {
    const parts = raw.split(':');
    const containerPart = parts[parts.length - 1];
    const hostPart = parts.length >= 2 ? parts[parts.length - 2] : '';
    const slash = containerPart.indexOf('/');
    const port = slash < 0 ? containerPart : containerPart.slice(0, slash);
    const proto = slash < 0 ? 'tcp' : containerPart.slice(slash + 1);
    if (port === '') throw new DockerfileError(`invalid port: ${JSON.stringify(raw)}: no port specified`);
    if (!['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) {
      throw new DockerfileError(`invalid port: ${JSON.stringify(raw)}: invalid proto: ${proto}`);
    }
    const [start, end] = portRange(port, 'containerPort');
    if (hostPart !== '') {
      const [hostStart, hostEnd] = portRange(hostPart, 'hostPort');
      if (end - start !== hostEnd - hostStart && end !== start) {
        throw new DockerfileError(
          `invalid ranges specified for container and host Ports: ${port} and ${hostPart}`,
        );
      }
    }
    for (let p = start; p <= end; p++) out.push(`${p}/${proto.toLowerCase()}`);
  }
  return out;
}

function portRange(text: string, what: string): [number, number] {
  const invalid = (): DockerfileError => new DockerfileError(`invalid ${what}: ${text}`);
  const dash = text.indexOf('-');
  const startText = dash < 0 ? text : text.slice(0, dash);
  const endText = dash < 0 ? startText : text.slice(dash + 1);
  const parse = (t: string): number => {
    if (!/^\d+$/.test(t)) throw invalid();
    const n = Number(t);
    if (n > 65535) throw invalid();
    return n;
  };
  const start = parse(startText);
  const end = endText === startText ? start : parse(endText);
  if (end < start) throw invalid();
  return [start, end];
}
