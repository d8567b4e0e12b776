/**
 * Errors from registry answers, keeping distribution's error codes so the
 * engine can word them as Docker does ("manifest unknown", "denied"...).
 */
import type { IncomingMessage } from 'node:http';
import { EngineError, invalidParameter, type ErrorKind } from '../common/errors.js';
import { familiarName, familiarString, referenceString, type ParsedReference } from './reference.js';
import { isTransientError, methodWord, readBody } from './transport.js';

/** One entry of the `{"errors": [...]}` body of the distribution API. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

export class RegistryError extends EngineError {
  constructor(
    kind: ErrorKind,
    message: string,
    /** HTTP status of the answer, 0 for failures without one. */
    readonly status: number,
    readonly errors: RegistryErrorEntry[] = [],
    options?: { cause?: unknown },
  ) {
    super(kind, message, options);
  }

  /** The first distribution error code (MANIFEST_UNKNOWN, DENIED...), if the registry sent one. */
  get code(): string | undefined {
    return this.errors[0]?.code;
  }
}

/** Raised by blob reads whose content does not match the descriptor. */
export class BlobVerificationError extends EngineError {
  constructor(
    readonly reason: 'digest' | 'size',
    message: string,
  ) {
    super('System', message);
  }
}

export function kindForStatus(status: number): ErrorKind {
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 404) return 'NotFound';
  if (status === 400 || status === 405 || status === 413 || status === 416) return 'InvalidParameter';
  // 429 (rate limits) stays System: reported at once, like Docker, and never retried.
  if (status === 408 || status >= 500) return 'Unavailable';
  return 'System';
}

/** errcode's rendering of one error: "manifest unknown: manifest unknown". */
export function formatErrorEntry(entry: RegistryErrorEntry): string {
  const code = entry.code.toLowerCase().replace(/_/g, ' ');
  return entry.message ? `${code}: ${entry.message}` : code;
}

export function formatErrorEntries(entries: RegistryErrorEntry[]): string {
  if (entries.length === 1) return formatErrorEntry(entries[0]);
  return 'errors:\n' + entries.map((e) => formatErrorEntry(e) + '\n').join('');
}

function parseErrorEntries(body: Buffer): RegistryErrorEntry[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: unknown; details?: unknown };
    if (Array.isArray(parsed.errors)) {
      return parsed.errors
        .filter(
          (e): e is { code: unknown; message?: unknown; detail?: unknown } =>
            typeof e === 'object' && e !== null,
        )
        .map((e) => ({
          code: String(e.code ?? 'UNKNOWN'),
          message: typeof e.message === 'string' ? e.message : undefined,
          detail: e.detail,
        }));
    }
    if (typeof parsed.details === 'string') return [{ code: 'UNAUTHORIZED', message: parsed.details }];
  } catch {
    // Not JSON: the status alone has to tell the story.
  }
  return [];
}

/**
 * Builds the error for an unexpected answer, reading (and so releasing) its
 * body. The message is distribution's: the registry's errors, or the status.
 */
export async function responseError(res: IncomingMessage, method: string, url: URL): Promise<RegistryError> {
  const status = res.statusCode ?? 0;
  let body: Buffer = Buffer.alloc(0);
  try {
    body = method === 'HEAD' ? body : await readBody(res, 64 * 1024);
  } catch {
    // An unreadable error body still leaves the status to report.
  }
  if (method === 'HEAD') res.resume();
  const entries = parseErrorEntries(body);
  let message: string;
  if (entries.length > 0) message = formatErrorEntries(entries);
  else if (status === 401) message = 'unauthorized: authentication required';
  else
    message =
      `${methodWord(method)} "${url}": received unexpected HTTP status: ${status} ${res.statusMessage ?? ''}`.trim();
  return new RegistryError(kindForStatus(status), message, status, entries);
}

/** A failed connection in Go's url.Error words: Get "https://host/v2/": connection refused. */
export function connectionError(err: unknown, method: string, url: URL): RegistryError {
  const e = err as NodeJS.ErrnoException;
  let reason = e?.message ?? String(err);
  if (
    e?.code === 'EPROTO' &&
    url.protocol === 'https:' &&
    /wrong version number|packet length too long/.test(reason)
  ) {
    reason = 'http: server gave HTTP response to HTTPS client';
  } else if (e?.code === 'ECONNREFUSED') {
    reason = `dial tcp ${url.host}: connect: connection refused`;
  }
  const kind = isTransientError(err) ? 'Unavailable' : 'System';
  return new RegistryError(kind, `${methodWord(method)} "${url}": ${reason}`, 0, [], { cause: err });
}

export function schema1Error(ref: ParsedReference): EngineError {
  return invalidParameter(
    'Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. ' +
      `Suggest the author of ${referenceString(ref)} to upgrade the image to the OCI Format or ` +
      'Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/',
  );
}

/** moby's translatePullError: "manifest for x not found", "pull access denied for x, ...". */
export function translatePullError(err: RegistryError, ref: ParsedReference): RegistryError {
  const first = err.errors[0];
  if (first === undefined) return err;
  const cause = formatErrorEntries([first]);
  let message: string | undefined;
  if (first.code === 'DENIED') {
    message = `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': ${cause}`;
  } else if (first.code === 'MANIFEST_UNKNOWN') {
    message = `manifest for ${familiarString(ref)} not found: ${cause}`;
  } else if (first.code === 'NAME_UNKNOWN') {
    message = `repository ${familiarName(ref)} not found: ${cause}`;
  }
  if (message === undefined) return err;
  // Docker reports all three as "not found" so a missing and a private repository look alike.
  return new RegistryError('NotFound', message, err.status, err.errors);
}

export function translatePushError(
  err: RegistryError,
  repo: { domain: string; path: string },
): RegistryError {
  if (err.code === 'NAME_UNKNOWN') {
    return new RegistryError(
      'NotFound',
      `repository ${familiarName({ ...repo })} not found: ${formatErrorEntries(err.errors)}`,
      err.status,
      err.errors,
    );
  }
  return err;
}
