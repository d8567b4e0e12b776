/**
 * The stage graph of a build: which stages the target needs, in which order,
 * which can run at the same time, and how build arguments are scoped.
 *
 * Semantics follow BuildKit where it differs from Docker's classic builder
 * (only needed stages are built; `--from` may name any stage; a stage based on
 * another inherits its ARGs) and the classic builder elsewhere (ENV overrides
 * an ARG of the same name; proxy args reach RUN without being declared but stay
 * out of history; the unused build-args warning).
 */
import { DockerfileError } from './dockerfile/errors.js';
import { checkLiteralFrom, expandFrom, expandWord } from './dockerfile/expand.js';
import type { ArgInstruction, Dockerfile, Instruction, Stage } from './dockerfile/instructions.js';
import type { EnvLookup } from './dockerfile/lex.js';
import type { EscapeToken } from './dockerfile/parser.js';
import { formatPlatform, hostPlatform, parsePlatform, type PlatformSpec } from '../registry/platform.js';
import { goSlice } from './dockerfile/text.js';

/** Build arguments as the API receives them; null means "declared without a value" (ignored). */
export type BuildArgs = Readonly<Record<string, string | null | undefined>>;

export interface PlanOptions {
  buildArgs?: BuildArgs;
  /** The stage to build (`--target`); default: the last stage. */
  target?: string;
  /** The platform to build for; default: the build platform. */
  platform?: string | PlatformSpec;
  /** The platform the build runs on; default: this machine. */
  buildPlatform?: string | PlatformSpec;
}

export type StageBase =
  { kind: 'scratch' } | { kind: 'stage'; index: number } | { kind: 'image'; ref: string };

/** What `COPY --from` or `RUN --mount=from=` points at. */
export type StageSource = { kind: 'stage'; index: number } | { kind: 'image'; ref: string };

export interface PlannedStage {
  index: number;
  name?: string;
  /** `name`, or `stage-N` for unnamed stages (BuildKit's naming). */
  displayName: string;
  stage: Stage;
  /** The FROM argument after global ARG expansion. */
  baseName: string;
  base: StageBase;
  /** FROM --platform (expanded), else the base stage's platform, else the target platform. */
  platform: PlatformSpec;
  /** FROM --platform was given. */
  explicitPlatform: boolean;
  /** Stages that must complete first (base, COPY --from, RUN --mount from), ascending. */
  dependsOn: number[];
  /** Images named by COPY --from / RUN --mount from=, in order of appearance. */
  externalImages: string[];
  /** Resolved `--from` of each COPY, and `from=` of each RUN mount, keyed by instruction. */
  sources: Map<Instruction, (StageSource | undefined)[]>;
}

export interface BuildPlan {
  escapeToken: EscapeToken;
  /** Every stage in Dockerfile order, needed or not. */
  allStages: PlannedStage[];
  /** The stages the target needs, each after its dependencies (ties by Dockerfile order). */
  stages: PlannedStage[];
  /** Waves of stages that can build in parallel: each stage's dependencies are in earlier waves. */
  levels: PlannedStage[][];
  target: PlannedStage;
  targetPlatform: PlatformSpec;
  buildPlatform: PlatformSpec;
  /** The global scope: predefined args and pre-FROM ARGs (with --build-arg overrides). */
  globalArgs: ReadonlyMap<string, string>;
  /** The --build-arg values given (null values dropped). */
  buildArgs: ReadonlyMap<string, string>;
  /** Build args no ARG of the global scope or of a built stage declares (proxy args excepted). */
  unusedBuildArgs: string[];
  /** Docker's warning for unusedBuildArgs, or undefined. */
  unusedBuildArgsWarning?: string;
  /** Parser warnings (empty continuation lines), as Docker prints them. */
  warnings: string[];
  /** A variable scope for one stage; see StageScope. */
  newScope(stage: PlannedStage, imageEnv?: readonly string[], parent?: StageScope): StageScope;
  /** Resolves a `--from` value the way the plan did (for ONBUILD triggers met while building). */
  resolveSource(from: string, line: number): StageSource;
}

/** Args Docker passes to RUN without a declaration, and keeps out of the image history unless declared. */
export const PROXY_ARGS: ReadonlySet<string> = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);

function toPlatform(value: string | PlatformSpec | undefined, fallback: PlatformSpec): PlatformSpec {
  if (value === undefined) return fallback;
  return typeof value === 'string' ? parsePlatform(value) : value;
}

