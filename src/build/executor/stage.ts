/**
 * One build stage, instruction by instruction, with the classic builder's
 * semantics: every instruction yields a new image (config-only steps add an
 * empty-layer history entry, RUN/COPY/ADD/WORKDIR a layer when they change
 * files), and every step is looked up in the build cache first.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage, EngineError, invalidParameter, notImplemented } from '../../common/errors.js';
import { closeFd } from '../../archive/fdops.js';
import { openInRoot } from '../../archive/resolve.js';
import type { Descriptor, Mount } from '../../containerd/types.js';
import { parseGroup, parsePasswd } from '../../oci/user.js';
import { formatPlatform, type PlatformSpec } from '../../registry/platform.js';
import { parseSignal } from '../../engine/containers/signals.js';
import { ContextDigester, type SourcesDigest } from '../context/digest.js';
import { PatternMatcher } from '../context/dockerignore.js';
import {
  commandLine,
  DockerfileError,
  expandInstruction,
  exposedPorts,
  parseTrigger,
  type AddInstruction,
  type CopyInstruction,
  type Instruction,
  type RunInstruction,
} from '../dockerfile/index.js';
import {
  runHistoryCommand,
  stageNeeds,
  type PlannedStage,
  type StageScope,
  type StageSource,
} from '../plan.js';
import {
  copySource,
  ensureDir,
  writeInlineFile,
  type CopyOptions,
  type CopySource,
  type Owner,
} from './copy.js';
import { goDuration, goList, goQuoteList, truncateId } from './gofmt.js';
import {
  childImage,
  copyRunConfig,
  initialRunConfig,
  scratchImage,
  topChainId,
  type BuildImage,
  type RunConfig,
} from './image.js';
import { prepareRunMounts, removeMountStubs } from './mounts.js';
import type { StageChannel } from './output.js';
import { commitLayer, randomKey, withMounted, type ImageView } from './rootfs.js';
import { runContainer } from './run.js';
import { ensureEmulation } from './emulation.js';
import type { BuildRun, StageResult } from './types.js';

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** A failed RUN: Docker's message and the process's exit code. */
export class StepExitError extends EngineError {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super('System', message);
  }
}

/** A LABEL step made from `--label` (printed, never expanded). */
export interface ExtraLabel {
  key: string;
  value: string;
}

export class StageBuilder {
  private image!: BuildImage;
  private runConfig!: RunConfig;
  private scope!: StageScope;
  private maintainer: string | undefined;
  private cmdSet = false;
  private step: number;

  constructor(
    private readonly build: BuildRun,
    private readonly planned: PlannedStage,
    private readonly channel: StageChannel,
    firstStep: number,
    private readonly totalSteps: number,
    private readonly extraLabels: ExtraLabel[] = [],
  ) {
    this.step = firstStep;
  }

  get platform(): PlatformSpec {
    return this.planned.platform;
  }

  async run(): Promise<StageResult> {
    this.printStep(this.planned.stage.original);
    await this.from();
    for (const instruction of this.planned.stage.instructions) {
      this.checkCancelled();
      this.printStep(instruction.original);
      await this.dispatch(instruction);
      this.channel.stream(` ---> ${truncateId(this.image.id)}\n`);
    }
    for (const label of this.extraLabels) {
      this.checkCancelled();
      this.printStep(`LABEL ${label.key}=${label.value}`);
      this.runConfig.Labels = { ...(this.runConfig.Labels ?? {}), [label.key]: label.value };
      await this.commitConfig(`LABEL ${label.key}=${label.value}`);
      this.channel.stream(` ---> ${truncateId(this.image.id)}\n`);
    }
    if (this.image.id) this.channel.message({ aux: { ID: this.image.id } });
    return { image: this.image, runConfig: this.runConfig, scope: this.scope, platform: this.platform };
  }

  private printStep(text: string): void {
    this.channel.stream(`Step ${this.step}/${this.totalSteps} : ${text}\n`);
    this.step++;
  }

  private checkCancelled(): void {
    if (this.build.signal.aborted) throw new EngineError('System', 'Build cancelled');
  }

  // ------------------------------------------------------------------ FROM

