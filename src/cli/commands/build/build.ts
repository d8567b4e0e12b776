/**
 * `berth build`: sends the context to `POST /build` and shows the classic
 * builder's output; `--output` exports the result's filesystem (berth's
 * `GET /build/export`) to a directory or a tar file.
 */
import { createWriteStream, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import tar from 'tar-stream';
import { extractArchive } from '../../../archive/extract.js';
import { detectCompression } from '../../../archive/decompress.js';
import { parseJsonStream, type JsonMessage } from '../../format/progress.js';
import { CliError, type CliContext } from '../../context.js';
import { configFilePath, credentialsFor, readConfigFile } from '../image/auth.js';
import { outputIsTerminal, showJsonStream } from '../image/stream.js';
import { showStageProgress } from './progress.js';
import { contextTar, locateDockerfile } from './context.js';
import { collect } from '../options.js';

interface BuildOptions {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  cache?: boolean;
  pull?: boolean;
  label: string[];
  platform?: string;
  secret: string[];
  quiet?: boolean;
  iidfile?: string;
  output: string[];
  progress: string;
  network?: string;
  addHost: string[];
  shmSize?: string;
  memory?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  cacheFrom: string[];
}

export function buildCommand(ctx: CliContext, name = 'build'): Command {
  return new Command(name)
    .description('Build an image from a Dockerfile')
    .usage('[OPTIONS] PATH | -')
    .argument('<path>')
    .option('-t, --tag <name>', 'Name and optionally a tag in the "name:tag" format', collect, [])
    .option('-f, --file <string>', 'Name of the Dockerfile (default: "PATH/Dockerfile")')
    .option('--build-arg <list>', 'Set build-time variables', collect, [])
    .option('--target <string>', 'Set the target build stage to build')
    .option('--no-cache', 'Do not use cache when building the image')
    .option('--pull', 'Always attempt to pull a newer version of the image')
    .option('--label <list>', 'Set metadata for an image', collect, [])
    .option(
      '--platform <string>',
      'Set platform if server is multi-platform capable',
      process.env.DOCKER_DEFAULT_PLATFORM,
    )
    .option(
      '--secret <spec>',
      'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")',
      collect,
      [],
    )
    .option('-q, --quiet', 'Suppress the build output and print image ID on success')
    .option('--iidfile <string>', 'Write the image ID to the file')
    .option(
      '-o, --output <spec>',
      'Output destination (format: "type=local,dest=path" or "type=tar,dest=file")',
      collect,
      [],
    )
    .addOption(
      new Option('--progress <type>', 'Set type of progress output')
        .choices(['auto', 'plain', 'tty'])
        .default('auto'),
    )
    .option('--network <string>', 'Set the networking mode for the RUN instructions during build')
    .option('--add-host <list>', 'Add a custom host-to-IP mapping ("host:ip")', collect, [])
    .option('--shm-size <bytes>', 'Size of "/dev/shm"')
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cache-from <image>', 'Images to consider as cache sources', collect, [])
    .action((contextPath: string, options: BuildOptions) => runBuild(ctx, contextPath, options));
}

/** `--output` forms: `type=local,dest=dir`, `type=tar,dest=file`, or a bare directory. */
export function parseOutput(spec: string): { type: 'local' | 'tar'; dest: string } {
  if (!spec.includes('=')) return { type: 'local', dest: spec };
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new CliError(`invalid value "${spec}" for --output: ${part} is not a key=value pair`);
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const type = fields.get('type') ?? 'local';
  const dest = fields.get('dest') ?? '';
  if (type !== 'local' && type !== 'tar')
    throw new CliError(`output type ${type} is not supported (local or tar)`);
  if (!dest) throw new CliError(`dest is required for --output type=${type}`);
  return { type, dest };
}

/** `--secret id=x,src=file` | `id=x,env=VAR` | `id=x` (the environment variable of that name). */
export function parseSecret(spec: string): { id: string; value: Buffer } {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new CliError(`invalid secret "${spec}": ${part} is not a key=value pair`);
    fields.set(part.slice(0, eq).toLowerCase(), part.slice(eq + 1));
  }
  const id = fields.get('id') ?? '';
  const src = fields.get('src') ?? fields.get('source');
  const envName = fields.get('env');
  if (!id && !src) throw new CliError(`invalid secret "${spec}": id is required`);
  const secretId = id || path.basename(src as string);
  if (src) {
    try {
      return { id: secretId, value: readFileSync(src) };
    } catch (err) {
      throw new CliError(`failed to read secret ${secretId} from ${src}: ${(err as Error).message}`);
    }
  }
  const variable = envName ?? secretId;
  const value = process.env[variable];
  if (value === undefined)
    throw new CliError(`secret ${secretId}: environment variable ${variable} is not set`);
  return { id: secretId, value: Buffer.from(value) };
}