/** BuildKit's automatic platform args, overridable with --build-arg. */
export function predefinedArgs(
  buildPlatform: PlatformSpec,
  targetPlatform: PlatformSpec,
  targetStage: string,
): Map<string, string> {
  return new Map([
    ['BUILDPLATFORM', formatPlatform(buildPlatform)],
    ['BUILDOS', buildPlatform.os],
    ['BUILDOSVERSION', ''],
    ['BUILDARCH', buildPlatform.architecture],
    ['BUILDVARIANT', buildPlatform.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(targetPlatform)],
    ['TARGETOS', targetPlatform.os],
    ['TARGETOSVERSION', ''],
    ['TARGETARCH', targetPlatform.architecture],
    ['TARGETVARIANT', targetPlatform.variant ?? ''],
    ['TARGETSTAGE', targetStage || 'default'],
  ]);
}

export function formatUnusedBuildArgsWarning(unused: readonly string[]): string | undefined {
  return unused.length === 0
    ? undefined
    : `[Warning] One or more build-args ${goSlice(unused)} were not consumed`;
}

/** Go's strconv.Atoi acceptance: an optional sign and decimal digits. */
const STAGE_INDEX = /^[+-]?\d+$/;

export function planBuild(dockerfile: Dockerfile, options: PlanOptions = {}): BuildPlan {
  const stages = dockerfile.stages;
  if (stages.length === 0) throw new DockerfileError('dockerfile contains no stages to build');
  const escapeToken = dockerfile.escapeToken;

  const buildArgs = new Map<string, string>();
  for (const [key, value] of Object.entries(options.buildArgs ?? {})) {
    if (value !== null && value !== undefined) buildArgs.set(key, value);
  }
  const buildPlatform = toPlatform(options.buildPlatform, hostPlatform());
  const targetPlatform = toPlatform(options.platform, buildPlatform);

  const targetIndex = findTarget(stages, options.target);
  const consumed = new Set<string>();
  const globalArgs = resolveGlobalArgs(
    dockerfile,
    buildArgs,
    buildPlatform,
    targetPlatform,
    consumed,
    options.target,
  );
  const fromEnv = withProxies(globalArgs, buildArgs);

  const byName = new Map<string, number>();
  const planned: PlannedStage[] = [];
  const fromArgs = new Map<number, Set<string>>();
  for (const stage of stages) {
    if (stage.name !== undefined) {
      if (byName.has(stage.name))
        throw new DockerfileError(`${stage.name} stage name already used`, stage.line);
      byName.set(stage.name, stage.index);
    }
    const from = expandFrom(stage, fromEnv, escapeToken);
    const baseIndex = byName.get(from.baseName.toLowerCase());
    const base: StageBase =
      baseIndex !== undefined && baseIndex !== stage.index
        ? { kind: 'stage', index: baseIndex }
        : from.baseName === 'scratch'
          ? { kind: 'scratch' }
          : { kind: 'image', ref: from.baseName };
    const platform = from.platform
      ? parsePlatformAt(from.platform, stage.line)
      : base.kind === 'stage'
        ? planned[base.index].platform
        : targetPlatform;
    planned.push({
      index: stage.index,
      name: stage.name,
      displayName: stage.name ?? `stage-${stage.index}`,
      stage,
      baseName: from.baseName,
      base,
      platform,
      explicitPlatform: from.platform !== undefined,
      dependsOn: [],
      externalImages: [],
      sources: new Map(),
    });
    fromArgs.set(stage.index, from.used);
  }

  const resolveSource = (from: string, line: number): StageSource => {
    checkLiteralFrom(from, line);
    const named = byName.get(from.toLowerCase());
    if (named !== undefined) return { kind: 'stage', index: named };
    if (STAGE_INDEX.test(from)) {
      const index = Number.parseInt(from, 10);
      if (index < 0 || index >= stages.length)
        throw new DockerfileError(`invalid stage index ${index}`, line);
      return { kind: 'stage', index };
    }
    return { kind: 'image', ref: from };
  };
  for (const stage of planned) linkSources(stage, resolveSource);
  checkCycles(planned);

  const needed = reachable(planned, targetIndex);
  for (const stage of needed) {
    for (const key of fromArgs.get(stage.index) ?? []) consumed.add(key);
    for (const instruction of stage.stage.instructions) {
      if (instruction.kind === 'ARG') instruction.args.forEach((a) => consumed.add(a.key));
    }
  }
  const levels = waves(needed);
  const unusedBuildArgs = Object.keys(options.buildArgs ?? {})
    .filter((key) => !consumed.has(key) && !PROXY_ARGS.has(key))
    .sort();

  return {
    escapeToken,
    allStages: planned,
    stages: levels.flat(),
    levels,
    target: planned[targetIndex],
    targetPlatform,
    buildPlatform,
    globalArgs,
    buildArgs,
    unusedBuildArgs,
    unusedBuildArgsWarning: formatUnusedBuildArgsWarning(unusedBuildArgs),
    warnings: formatParseWarnings(dockerfile.warnings),
    newScope: (stage, imageEnv = [], parent) =>
      new StageScope({ globalArgs, buildArgs, escapeToken }, imageEnv, parent ?? undefined, stage.index),
    resolveSource,
  };
}

