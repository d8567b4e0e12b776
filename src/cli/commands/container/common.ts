/** Pieces several container commands share: per-container loops, pull-on-create, API errors. */
import { existsSync, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { ContainerCreateRequest } from '../../../types/container.js';
import { DaemonError, readAll, type ApiClient } from '../../client/api-client.js';
import { CliError, ExitStatus, type CliContext } from '../../context.js';
import { displayJsonMessages } from '../../format/progress.js';

/**
 * Runs `action` for each container argument like docker does: each success
 * printed by `print` (the argument by default), each failure on stderr, and
 * exit status 1 if any failed.
 */
export async function forEachContainer(
  ctx: CliContext,
  names: string[],
  action: (name: string) => Promise<void>,
  print: ((name: string) => string | undefined) | null = (name) => name,
): Promise<void> {
  let failed = false;
  for (const name of names) {
    try {
      await action(name);
      const line = print?.(name);
      if (line !== undefined) ctx.write(`${line}\n`);
    } catch (err) {
      failed = true;
      ctx.err.write(
        `${err instanceof DaemonError ? `Error response from daemon: ${err.message}` : (err as Error).message}\n`,
      );
    }
  }
  if (failed) throw new ExitStatus(1);
}

/** `name[:tag|@digest]` as the pull endpoint's fromImage and tag (latest by default). */
export function splitReference(image: string): { fromImage: string; tag: string; display: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { fromImage: image.slice(0, at), tag: image.slice(at + 1), display: image };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { fromImage: image.slice(0, colon), tag: image.slice(colon + 1), display: image };
  return { fromImage: image, tag: 'latest', display: `${image}:latest` };
}

/** Pulls an image, showing progress on `out` (nothing when quiet). */
export async function pullImage(
  api: ApiClient,
  image: string,
  options: { platform?: string; quiet?: boolean; out: Writable },
): Promise<void> {
  const { fromImage, tag } = splitReference(image);
  const res = await api.request('POST', '/images/create', {
    query: { fromImage, tag, platform: options.platform || undefined },
    headers: { 'X-Registry-Auth': Buffer.from('{}').toString('base64url') },
  });
  if (options.quiet) {
    await displayJsonMessages(res.body, nullWriter(), { isTty: false });
    return;
  }
  const isTty = (options.out as NodeJS.WriteStream).isTTY === true;
  await displayJsonMessages(res.body, options.out, { isTty });
}

function nullWriter(): Writable {
  return { write: () => true, once: () => undefined } as unknown as Writable;
}

export interface CreateContainerOptions {
  name?: string;
  platform?: string;
  pull: 'always' | 'missing' | 'never';
  quiet?: boolean;
  cidfile?: string;
}

const isNoSuchImage = (err: unknown): boolean =>
  err instanceof DaemonError && err.status === 404 && /^No such image/i.test(err.message);

/**
 * POST /containers/create, pulling the image first (--pull always) or when
 * the daemon does not have it (--pull missing), as docker run does.
 */
export async function createContainer(
  ctx: CliContext,
  request: ContainerCreateRequest,
  options: CreateContainerOptions,
): Promise<string> {
  const api = ctx.client();
  const image = request.Image ?? '';
  if (options.cidfile && existsSync(options.cidfile)) {
    throw new CliError(
      `Container ID file found, make sure the other container isn't running or delete ${options.cidfile}`,
      125,
    );
  }
  const pull = (): Promise<void> =>
    pullImage(api, image, { platform: options.platform, quiet: options.quiet, out: ctx.err });
  if (options.pull === 'always') await pull();
  const create = (): Promise<{ Id: string; Warnings: string[] | null }> =>
    api.json('POST', '/containers/create', {
      query: { name: options.name, platform: options.platform || undefined },
      body: request,
    });
  let created: { Id: string; Warnings: string[] | null };
  try {
    created = await create();
  } catch (err) {
    if (!isNoSuchImage(err) || options.pull !== 'missing') throw err;
    ctx.err.write(`Unable to find image '${splitReference(image).display}' locally\n`);
    await pull();
    created = await create();
  }
  for (const warning of created.Warnings ?? []) ctx.err.write(`WARNING: ${warning}\n`);
  if (options.cidfile) writeFileSync(options.cidfile, created.Id);
  return created.Id;
}

/** Reads a JSON body that arrives late (the wait endpoint answers headers first). */
export async function readJsonBody<T>(body: NodeJS.ReadableStream): Promise<T> {
  const text = (await readAll(body as never)).toString('utf8');
  return JSON.parse(text) as T;
}

/** The exit status docker run uses for a failed start: 127 not found, 126 not executable, else 125. */
export function startErrorStatus(message: string): number {
  if (
    /executable file not found|no such file or directory|system cannot find the file specified/.test(message)
  )
    return 127;
  if (/permission denied|is a directory/.test(message)) return 126;
  return 125;
}