  private async from(): Promise<void> {
    const base = this.planned.base;
    let parentScope: StageScope | undefined;
    if (base.kind === 'stage') {
      const result = await this.build.stage(base.index);
      this.image = result.image;
      parentScope = result.scope;
    } else if (base.kind === 'image') {
      this.image = await this.build.baseImage(base.ref, this.platform, this.channel);
    } else {
      this.image = scratchImage(this.platform);
    }
    this.runConfig = initialRunConfig(this.image);
    this.scope = this.build.plan.newScope(this.planned, this.runConfig.Env ?? [], parentScope);
    this.channel.stream(` ---> ${truncateId(this.image.id)}\n`);
    const triggers = this.runConfig.OnBuild ?? [];
    if (triggers.length > 0) {
      this.runConfig.OnBuild = null;
      this.channel.stream(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      for (const trigger of triggers) await this.dispatch(parseTrigger(trigger), true);
    }
  }

  // -------------------------------------------------------------- dispatch

  private async dispatch(original: Instruction, trigger = false): Promise<void> {
    const instruction = expandInstruction(original, this.scope.lookup, this.build.plan.escapeToken);
    const rc = this.runConfig;
    try {
      switch (instruction.kind) {
        case 'ENV': {
          const parts: string[] = [];
          for (const { key, value } of instruction.env) {
            const entry = `${key}=${value}`;
            parts.push(entry);
            const env = rc.Env ?? [];
            const at = env.findIndex((e) => e.split('=', 1)[0] === key);
            if (at >= 0) env[at] = entry;
            else env.push(entry);
            rc.Env = env;
            this.scope.setEnv(key, value);
          }
          return await this.commitConfig(`ENV ${parts.join(' ')}`);
        }
        case 'MAINTAINER':
          this.maintainer = instruction.maintainer;
          return await this.commitConfig(`MAINTAINER ${instruction.maintainer}`);
        case 'LABEL': {
          const labels = { ...(rc.Labels ?? {}) };
          for (const { key, value } of instruction.labels) labels[key] = value;
          rc.Labels = labels;
          return await this.commitConfig(
            `LABEL ${instruction.labels.map((l) => `${l.key}=${l.value}`).join(' ')}`,
          );
        }
        case 'ARG': {
          this.scope.declare(original as typeof instruction);
          const text = instruction.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`));
          return await this.commitConfig(`ARG ${text.join(' ')}`);
        }
        case 'ONBUILD':
          rc.OnBuild = [...(rc.OnBuild ?? []), instruction.expression];
          return await this.commitConfig(`ONBUILD ${instruction.expression}`);
        case 'USER':
          rc.User = instruction.user;
          return await this.commitConfig(`USER ${instruction.user}`);
        case 'VOLUME': {
          const volumes = { ...(rc.Volumes ?? {}) };
          for (const volume of instruction.volumes) {
            if (volume === '') throw invalidParameter('VOLUME specified can not be an empty string');
            volumes[volume] = {};
          }
          rc.Volumes = volumes;
          return await this.commitConfig(`VOLUME ${goList(instruction.volumes)}`);
        }
        case 'STOPSIGNAL':
          parseSignal(instruction.signal);
          rc.StopSignal = instruction.signal;
          return await this.commitConfig(`STOPSIGNAL ${instruction.signal}`);
        case 'SHELL':
          rc.Shell = [...instruction.shell];
          return await this.commitConfig(`SHELL ${goList(rc.Shell)}`);
        case 'EXPOSE': {
          const ports = { ...(rc.ExposedPorts ?? {}) };
          for (const port of exposedPorts(instruction.ports)) ports[port] = {};
          rc.ExposedPorts = ports;
          return await this.commitConfig(`EXPOSE ${instruction.ports.join(' ')}`);
        }
        case 'CMD': {
          rc.Cmd = commandLine(instruction, this.shell()).args;
          delete rc.ArgsEscaped;
          await this.commitConfig(`CMD ${goQuoteList(rc.Cmd)}`);
          if (instruction.command.length > 0) this.cmdSet = true;
          return;
        }
        case 'ENTRYPOINT':
          rc.Entrypoint = commandLine(instruction, this.shell()).args;
          delete rc.ArgsEscaped;
          if (!this.cmdSet) rc.Cmd = null;
          return await this.commitConfig(`ENTRYPOINT ${goQuoteList(rc.Entrypoint)}`);
        case 'HEALTHCHECK': {
          const previous = rc.Healthcheck?.Test;
          if (previous && previous.length > 0 && previous[0] !== 'NONE')
            this.channel.stream(`Note: overriding previous HEALTHCHECK: ${goList(previous)}\n`);
          const h = instruction.health;
          const health: NonNullable<RunConfig['Healthcheck']> = { Test: [...h.test] };
          if (h.interval) health.Interval = h.interval;
          if (h.timeout) health.Timeout = h.timeout;
          if (h.startPeriod) health.StartPeriod = h.startPeriod;
          if (h.startInterval) health.StartInterval = h.startInterval;
          if (h.retries) health.Retries = h.retries;
          rc.Healthcheck = health;
          const text =
            `&{Test:${goList(health.Test)} Interval:${goDuration(h.interval)} Timeout:${goDuration(h.timeout)} ` +
            `StartPeriod:${goDuration(h.startPeriod)} StartInterval:${goDuration(h.startInterval)} Retries:${h.retries}}`;
          return await this.commitConfig(`HEALTHCHECK ${text}`);
        }
        case 'WORKDIR':
          return await this.workdir(instruction.path);
        case 'RUN':
          return await this.runStep(instruction, original as RunInstruction);
        case 'COPY':
          return await this.copyStep(instruction, original as CopyInstruction);
        case 'ADD':
          return await this.copyStep(instruction, original as AddInstruction);
      }
    } catch (err) {
      if (err instanceof DockerfileError && err.line === undefined && !trigger)
        throw new DockerfileError(err.reason, instruction.line, instruction.endLine);
      throw err;
    }
  }

  private shell(): string[] {
    return this.runConfig.Shell && this.runConfig.Shell.length > 0 ? this.runConfig.Shell : DEFAULT_SHELL;
  }

  /** The state's config as committed: Image points at the parent. */
  private committedConfig(): RunConfig {
    const config = copyRunConfig(this.runConfig);
    config.Image = this.image.id;
    return config;
  }

  private cacheKey(createdBy: string, config: RunConfig, extra: unknown = null): string {
    const parent = this.image.id || `scratch:${formatPlatform(this.platform)}`;
    const text = JSON.stringify({ v: 1, parent, createdBy, config, author: this.maintainer ?? '', extra });
    return createHash('sha256').update(text).digest('hex');
  }

  /** A step that changes only the config: `<shell> #(nop)  <comment>` in history. */
  private async commitConfig(comment: string): Promise<void> {
    const createdBy = [...this.shell(), '#(nop) ', comment].join(' ');
    const config = this.committedConfig();
    const key = this.cacheKey(createdBy, config);
    if (await this.useCache(key, createdBy, config, comment)) return;
    const parent = this.image;
    this.image = childImage({ parent, runConfig: config, createdBy, author: this.maintainer });
    await this.build.remember(key, parent, this.image, false, comment);
  }

  /**
   * Takes the step's result from the build cache or, failing that, from a
   * `cachefrom` image whose history continues this image's with the same
   * command. Only the layer comes from such an image; the config is the
   * one this build computed, so a foreign image cannot slip in its own
   * (the CVE-2024-24557 class).
   */
  private async useCache(
    key: string,
    createdBy: string,
    config: RunConfig,
    description: string,
  ): Promise<boolean> {
    if (await this.useLocalCache(key)) return true;
    const match = await this.cacheSourceMatch(createdBy);
    if (!match) return false;
    const parent = this.image;
    this.image = childImage({
      parent,
      runConfig: config,
      createdBy,
      author: this.maintainer,
      layer: match.layer,
      diffId: match.diffId,
      created: match.created,
    });
    this.channel.stream(' ---> Using cache\n');
    await this.build.remember(key, parent, this.image, match.layer !== undefined, description);
    return true;
  }

  private async useLocalCache(key: string): Promise<boolean> {
    const cached = await this.build.cached(key);
    if (!cached) return false;
    this.channel.stream(' ---> Using cache\n');
    this.image = cached;
    return true;
  }

  private async cacheSourceMatch(
    createdBy: string,
  ): Promise<{ layer?: Descriptor; diffId?: string; created?: string } | undefined> {
    if (this.build.request.noCache) return undefined;
    const history = this.image.config.history ?? [];
    const diffIds = this.image.config.rootfs.diff_ids;
    for (const source of await this.build.cacheSources()) {
      const theirs = source.config.history ?? [];
      const next = theirs[history.length];
      if (!next || next.created_by !== createdBy) continue;
      const samePast = history.every(
        (h, i) =>
          theirs[i].created_by === h.created_by &&
          theirs[i].created === h.created &&
          Boolean(theirs[i].empty_layer) === Boolean(h.empty_layer),
      );
      const sameLayers = diffIds.every((d, i) => source.config.rootfs.diff_ids[i] === d);
      if (!samePast || !sameLayers) continue;
      if (next.empty_layer) return { created: next.created };
      const layer = source.layers[diffIds.length];
      if (!layer || source.config.rootfs.diff_ids[diffIds.length] === undefined) continue;
      return { layer, diffId: source.config.rootfs.diff_ids[diffIds.length], created: next.created };
    }
    return undefined;
  }

  /**
   * A step that changes files: prepares a writable snapshot on the current
   * image, lets `work` change it, and commits the result as the next image.
   */
  private async commitFiles(
    key: string,
    createdBy: string,
    description: string,
    config: RunConfig,
    work: (snapshotKey: string, mounts: Mount[]) => Promise<void>,
  ): Promise<void> {
    const leased = this.build.leased;
    const parentChain = topChainId(this.image);
    const snapshotKey = randomKey('build-step');
    const mounts = await leased.snapshots.prepare(snapshotKey, parentChain);
    try {
      await work(snapshotKey, mounts);
    } catch (err) {
      await leased.snapshots.remove(snapshotKey).catch(() => undefined);
      throw err;
    }
    const committed = await commitLayer(leased, parentChain, snapshotKey);
    const parent = this.image;
    this.image = childImage({
      parent,
      runConfig: config,
      createdBy,
      author: this.maintainer,
      layer: committed.layer,
    });
    await this.build.remember(key, parent, this.image, committed.layer !== undefined, description);
  }

  // --------------------------------------------------------------- WORKDIR

  private async workdir(requested: string): Promise<void> {
    if (requested === '') throw invalidParameter('cannot normalize nothing');
    const rc = this.runConfig;
    rc.WorkingDir = path.posix.isAbsolute(requested)
      ? requested
      : path.posix.join('/', rc.WorkingDir || '/', requested);
    const comment = `WORKDIR ${rc.WorkingDir}`;
    const createdBy = [...this.shell(), `#(nop) ${comment}`].join(' ');
    const config = this.committedConfig();
    const key = this.cacheKey(createdBy, config);
    if (await this.useCache(key, createdBy, config, comment)) return;
    const dir = rc.WorkingDir;
    await this.commitFiles(key, createdBy, comment, config, (_key, mounts) =>
      withMounted(mounts, this.build.scratchDir, async (root) => {
        const fd = await ensureDir(root, dir);
        await closeFd(fd);
      }),
    );
  }

  // ------------------------------------------------------------------- RUN

  private async runStep(run: RunInstruction, original: RunInstruction): Promise<void> {
    if (run.network === 'host' && this.build.request.networkMode !== 'host')
      throw invalidParameter('RUN --network=host requires the build to run with network mode host');
    const { args, scripts } = commandLine(run, this.shell());
    const saveCmd = runHistoryCommand(args, this.scope.historyArgs());
    const createdBy = saveCmd.join(' ');
    const config = this.committedConfig();
    const sources = this.planned.sources.get(original) ?? [];
    const extra = {
      mounts: await this.mountKeys(run, sources),
      network: run.network,
      security: run.security,
      scripts: scripts.map((s) => [s.path, s.data, s.mode]),
    };
    const key = this.cacheKey(
      createdBy,
      config,
      run.mountSpecs.length || run.flagsUsed.length || scripts.length ? extra : null,
    );
    // A RUN with mounts or flags only reuses its own results: its history line does not say it all.
    const plain = run.mountSpecs.length === 0 && run.flagsUsed.length === 0 && scripts.length === 0;
    if (plain ? await this.useCache(key, createdBy, config, createdBy) : await this.useLocalCache(key))
      return;
    const networkMode = run.network === 'none' ? 'none' : this.build.request.networkMode || 'default';
    await this.commitFiles(key, createdBy, createdBy, config, async (snapshotKey, rootfs) => {
      await ensureEmulation(this.platform);
      const views: ImageView[] = [];
      const prepared = await prepareRunMounts(run.mounts, scripts, this.runConfig.WorkingDir, {
        contextDir: this.build.contextDir,
        filter: this.build.filter,
        cacheMounts: this.build.cacheMounts,
        secrets: this.build.request.secrets,
        scratchDir: this.build.scratchDir,
        viewFrom: async (index) => {
          const source = sources[index];
          if (!source) throw invalidParameter('mount source stage not found');
          const { view } = await this.build.view(source, this.platform, this.channel);
          views.push(view);
          return view;
        },
      });
      let containerId = '';
      try {
        const result = await runContainer({
          leased: this.build.leased,
          sandbox: await this.build.sandbox(networkMode),
          execRoot: this.build.execRoot,
          scratchDir: this.build.scratchDir,
          snapshotKey,
          rootfs,
          args,
          env: [...this.scope.runEnv(), ...prepared.env],
          user: this.runConfig.User,
          workingDir: this.runConfig.WorkingDir || '/',
          privileged: run.security === 'insecure',
          mounts: prepared.mounts,
          host: this.build.request.host,
          onStdout: (chunk) => this.channel.stream(chunk.toString('utf8')),
          onStderr: (chunk) => this.channel.stderr(chunk.toString('utf8')),
          onCreated: (id) => {
            containerId = id;
            this.channel.stream(` ---> Running in ${truncateId(id)}\n`);
          },
          signal: this.build.signal,
        });
        if (result.exitCode !== 0) {
          throw new StepExitError(
            `The command '${args.join(' ')}' returned a non-zero code: ${result.exitCode}`,
            result.exitCode,
          );
        }
        await removeMountStubs(rootfs, result.mountPoints);
      } finally {
        await prepared.release();
      }
      if (containerId) this.channel.stream(`Removing intermediate container ${truncateId(containerId)}\n`);
    });
  }

  /** What of a RUN's mounts decides its result: the specs, and the content of bind sources. */
  private async mountKeys(run: RunInstruction, sources: (StageSource | undefined)[]): Promise<unknown[]> {
    const keys: unknown[] = [];
    for (const [index, mount] of run.mounts.entries()) {
      const spec = { ...mount };
      if (mount.type === 'bind') {
        const source = sources[index];
        if (source) {
          keys.push({ spec, from: await this.sourceIdentity(source) });
        } else {
          const digest = await this.build.digester.digest([mount.source ?? '.']).catch(() => undefined);
          keys.push({ spec, digest: digest?.digest ?? 'missing' });
        }
      } else keys.push({ spec });
    }
    return keys;
  }

  private async sourceIdentity(source: StageSource): Promise<string> {
    if (source.kind === 'stage') return (await this.build.stage(source.index)).image.id;
    return source.ref;
  }

  // ------------------------------------------------------------- COPY/ADD

  private async copyStep(
    instruction: CopyInstruction | AddInstruction,
    original: CopyInstruction | AddInstruction,
  ): Promise<void> {
    const cmd = instruction.kind;
    if (instruction.kind === 'COPY' && instruction.parents)
      throw notImplemented('COPY --parents is not supported by berth');
    const dest = normalizeDest(this.runConfig.WorkingDir, instruction.dest);
    let view: ImageView | undefined;
    let viewIdentity = '';
    let fromKey: string | undefined;
    const downloads: string[] = [];
    try {
      let digester = this.build.digester;
      let fromContext = true;
      if (instruction.kind === 'COPY' && instruction.from !== undefined) {
        const source =
          (this.planned.sources.get(original) ?? [])[0] ??
          this.build.plan.resolveSource(instruction.from, instruction.line);
        // A trigger naming this stage, or one built from it, would wait for itself.
        if (
          source.kind === 'stage' &&
          stageNeeds(this.build.plan.allStages, source.index, this.planned.index)
        ) {
          throw new DockerfileError(
            `circular dependency detected on stage: ${this.build.plan.allStages[source.index].displayName}`,
            instruction.line,
          );
        }
        // The source image's ID names its content: a hit needs no mount and no digest.
        const sourceImage =
          source.kind === 'stage'
            ? (await this.build.stage(source.index)).image
            : await this.build.baseImage(source.ref, this.platform, this.channel);
        fromKey = this.cacheKey(`${cmd} --from=${sourceImage.id} ${dest}`, this.committedConfig(), {
          sources: instruction.sources,
          chown: instruction.chown ?? '',
          chmod: instruction.chmod ?? '',
          excludes: instruction.excludes,
          contents: instruction.contents,
        });
        if (await this.useLocalCache(fromKey)) return;
        const found = await this.build.view(source, this.platform, this.channel);
        view = found.view;
        viewIdentity = found.image.id;
        digester = new ContextDigester(view.root);
        fromContext = false;
      }
      const localSources: string[] = [];
      const remote: { url: string; file: string }[] = [];
      for (const src of instruction.sources) {
        if (/^https?:\/\//i.test(src)) {
          if (cmd !== 'ADD') throw invalidParameter(`source can't be a URL for COPY`);
          const file = await this.download(src, (instruction as AddInstruction).checksum);
          downloads.push(path.dirname(file));
          remote.push({ url: src, file });
        } else if (/^git@|^git:\/\/|\.git(#|$)/.test(src) && cmd === 'ADD') {
          throw notImplemented(`ADD of a git repository (${src}) is not supported by berth`);
        } else {
          localSources.push(src);
        }
      }
      const excludes = instruction.excludes.length > 0 ? instruction.excludes : undefined;
      let digest: SourcesDigest = { digest: '', perSource: [], matches: [] };
      if (localSources.length > 0) digest = await digester.digest(localSources, { excludes });
      const remoteHashes = await Promise.all(remote.map(async (r) => `file:${await fileSha(r.file)}`));
      const count = digest.matches.length + remote.length + instruction.contents.length;
      if (count > 1 && !dest.endsWith('/'))
        throw invalidParameter(
          `When using ${cmd} with more than one source file, the destination must be a directory and end with a /`,
        );
      const infoHashes = [
        ...digest.matches.map((m) => {
          const index = localSources.indexOf(m.source);
          return `${m.type === 'dir' ? 'dir' : 'file'}:${digest.perSource[index].slice('sha256:'.length)}`;
        }),
        ...remoteHashes,
        ...instruction.contents.map((c) => `file:${createHash('sha256').update(c.data).digest('hex')}`),
      ];
      const srcHash =
        infoHashes.length === 1
          ? infoHashes[0]
          : `multi:${createHash('sha256').update(infoHashes.join(',')).digest('hex')}`;
      const chownComment = instruction.chown ? `--chown=${instruction.chown} ` : '';
      const comment = `${cmd} ${chownComment}${srcHash} in ${dest} `;
      const createdBy = [...this.shell(), `#(nop) ${comment}`].join(' ');
      const config = this.committedConfig();
      const extra = {
        chmod: instruction.chmod ?? '',
        excludes: instruction.excludes,
        from: viewIdentity,
        sources: instruction.sources,
        contents: instruction.contents.map((c) => c.path),
      };
      const key = fromKey ?? this.cacheKey(createdBy, config, extra);
      if (fromKey === undefined && (await this.useCache(key, createdBy, config, comment.trim()))) return;
      const mode = instruction.chmod !== undefined ? parseChmod(instruction.chmod) : undefined;
      const sourceRoot = view ? view.root : this.build.contextDir;
      await this.commitFiles(key, createdBy, comment.trim(), config, (_key, mounts) =>
        withMounted(mounts, this.build.scratchDir, async (root) => {
          const owner = instruction.chown ? await resolveChown(root, instruction.chown) : undefined;
          const options: CopyOptions = {
            // Context files belong to root unless --chown; COPY --from keeps the source's owners.
            owner: owner ?? (fromContext ? { uid: 0, gid: 0 } : undefined),
            mode,
            excludes: excludes ? new PatternMatcher(excludes) : undefined,
            extractArchives: cmd === 'ADD',
            archiveOwner: owner,
          };
          for (const match of digest.matches) {
            const source: CopySource = { root: sourceRoot, path: match.path };
            if (fromContext) source.filter = this.build.filter;
            await copySource(root, dest, source, options);
          }
          for (const r of remote) {
            const name = path.posix.basename(new URL(r.url).pathname) || 'index.html';
            const target = dest.endsWith('/') ? dest + name : dest;
            await copySource(
              root,
              target,
              { root: path.dirname(r.file), path: path.basename(r.file) },
              {
                ...options,
                extractArchives: false,
              },
            );
          }
          for (const content of instruction.contents) {
            await writeInlineFile(root, dest, content.path, content.data, {
              ...options,
              owner: options.owner ?? { uid: 0, gid: 0 },
            });
          }
        }),
      );
    } finally {
      await view?.release();
      for (const dir of downloads) await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** ADD <url>: fetched into the build's scratch space (mode 0600, as Docker keeps it). */
  private async download(url: string, checksum: string | undefined): Promise<string> {
    const dir = path.join(this.build.scratchDir, randomKey('download'));
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    let response: Response;
    try {
      response = await fetch(url, {
        signal: AbortSignal.any([this.build.signal, AbortSignal.timeout(60_000)]),
      });
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      throw invalidParameter(`failed to GET ${url}: ${errorMessage(cause ?? err)}`);
    }
    if (!response.ok)
      throw invalidParameter(`failed to GET ${url} with status ${response.status} ${response.statusText}`);
    const data = Buffer.from(await response.arrayBuffer());
    if (checksum !== undefined) {
      const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      if (actual !== checksum)
        throw invalidParameter(`digest mismatch for ${url}: ${actual}, expected ${checksum}`);
    }
    const name = path.posix.basename(new URL(url).pathname) || 'index.html';
    const file = path.join(dir, name);
    await fs.writeFile(file, data, { mode: 0o600 });
    const modified = response.headers.get('last-modified');
    if (modified && !Number.isNaN(Date.parse(modified))) {
      const time = new Date(modified);
      await fs.utimes(file, time, time);
    }
    return file;
  }
}

/** A relative COPY/ADD destination is taken below WORKDIR; a trailing slash is kept. */
export function normalizeDest(workingDir: string, requested: string): string {
  if (path.posix.isAbsolute(requested)) return requested;
  const joined = path.posix.join('/', workingDir || '/', requested);
  return requested.endsWith('/') && !joined.endsWith('/') ? joined + '/' : joined;
}

function parseChmod(text: string): number {
  if (!/^[0-7]{1,4}$/.test(text)) throw invalidParameter(`invalid chmod parameter: ${text}`);
  return Number.parseInt(text, 8);
}

/** `--chown=user[:group]`: names looked up in the destination image, numbers as they are. */
export async function resolveChown(root: string, spec: string): Promise<Owner> {
  const [userPart, groupPart = userPart] = spec.split(':');
  const lookup = async (file: string): Promise<string | null> => {
    const at = await openInRoot(root, file, { followFinalSymlink: true }).catch(() => undefined);
    if (!at) return null;
    try {
      if (!at.exists) return null;
      return await fs.readFile(at.procPath(), 'utf8').catch(() => null);
    } finally {
      await at.close();
    }
  };
  const toId = async (value: string, kind: 'user' | 'group'): Promise<number> => {
    if (/^\d+$/.test(value)) return Number(value);
    if (kind === 'user') {
      const entry = parsePasswd(await lookup('/etc/passwd')).find((e) => e.name === value);
      if (!entry)
        throw invalidParameter(
          `unable to convert uid/gid chown string to host mapping: can't find uid for user ${value}: no such user: ${value}`,
        );
      return entry.uid;
    }
    const entry = parseGroup(await lookup('/etc/group')).find((e) => e.name === value);
    if (!entry)
      throw invalidParameter(
        `unable to convert uid/gid chown string to host mapping: can't find gid for group ${value}: no such group: ${value}`,
      );
    return entry.gid;
  };
  return { uid: await toId(userPart, 'user'), gid: await toId(groupPart, 'group') };
}

async function fileSha(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}