function formatParseWarnings(warnings: readonly string[]): string[] {
  if (warnings.length === 0) return [];
  return [
    ...warnings.map((w) => `[WARNING]: ${w}`),
    '[WARNING]: Empty continuation lines will become errors in a future release.',
  ];
}

function parsePlatformAt(text: string, line: number): PlatformSpec {
  try {
    return parsePlatform(text);
  } catch (err) {
    throw new DockerfileError(`failed to parse platform ${text}: ${(err as Error).message}`, line);
  }
}

function findTarget(stages: readonly Stage[], target: string | undefined): number {
  if (target === undefined || target === '') return stages.length - 1;
  const found = stages.find((s) => s.name !== undefined && s.name === target.toLowerCase());
  if (!found) throw new DockerfileError(`target stage ${JSON.stringify(target)} could not be found`);
  return found.index;
}

function resolveGlobalArgs(
  dockerfile: Dockerfile,
  buildArgs: ReadonlyMap<string, string>,
  buildPlatform: PlatformSpec,
  targetPlatform: PlatformSpec,
  consumed: Set<string>,
  target: string | undefined,
): Map<string, string> {
  const targetName = target || dockerfile.stages[dockerfile.stages.length - 1].name || '';
  const global = predefinedArgs(buildPlatform, targetPlatform, targetName);
  for (const [key, value] of buildArgs) if (global.has(key)) global.set(key, value);
  for (const instruction of dockerfile.metaArgs) {
    for (const arg of instruction.args) {
      consumed.add(arg.key);
      const override = buildArgs.get(arg.key);
      if (override !== undefined) global.set(arg.key, override);
      else if (arg.value !== undefined) {
        global.set(
          arg.key,
          expandWord(arg.value, withProxies(global, buildArgs), dockerfile.escapeToken, instruction.line),
        );
      }
    }
  }
  return global;
}

/** FROM lines also see proxy build args, as with Docker's classic builder. */
function withProxies(global: ReadonlyMap<string, string>, buildArgs: ReadonlyMap<string, string>): EnvLookup {
  return {
    get: (name) => global.get(name) ?? (PROXY_ARGS.has(name) ? buildArgs.get(name) : undefined),
  };
}

function linkSources(stage: PlannedStage, resolve: (from: string, line: number) => StageSource): void {
  const deps = new Set<number>();
  if (stage.base.kind === 'stage') deps.add(stage.base.index);
  const images: string[] = [];
  const note = (source: StageSource): StageSource => {
    if (source.kind === 'stage') deps.add(source.index);
    else if (!images.includes(source.ref)) images.push(source.ref);
    return source;
  };
  for (const instruction of stage.stage.instructions) {
    if (instruction.kind === 'COPY' && instruction.from !== undefined) {
      stage.sources.set(instruction, [note(resolve(instruction.from, instruction.line))]);
    } else if (instruction.kind === 'RUN' && instruction.mounts.length > 0) {
      stage.sources.set(
        instruction,
        instruction.mounts.map((m) => (m.from ? note(resolve(m.from, instruction.line)) : undefined)),
      );
    }
  }
  stage.dependsOn = [...deps].sort((a, b) => a - b);
  stage.externalImages = images;
}

function checkCycles(stages: readonly PlannedStage[]): void {
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (stage: PlannedStage): void => {
    const mark = state.get(stage.index);
    if (mark === 'done') return;
    if (mark === 'visiting') {
      throw new DockerfileError(
        `circular dependency detected on stage: ${stage.displayName}`,
        stage.stage.line,
      );
    }
    state.set(stage.index, 'visiting');
    for (const dep of stage.dependsOn) visit(stages[dep]);
    state.set(stage.index, 'done');
  };
  stages.forEach(visit);
}

/** Whether stage `index` is `other` or needs it, directly or through other stages. */
export function stageNeeds(stages: readonly PlannedStage[], index: number, other: number): boolean {
  return reachable(stages, index).some((s) => s.index === other);
}

function reachable(stages: readonly PlannedStage[], target: number): PlannedStage[] {
  const seen = new Set<number>();
  const walk = (index: number): void => {
    if (seen.has(index)) return;
    seen.add(index);
    stages[index].dependsOn.forEach(walk);
  };
  walk(target);
  return stages.filter((s) => seen.has(s.index));
}