function buildArgsOf(list: string[]): Record<string, string | null> {
  const args: Record<string, string | null> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq >= 0) args[item.slice(0, eq)] = item.slice(eq + 1);
    else args[item] = process.env[item] ?? null;
  }
  return args;
}

function labelsOf(list: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq < 0) labels[item] = '';
    else labels[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return labels;
}

/** X-Registry-Config: every stored credential, keyed as the docker CLI keys them. */
function registryConfigHeader(ctx: CliContext): string {
  const config = readConfigFile(configFilePath(ctx));
  const all: Record<string, unknown> = {};
  for (const key of Object.keys(config.auths ?? {})) {
    const auth = credentialsFor(config, key);
    if (auth) all[key] = auth;
  }
  return Buffer.from(JSON.stringify(all)).toString('base64url');
}

async function readAllStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function prepareContext(
  contextPath: string,
  file: string | undefined,
): Promise<{ stream: Readable; dockerfile: string }> {
  if (contextPath === '-') {
    if (file === '-')
      throw new CliError("invalid argument: can't use stdin for both build context and dockerfile");
    const data = await readAllStdin();
    const isTar =
      detectCompression(data) !== 'none' || data.subarray(257, 262).toString('latin1') === 'ustar';
    if (isTar) {
      const stream = new PassThrough();
      stream.end(data);
      return { stream, dockerfile: file ?? '' };
    }
    // A Dockerfile on stdin: an otherwise empty context.
    const empty = await fs.mkdtemp(path.join((await import('node:os')).tmpdir(), 'berth-ctx-'));
    try {
      return await contextTar(empty, { content: data });
    } finally {
      void fs.rm(empty, { recursive: true, force: true });
    }
  }
  const contextDir = path.resolve(contextPath);
  if (file === '-') return contextTar(contextDir, { content: await readAllStdin() });
  return contextTar(contextDir, await locateDockerfile(contextDir, file));
}

async function runBuild(ctx: CliContext, contextPath: string, options: BuildOptions): Promise<void> {
  const outputs = options.output.map(parseOutput);
  const secrets: Record<string, string> = {};
  for (const spec of options.secret) {
    const { id, value } = parseSecret(spec);
    secrets[id] = value.toString('base64');
  }
  const context = await prepareContext(contextPath, options.file);
  const params = new URLSearchParams();
  for (const tag of options.tag) params.append('t', tag);
  if (context.dockerfile) params.set('dockerfile', context.dockerfile);
  if (options.buildArg.length > 0) params.set('buildargs', JSON.stringify(buildArgsOf(options.buildArg)));
  if (options.label.length > 0) params.set('labels', JSON.stringify(labelsOf(options.label)));
  if (options.target) params.set('target', options.target);
  if (options.cache === false) params.set('nocache', '1');
  if (options.pull) params.set('pull', '1');
  if (options.quiet) params.set('q', '1');
  if (options.platform) params.set('platform', options.platform);
  if (options.network) params.set('networkmode', options.network);
  for (const host of options.addHost) params.append('extrahosts', host);
  if (options.shmSize) params.set('shmsize', String(parseBytes(options.shmSize)));
  if (options.memory) params.set('memory', String(parseBytes(options.memory)));
  if (options.cpuShares) params.set('cpushares', options.cpuShares);
  if (options.cpusetCpus) params.set('cpusetcpus', options.cpusetCpus);
  if (options.cacheFrom.length > 0) params.set('cachefrom', JSON.stringify(options.cacheFrom));
  if (outputs.length > 0) params.set('outputs', JSON.stringify(outputs.map((o) => ({ Type: o.type }))));
  // plain and tty show parallel stages live; auto does so on a terminal, else prints Docker's stream.
  const live =
    !options.quiet &&
    (options.progress === 'plain' ||
      options.progress === 'tty' ||
      (options.progress === 'auto' && outputIsTerminal(ctx)));
  if (live) params.set('progress', 'stages');
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-tar',
    'X-Registry-Config': registryConfigHeader(ctx),
  };
  if (Object.keys(secrets).length > 0)
    headers['X-Berth-Build-Secrets'] = Buffer.from(JSON.stringify(secrets)).toString('base64');
  const res = await ctx
    .client()
    .request('POST', `/build?${params.toString()}`, { stream: context.stream, headers });
  let imageId = '';
  let platformImages: { Platform: string; ID: string }[] = [];
  if (options.quiet) {
    // The daemon answers a quiet build with only the ID (or the held-back output and the error).
    let last = '';
    const held: JsonMessage[] = [];
    for await (const message of parseJsonStream(res.body as AsyncIterable<Buffer>)) {
      held.push(message);
      if (message.errorDetail || message.error) {
        await showJsonStream(ctx, messagesOf(held), {}).catch((err: Error) => {
          throw new CliError(err.message);
        });
      }
      if (message.stream) last = message.stream.trim();
      const aux = message.aux as BuildAux | undefined;
      if (aux?.Platforms) platformImages = aux.Platforms;
    }
    imageId = last;
  } else if (live) {
    await showStageProgress(res.body, ctx.out as Writable, {
      tty: options.progress === 'tty' || (options.progress === 'auto' && outputIsTerminal(ctx)),
      onAux: (message) => {
        const aux = message.aux as BuildAux | undefined;
        if (aux?.ID) imageId = aux.ID;
        if (aux?.Platforms) platformImages = aux.Platforms;
      },
    }).catch((err: Error) => {
      throw new CliError(err.message);
    });
  } else {
    await showJsonStream(ctx, res.body, {
      onAux: (message) => {
        const aux = message.aux as BuildAux | undefined;
        if (aux?.ID) imageId = aux.ID;
        if (aux?.Platforms) platformImages = aux.Platforms;
      },
    }).catch((err: Error) => {
      throw new CliError(err.message);
    });
  }
  if (options.quiet && imageId) ctx.write(`${imageId}\n`);
  if (options.iidfile && imageId) await fs.writeFile(options.iidfile, imageId);
  for (const output of outputs) {
    if (platformImages.length === 0) {
      await exportOutput(ctx, imageId, output);
      continue;
    }
    // Several platforms: one directory each, named as BuildKit names them (linux_arm64).
    if (output.type === 'tar') {
      await exportPlatformsTar(ctx, platformImages, output.dest);
      continue;
    }
    for (const { Platform, ID } of platformImages) {
      await exportOutput(ctx, ID, { ...output, dest: path.join(output.dest, Platform.replaceAll('/', '_')) });
    }
  }
}