function waves(stages: readonly PlannedStage[]): PlannedStage[][] {
  const depth = new Map<number, number>();
  const byIndex = new Map(stages.map((s) => [s.index, s]));
  const depthOf = (stage: PlannedStage): number => {
    const known = depth.get(stage.index);
    if (known !== undefined) return known;
    const d = stage.dependsOn.reduce(
      (max, dep) => Math.max(max, depthOf(byIndex.get(dep) as PlannedStage) + 1),
      0,
    );
    depth.set(stage.index, d);
    return d;
  };
  const levels: PlannedStage[][] = [];
  for (const stage of stages) (levels[depthOf(stage)] ??= []).push(stage);
  return levels.map((level) => level.sort((a, b) => a.index - b.index));
}

interface ScopeContext {
  globalArgs: ReadonlyMap<string, string>;
  buildArgs: ReadonlyMap<string, string>;
  escapeToken: EscapeToken;
}

export interface ResolvedArg {
  key: string;
  /** undefined: declared but unset (no default, no --build-arg, no global value). */
  value?: string;
}

/**
 * The variables of one stage while it builds: the image's ENV (from the base
 * image, then ENV instructions) and the ARGs declared so far. Drive it in
 * instruction order: declare() each ARG, setEnv() each expanded ENV pair, and
 * use `lookup` to expand the other instructions.
 */
export class StageScope {
  /** ENV in image-config order. */
  private readonly env = new Map<string, string>();
  /** Declared ARGs in declaration order (a re-declaration moves nothing). */
  private readonly args = new Map<string, string | undefined>();
  /** Keys of --build-arg values this stage consumed. */
  readonly consumed = new Set<string>();

  constructor(
    private readonly context: ScopeContext,
    imageEnv: readonly string[] = [],
    parent?: StageScope,
    readonly stageIndex?: number,
  ) {
    for (const entry of imageEnv) {
      const eq = entry.indexOf('=');
      if (eq < 0) this.env.set(entry, '');
      else this.env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    if (parent) for (const [key, value] of parent.args) this.args.set(key, value);
  }

  /** Expansion lookup: ENV first, then ARGs in scope, then undeclared proxy build args. */
  readonly lookup: EnvLookup = {
    get: (name: string): string | undefined => {
      if (this.env.has(name)) return this.env.get(name);
      const arg = this.args.get(name);
      if (arg !== undefined) return arg;
      if (!this.args.has(name) && PROXY_ARGS.has(name)) return this.context.buildArgs.get(name);
      return undefined;
    },
  };

  /**
   * Declares the ARGs of one instruction. Each value is the --build-arg if
   * given, else the default (expanded with the variables so far), else the
   * global value of the same name (a pre-FROM ARG or a predefined arg).
   */
  declare(instruction: ArgInstruction): ResolvedArg[] {
    const resolved: ResolvedArg[] = [];
    for (const arg of instruction.args) {
      let value = this.context.buildArgs.get(arg.key);
      if (value !== undefined) this.consumed.add(arg.key);
      else if (arg.value !== undefined) {
        value = expandWord(arg.value, this.lookup, this.context.escapeToken, instruction.line);
      } else value = this.context.globalArgs.get(arg.key);
      this.args.set(arg.key, value);
      resolved.push({ key: arg.key, value });
    }
    return resolved;
  }

  setEnv(key: string, value: string): void {
    this.env.set(key, value);
  }

  /** The image config's Env (`KEY=value`, in order). */
  configEnv(): string[] {
    return [...this.env].map(([k, v]) => `${k}=${v}`);
  }

  /** ARGs with a value that no ENV of the same name hides, as `KEY=value`. */
  private visibleArgs(): string[] {
    const out: string[] = [];
    for (const [key, value] of this.args) {
      if (value !== undefined && !this.env.has(key)) out.push(`${key}=${value}`);
    }
    return out;
  }

  /** The environment of a RUN container: ENV, visible ARGs, then undeclared proxy args. */
  runEnv(): string[] {
    const proxies = [...this.context.buildArgs]
      .filter(([key]) => PROXY_ARGS.has(key) && !this.args.has(key) && !this.env.has(key))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`);
    return [...this.configEnv(), ...this.visibleArgs(), ...proxies];
  }

  /**
   * The ARG values a RUN step records (Docker's `|N KEY=value ... cmd` history
   * and cache-key prefix): sorted, proxies only when declared.
   */
  historyArgs(): string[] {
    return this.visibleArgs().sort();
  }

  /** ARG names and values in scope (for inheritance and inspection). */
  declaredArgs(): ResolvedArg[] {
    return [...this.args].map(([key, value]) => ({ key, value }));
  }
}

/** Docker's RUN history/cache command: `|2 A=1 B=2 /bin/sh -c cmd` when ARGs are in effect. */
export function runHistoryCommand(args: readonly string[], historyArgs: readonly string[]): string[] {
  return historyArgs.length === 0 ? [...args] : [`|${historyArgs.length}`, ...historyArgs, ...args];
}