/** The build's final aux message: the image ID, and each platform's image for a multi-platform build. */
interface BuildAux {
  ID?: string;
  Platforms?: { Platform: string; ID: string }[];
}

async function exportOutput(
  ctx: CliContext,
  imageId: string,
  output: { type: 'local' | 'tar'; dest: string },
): Promise<void> {
  if (!imageId) throw new CliError('the build produced no image to export');
  const res = await ctx.client().request('GET', `/build/export?id=${encodeURIComponent(imageId)}`);
  if (output.type === 'tar') {
    if (output.dest === '-') await pipeline(res.body, ctx.out);
    else await pipeline(res.body, createWriteStream(output.dest));
    return;
  }
  await fs.mkdir(output.dest, { recursive: true });
  await extractArchive(path.resolve(output.dest), '/', res.body);
}

/** One tar of every platform's filesystem, each under its own top-level directory (as BuildKit writes it). */
async function exportPlatformsTar(
  ctx: CliContext,
  platformImages: { Platform: string; ID: string }[],
  dest: string,
): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, dest === '-' ? ctx.out : createWriteStream(dest));
  try {
    for (const { Platform, ID } of platformImages) {
      const prefix = Platform.replaceAll('/', '_');
      pack.entry({ name: `${prefix}/`, type: 'directory', mode: 0o755 });
      const res = await ctx.client().request('GET', `/build/export?id=${encodeURIComponent(ID)}`);
      await repackUnder(res.body, pack, prefix);
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
  }
  await written;
}

/** Copies every entry of a tar stream into `pack`, its path (and a hard link's target) under `prefix`. */
async function repackUnder(source: Readable, pack: tar.Pack, prefix: string): Promise<void> {
  const extract = tar.extract();
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract);
  const under = (name: string): string => `${prefix}/${name.replace(/^(\.\/|\/)+/, '')}`;
  for await (const entry of extract) {
    if (under(entry.header.name) === `${prefix}/` || under(entry.header.name) === `${prefix}/.`) {
      entry.resume(); // the root: its directory entry is written already
      continue;
    }
    const header = { ...entry.header, name: under(entry.header.name) };
    if (header.type === 'link' && header.linkname) header.linkname = under(header.linkname);
    const target = pack.entry(header);
    await pipeline(entry, target);
  }
}

function messagesOf(messages: JsonMessage[]): Readable {
  const stream = new PassThrough();
  stream.end(messages.map((m) => JSON.stringify(m)).join('\n'));
  return stream;
}

function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(text.trim());
  if (!match) throw new CliError(`invalid size: '${text}'`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[match[2].toLowerCase()] as number;
  return Math.round(Number(match[1]) * unit);
}
