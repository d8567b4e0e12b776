/**
 * Client of the OCI distribution API (Docker registry v2): manifests, blobs,
 * uploads, tags and login, with Docker's endpoint rules (HTTPS, HTTP
 * fallback for insecure registries, mirrors for pulls), challenge-driven
 * authentication and retries. Blobs are streamed, never held in memory.
 */
import { lookup } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { Readable } from 'node:stream';
import { EngineError, errorMessage, invalidParameter } from '../common/errors.js';
import { log } from '../common/log.js';
import {
  Authorizer,
  login as loginToEndpoints,
  parseChallenges,
  repositoryScope,
  type LoginResult,
  type RegistryCredentials,
} from './auth.js';
import { BlobStream, computeDigest, digestAlgorithm, type BlobDescriptor } from './blob-stream.js';
import {
  connectionError,
  RegistryError,
  responseError,
  schema1Error,
  translatePullError,
  translatePushError,
} from './errors.js';
import {
  DEFAULT_MANIFEST_ACCEPT,
  MediaType,
  isImageIndex,
  isIndexMediaType,
  isManifestMediaType,
  isSchema1MediaType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Manifest,
} from './media-types.js';
import { DEFAULT_PLATFORM, selectPlatform, type PlatformSpec } from './platform.js';
import {
  DEFAULT_DOMAIN,
  DEFAULT_TAG,
  familiarString,
  registryApiHost,
  type ParsedReference,
} from './reference.js';
import {
  HttpTransport,
  backoffDelay,
  discard,
  headerValue,
  headerValues,
  isTransientError,
  isTransientStatus,
  methodWord,
  nextLink,
  readBody,
  sleep,
} from './transport.js';

export type { BlobDescriptor } from './blob-stream.js';
export { BlobStream } from './blob-stream.js';

/** A repository in a registry: docker.io + library/busybox. */
export interface RepositoryRef {
  domain: string;
  path: string;
}

export interface RegistryClientOptions {
  /**
   * Registries spoken to without certificate checks and with an HTTP
   * fallback: CIDRs (10.0.0.0/8) or host[:port] names. 127.0.0.0/8 and ::1
   * (so also "localhost") are always insecure, as in Docker.
   */
  insecureRegistries?: string[];
  /** Docker Hub mirrors (daemon.json "registry-mirrors"): URLs tried before Docker Hub for pulls. */
  mirrors?: string[];
  /** Mirrors of other registries, by registry host[:port]: tried before it for pulls. */
  registryMirrors?: Record<string, string[]>;
  /**
   * Credentials for a registry when a call brings none. Called with the
   * domain as references spell it (docker.io, host:port) or a mirror's host.
   */
  credentialsFor?: (registryHost: string) => RegistryCredentials | undefined;
  /** Attempts after the first one for transient failures (resets, 5xx, 429). */
  maxRetries?: number;
  /** First backoff delay; doubles with each attempt. */
  retryBaseDelayMs?: number;
  userAgent?: string;
  /** Socket inactivity limit for a request. */
  timeoutMs?: number;
}

export interface CallOptions {
  /** Credentials for the registry of this call (X-Registry-Auth). */
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
}

export interface ManifestResult {
  mediaType: string;
  digest: string;
  size: number;
  body: Buffer;
  parsed: Manifest;
  descriptor: Descriptor;
}

export interface ResolvedImage {
  ref: ParsedReference;
  /** What the tag or digest names: the index of a multi-platform image (its digest is the RepoDigest). */
  descriptor: Descriptor;
  /** The index or manifest list, when the reference names one. */
  index?: ManifestResult & { parsed: ImageIndex };
  /** The image manifest for the chosen platform. */
  manifest: ManifestResult & { parsed: ImageManifest };
}

export type UploadMode = 'monolithic' | 'streamed' | 'chunked';

export interface UploadOptions extends CallOptions {
  /** A repository path in the same registry holding the blob: tried as a cross-repository mount. */
  mountFrom?: string;
  /**
   * monolithic: POST then PUT with the body; streamed (default, as Docker):
   * POST, one PATCH with the body, PUT; chunked: PATCH per chunkSize bytes.
   */
  mode?: UploadMode;
  chunkSize?: number;
}

export interface UploadResult {
  digest: string;
  size: number;
  /** The blob was already in the repository; nothing was sent. */
  existed: boolean;
  /** The registry linked the blob from mountFrom; nothing was sent. */
  mounted: boolean;
}

interface Endpoint {
  /** What credentialsFor is asked with: the registry domain (docker.io, host:port) or the mirror's host. */
  host: string;
  /** The v2 API root, e.g. https://registry-1.docker.io/v2/. */
  base: URL;
  origin: string;
  insecureTls: boolean;
  mirror: boolean;
}

interface RequestSpec {
  method: string;
  /** Path below /v2/, e.g. library/busybox/manifests/latest; or a full URL (upload locations). */
  path?: string;
  url?: URL;
  headers?: Record<string, string>;
  body?: Buffer | (() => Readable);
  /** Safe to send again after a transient failure. */
  idempotent: boolean;
  followRedirects?: boolean;
}

const MANIFEST_SIZE_LIMIT = 8 * 1024 * 1024;
const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;

export class RegistryClient {
  private readonly transport: HttpTransport;
  private readonly authorizer: Authorizer;
  private readonly insecureNames = new Set<string>();
  private readonly insecureNets = new BlockList();
  private readonly insecureCache = new Map<string, Promise<boolean>>();
  private readonly endpoints = new Map<string, Promise<Endpoint>>();
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.transport = new HttpTransport({ userAgent: options.userAgent, timeoutMs: options.timeoutMs });
    this.authorizer = new Authorizer(this.transport);
    this.maxRetries = options.maxRetries ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 200;
    this.insecureNets.addSubnet('127.0.0.0', 8, 'ipv4');
    this.insecureNets.addAddress('::1', 'ipv6');
    for (const entry of options.insecureRegistries ?? []) this.addInsecure(entry);
  }

  /** Releases the keep-alive sockets. */
  close(): void {
    this.transport.close();
  }

  private addInsecure(entry: string): void {
    const value = entry.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
    const cidr = /^(.+)\/(\d{1,3})$/.exec(value);
    if (cidr && isIP(cidr[1])) {
      const family = isIP(cidr[1]) === 6 ? 'ipv6' : 'ipv4';
      this.insecureNets.addSubnet(cidr[1], Number(cidr[2]), family);
    } else {
      this.insecureNames.add(value.toLowerCase());
    }
  }

  /** Whether a registry host[:port] is insecure: named so, or resolving into an insecure CIDR. */
  isInsecureRegistry(host: string): Promise<boolean> {
    const key = host.toLowerCase();
    let cached = this.insecureCache.get(key);
    if (cached === undefined) {
      cached = this.checkInsecure(key);
      this.insecureCache.set(key, cached);
    }
    return cached;
  }

  private async checkInsecure(host: string): Promise<boolean> {
    if (this.insecureNames.has(host)) return true;
    const hostname = hostnameOf(host);
    if (this.insecureNames.has(hostname)) return true;
    const addresses = isIP(hostname)
      ? [hostname]
      : await lookup(hostname, { all: true }).then(
          (found) => found.map((a) => a.address),
          () => [] as string[],
        );
    return addresses.some((address) =>
      this.insecureNets.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4'),
    );
  }

  // ---- endpoints ----

  /** The registry itself, its scheme settled by a ping of /v2/ (HTTPS, then HTTP if insecure). */
  private originEndpoint(domain: string): Promise<Endpoint> {
    const key = `origin:${domain}`;
    let endpoint = this.endpoints.get(key);
    if (endpoint === undefined) {
      endpoint = this.pingOrigin(domain);
      this.endpoints.set(key, endpoint);
      endpoint.catch(() => this.endpoints.delete(key));
    }
    return endpoint;
  }

  private async pingOrigin(domain: string): Promise<Endpoint> {
    const host = registryApiHost(domain);
    const insecure = await this.isInsecureRegistry(host);
    const candidates: Endpoint[] = [makeEndpoint(domain, new URL(`https://${host}/v2/`), insecure, false)];
    if (insecure) candidates.push(makeEndpoint(domain, new URL(`http://${host}/v2/`), false, false));
    let lastError: unknown;
    for (const candidate of candidates) {
      try {
        await this.ping(candidate);
        return candidate;
      } catch (err) {
        lastError = err;
        log.debug('registry endpoint unreachable', { url: String(candidate.base), error: errorMessage(err) });
      }
    }
    throw lastError;
  }

  private mirrorEndpoint(url: string): Promise<Endpoint> {
    const key = `mirror:${url}`;
    let endpoint = this.endpoints.get(key);
    if (endpoint === undefined) {
      endpoint = (async () => {
        const parsed = new URL(url.includes('://') ? url : `https://${url}`);
        const base = new URL(parsed.pathname.replace(/\/*$/, '/') + 'v2/', parsed);
        const insecure = await this.isInsecureRegistry(parsed.host);
        const candidate = makeEndpoint(parsed.host, base, insecure, true);
        await this.ping(candidate);
        return candidate;
      })();
      this.endpoints.set(key, endpoint);
      endpoint.catch(() => this.endpoints.delete(key));
    }
    return endpoint;
  }

  /**
   * GET /v2/ without credentials: proves the endpoint speaks HTTP(S) and
   * learns its challenges. Shared by every caller, so no caller's signal.
   */
  private async ping(endpoint: Endpoint): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let res: IncomingMessage;
      try {
        res = await this.transport.send({
          method: 'GET',
          url: endpoint.base,
          insecureTls: endpoint.insecureTls,
          followRedirects: true,
        });
      } catch (err) {
        // A reset is worth one more try (stale keep-alive); refusals and TLS errors are answers.
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === 'ECONNRESET' || code === 'EPIPE') && attempt < 1) continue;
        throw connectionError(err, 'GET', endpoint.base);
      }
      discard(res);
      this.authorizer.setChallenges(
        endpoint.origin,
        parseChallenges(headerValues(res.headers, 'www-authenticate')),
      );
      return;
    }
  }

  /** Mirrors of a registry, in order. */
  private mirrorsOf(domain: string): string[] {
    const mirrors = [...(this.options.registryMirrors?.[domain] ?? [])];
    if (domain === DEFAULT_DOMAIN) mirrors.push(...(this.options.mirrors ?? []));
    return mirrors;
  }

  /**
   * Runs a pull operation against each mirror, then the registry itself,
   * until one succeeds. Mirror failures are logged and skipped as Docker does.
   */
  private async withPullEndpoints<T>(
    domain: string,
    signal: AbortSignal | undefined,
    operation: (endpoint: Endpoint) => Promise<T>,
  ): Promise<T> {
    for (const mirror of this.mirrorsOf(domain)) {
      try {
        return await operation(await this.mirrorEndpoint(mirror));
      } catch (err) {
        if (signal?.aborted) throw err;
        log.info('mirror failed, trying the next source', { mirror, error: errorMessage(err) });
      }
    }
    return operation(await this.originEndpoint(domain));
  }

  private credentialsFor(endpoint: Endpoint, call: CallOptions): RegistryCredentials | undefined {
    if (endpoint.mirror) return this.options.credentialsFor?.(endpoint.host) ?? call.credentials;
    return call.credentials ?? this.options.credentialsFor?.(endpoint.host);
  }

  // ---- requests ----

  /**
   * Sends one API request: authorization from remembered challenges, one
   * more try after a 401 with fresh credentials, and retries with backoff of
   * transient failures for idempotent requests. Resolves with any answer;
   * callers judge the status.
   */
  private async request(
    endpoint: Endpoint,
    scopes: string[],
    spec: RequestSpec,
    call: CallOptions,
  ): Promise<IncomingMessage> {
    const url = spec.url ?? new URL(spec.path ?? '', endpoint.base);
    const creds = this.credentialsFor(endpoint, call);
    let authRetried = false;
    for (let attempt = 0; ;) {
      let authorization: string | undefined;
      try {
        authorization = await this.authorizer.authorization(endpoint, scopes, creds, { signal: call.signal });
      } catch (err) {
        if (spec.idempotent && isTransientError(err) && attempt < this.maxRetries) {
          await sleep(backoffDelay(attempt++, this.retryBaseDelayMs), call.signal);
          continue;
        }
        throw wrapAuthError(err, spec.method, url);
      }
      const headers = { ...spec.headers };
      if (authorization) headers.Authorization = authorization;
      let res: IncomingMessage;
      try {
        res = await this.transport.send({
          method: spec.method,
          url,
          headers,
          body: spec.body,
          insecureTls: endpoint.insecureTls,
          signal: call.signal,
          followRedirects: spec.followRedirects,
        });
      } catch (err) {
        if (spec.idempotent && isTransientError(err) && attempt < this.maxRetries && !call.signal?.aborted) {
          log.debug('registry request failed, retrying', { url: String(url), error: errorMessage(err) });
          await sleep(backoffDelay(attempt++, this.retryBaseDelayMs), call.signal);
          continue;
        }
        throw connectionError(err, spec.method, url);
      }
      const status = res.statusCode ?? 0;
      if (status === 401 && !authRetried && this.authorizer.rejected(endpoint, res, scopes, creds)) {
        discard(res);
        authRetried = true;
        continue;
      }
      if (status === 401 && authorization === undefined && findBasic(res)) {
        discard(res);
        throw new RegistryError(
          'Unauthorized',
          `${methodWord(spec.method)} "${url}": no basic auth credentials`,
          401,
        );
      }
      if (spec.idempotent && isTransientStatus(status) && attempt < this.maxRetries) {
        discard(res);
        log.debug('registry answered with a transient error, retrying', { url: String(url), status });
        await sleep(backoffDelay(attempt++, this.retryBaseDelayMs), call.signal);
        continue;
      }
      return res;
    }
  }

  // ---- manifests ----

  /**
   * Fetches the manifest or index a reference names (tag, or digest when
   * present; mirrors first). Verifies a requested digest; refuses schema 1.
   */
  async getManifest(
    ref: ParsedReference,
    options: CallOptions & { accept?: readonly string[] } = {},
  ): Promise<ManifestResult> {
    const accept = options.accept ?? [
      ...DEFAULT_MANIFEST_ACCEPT,
      MediaType.dockerSchema1SignedManifest,
      MediaType.dockerSchema1Manifest,
    ];
    const target = ref.digest ?? ref.tag ?? DEFAULT_TAG;
    const scopes = [repositoryScope(ref.path, ['pull'])];
    return this.withPullEndpoints(ref.domain, options.signal, async (endpoint) => {
      const res = await this.request(
        endpoint,
        scopes,
        {
          method: 'GET',
          path: `${ref.path}/manifests/${target}`,
          headers: { Accept: accept.join(', ') },
          idempotent: true,
          followRedirects: true,
        },
        options,
      );
      const url = new URL(`${ref.path}/manifests/${target}`, endpoint.base);
      if (res.statusCode !== 200) throw translatePullError(await responseError(res, 'GET', url), ref);
      const body = await readBody(res, MANIFEST_SIZE_LIMIT);
      return this.manifestResult(ref, body, headerValue(res.headers, 'content-type'));
    });
  }

  private manifestResult(
    ref: ParsedReference,
    body: Buffer,
    contentType: string | undefined,
  ): ManifestResult {
    let parsed: Manifest;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Manifest;
    } catch (err) {
      throw new EngineError('System', `invalid manifest for ${familiarString(ref)}: ${errorMessage(err)}`);
    }
    const mediaType = manifestMediaType(contentType, parsed);
    if (isSchema1MediaType(mediaType)) throw schema1Error(ref);
    if (!isIndexMediaType(mediaType) && !isManifestMediaType(mediaType)) {
      throw new EngineError(
        'System',
        `unsupported manifest media type ${mediaType} for ${familiarString(ref)}`,
      );
    }
    if (isIndexMediaType(mediaType) !== isImageIndex(parsed)) {
      throw new EngineError(
        'System',
        `manifest of ${familiarString(ref)} does not match its media type ${mediaType}`,
      );
    }
    const digest = ref.digest ? computeDigest(body, digestAlgorithm(ref.digest)) : computeDigest(body);
    if (ref.digest && digest !== ref.digest) {
      throw new EngineError('System', `manifest verification failed for digest ${ref.digest}`);
    }
    const descriptor: Descriptor = { mediaType, digest, size: body.length };
    return { mediaType, digest, size: body.length, body, parsed, descriptor };
  }

  /** HEAD of a manifest: its descriptor without the body (origin or mirrors). */
  async headManifest(
    ref: ParsedReference,
    options: CallOptions & { accept?: readonly string[] } = {},
  ): Promise<Descriptor> {
    const accept = options.accept ?? DEFAULT_MANIFEST_ACCEPT;
    const target = ref.digest ?? ref.tag ?? DEFAULT_TAG;
    const scopes = [repositoryScope(ref.path, ['pull'])];
    return this.withPullEndpoints(ref.domain, options.signal, async (endpoint) => {
      const path = `${ref.path}/manifests/${target}`;
      const res = await this.request(
        endpoint,
        scopes,
        {
          method: 'HEAD',
          path,
          headers: { Accept: accept.join(', ') },
          idempotent: true,
          followRedirects: true,
        },
        options,
      );
      if (res.statusCode !== 200)
        throw translatePullError(await responseError(res, 'HEAD', new URL(path, endpoint.base)), ref);
      discard(res);
      const digest = headerValue(res.headers, 'docker-content-digest');
      const size = Number(headerValue(res.headers, 'content-length'));
      const mediaType = headerValue(res.headers, 'content-type')?.split(';')[0].trim();
      if (!digest || !Number.isFinite(size) || !mediaType || !isKnownManifestType(mediaType)) {
        // Registries need not send these on HEAD: fall back to reading the manifest.
        return (await this.getManifest(ref, options)).descriptor;
      }
      if (ref.digest && digest !== ref.digest) {
        throw new EngineError('System', `manifest verification failed for digest ${ref.digest}`);
      }
      return { mediaType, digest, size };
    });
  }

  /**
   * Resolves a reference to the image manifest for a platform (default
   * linux/amd64), walking an index or manifest list when there is one.
   */
  async resolveImage(
    ref: ParsedReference,
    options: CallOptions & { platform?: PlatformSpec } = {},
  ): Promise<ResolvedImage> {
    const platform = options.platform ?? DEFAULT_PLATFORM;
    const top = await this.getManifest(ref, options);
    let current = top;
    for (let depth = 0; isImageIndex(current.parsed); depth++) {
      if (depth >= MAX_INDEX_DEPTH)
        throw new EngineError('System', `index of ${familiarString(ref)} nests too deeply`);
      const chosen = selectPlatform(current.parsed, platform);
      current = await this.getManifest(
        { domain: ref.domain, path: ref.path, digest: chosen.digest },
        options,
      );
      if (current.mediaType !== chosen.mediaType && chosen.mediaType) {
        log.debug('manifest media type differs from its index entry', {
          digest: chosen.digest,
          index: chosen.mediaType,
          manifest: current.mediaType,
        });
      }
    }
    const resolved: ResolvedImage = {
      ref,
      descriptor: top.descriptor,
      manifest: current as ManifestResult & { parsed: ImageManifest },
    };
    if (top !== current) resolved.index = top as ManifestResult & { parsed: ImageIndex };
    return resolved;
  }

  /** Stores a manifest under a tag or digest; returns its descriptor. */
  async putManifest(
    repo: RepositoryRef,
    tagOrDigest: string,
    mediaType: string,
    body: Buffer,
    options: CallOptions = {},
  ): Promise<Descriptor> {
    const endpoint = await this.originEndpoint(repo.domain);
    const path = `${repo.path}/manifests/${tagOrDigest}`;
    const res = await this.request(
      endpoint,
      [repositoryScope(repo.path, ['pull', 'push'])],
      { method: 'PUT', path, headers: { 'Content-Type': mediaType }, body, idempotent: true },
      options,
    );
    if (res.statusCode !== 201 && res.statusCode !== 200) {
      throw translatePushError(await responseError(res, 'PUT', new URL(path, endpoint.base)), repo);
    }
    discard(res);
    const digest = computeDigest(body);
    const reported = headerValue(res.headers, 'docker-content-digest');
    if (reported && reported !== digest) {
      log.warn('registry reports a different manifest digest', { expected: digest, reported });
    }
    return { mediaType, digest, size: body.length };
  }

  // ---- blobs ----

  /**
   * Opens a blob for reading. The stream checks size and digest as it goes
   * (erroring on a mismatch), resumes with Range after broken connections,
   * and tries mirrors first. With `offset`, reading starts there and only
   * the size can be checked.
   */
  async fetchBlob(
    repo: RepositoryRef,
    descriptor: BlobDescriptor,
    options: CallOptions & { offset?: number } = {},
  ): Promise<BlobStream> {
    digestAlgorithm(descriptor.digest);
    const offset = options.offset ?? 0;
    if (offset < 0 || offset > descriptor.size)
      throw invalidParameter(`invalid offset ${offset} for blob of ${descriptor.size} bytes`);
    return this.withPullEndpoints(repo.domain, options.signal, async (endpoint) => {
      const open = (from: number): Promise<IncomingMessage> =>
        this.openBlob(endpoint, repo, descriptor, from, options);
      const first = await open(offset);
      return new BlobStream(descriptor, first, {
        reopen: open,
        maxRetries: this.maxRetries,
        retryBaseDelayMs: this.retryBaseDelayMs,
        startOffset: offset,
        signal: options.signal,
      });
    });
  }

  private async openBlob(
    endpoint: Endpoint,
    repo: RepositoryRef,
    descriptor: BlobDescriptor,
    offset: number,
    call: CallOptions,
  ): Promise<IncomingMessage> {
    const path = `${repo.path}/blobs/${descriptor.digest}`;
    const headers: Record<string, string> = {};
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    const res = await this.request(
      endpoint,
      [repositoryScope(repo.path, ['pull'])],
      { method: 'GET', path, headers, idempotent: true, followRedirects: true },
      call,
    );
    const status = res.statusCode ?? 0;
    if (status === 200 || (status === 206 && offset > 0)) return res;
    const err = await responseError(res, 'GET', new URL(path, endpoint.base));
    if (err.kind === 'NotFound' && err.errors.length === 0) {
      throw new RegistryError(
        'NotFound',
        `blob unknown: blob ${descriptor.digest} unknown to registry`,
        404,
        [{ code: 'BLOB_UNKNOWN' }],
      );
    }
    throw err;
  }

  /** Reads a small blob (an image config) whole, verified. */
  async fetchBlobBytes(
    repo: RepositoryRef,
    descriptor: BlobDescriptor,
    options: CallOptions & { limit?: number } = {},
  ): Promise<Buffer> {
    const limit = options.limit ?? MANIFEST_SIZE_LIMIT;
    if (descriptor.size > limit)
      throw invalidParameter(`blob ${descriptor.digest} is larger than ${limit} bytes`);
    const stream = await this.fetchBlob(repo, descriptor, options);
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** Whether the registry (not its mirrors) has the blob in this repository. */
  async blobExists(
    repo: RepositoryRef,
    digest: string,
    options: CallOptions & { forPush?: boolean } = {},
  ): Promise<boolean> {
    const endpoint = await this.originEndpoint(repo.domain);
    const scopes = [repositoryScope(repo.path, options.forPush ? ['pull', 'push'] : ['pull'])];
    return this.headBlob(endpoint, repo, digest, scopes, options);
  }

  private async headBlob(
    endpoint: Endpoint,
    repo: RepositoryRef,
    digest: string,
    scopes: string[],
    call: CallOptions,
  ): Promise<boolean> {
    const path = `${repo.path}/blobs/${digest}`;
    const res = await this.request(
      endpoint,
      scopes,
      { method: 'HEAD', path, idempotent: true, followRedirects: true },
      call,
    );
    discard(res);
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw await responseError(res, 'HEAD', new URL(path, endpoint.base));
  }

  /**
   * Uploads a blob unless the repository has it: first a cross-repository
   * mount when `mountFrom` is given, else POST + PATCH/PUT. `source` is
   * called for each attempt, so a retry re-reads the content.
   */
  async uploadBlob(
    repo: RepositoryRef,
    digest: string,
    size: number,
    source: () => Readable,
    options: UploadOptions = {},
  ): Promise<UploadResult> {
    digestAlgorithm(digest);
    const endpoint = await this.originEndpoint(repo.domain);
    const scopes = [repositoryScope(repo.path, ['pull', 'push'])];
    if (options.mountFrom && options.mountFrom !== repo.path)
      scopes.push(repositoryScope(options.mountFrom, ['pull']));
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.uploadOnce(endpoint, repo, digest, size, source, scopes, options);
      } catch (err) {
        if (!isTransientError(err) || attempt >= this.maxRetries || options.signal?.aborted) {
          throw err instanceof RegistryError ? translatePushError(err, repo) : err;
        }
        log.debug('blob upload failed, starting it again', { digest, attempt, error: errorMessage(err) });
        await sleep(backoffDelay(attempt, this.retryBaseDelayMs), options.signal);
      }
    }
  }

  private async uploadOnce(
    endpoint: Endpoint,
    repo: RepositoryRef,
    digest: string,
    size: number,
    source: () => Readable,
    scopes: string[],
    options: UploadOptions,
  ): Promise<UploadResult> {
    if (await this.headBlob(endpoint, repo, digest, scopes, options)) {
      return { digest, size, existed: true, mounted: false };
    }
    const start = new URL(`${repo.path}/blobs/uploads/`, endpoint.base);
    if (options.mountFrom && options.mountFrom !== repo.path) {
      start.searchParams.set('mount', digest);
      start.searchParams.set('from', options.mountFrom);
    }
    const started = await this.request(
      endpoint,
      scopes,
      { method: 'POST', url: start, idempotent: false },
      options,
    );
    if (started.statusCode === 201) {
      discard(started);
      return { digest, size, existed: false, mounted: true };
    }
    if (started.statusCode !== 202) throw await responseError(started, 'POST', start);
    discard(started);
    let location = uploadLocation(started, start);

    const mode = options.mode ?? 'streamed';
    let finalBody: (() => Readable) | undefined;
    if (mode === 'monolithic') {
      finalBody = source;
    } else if (mode === 'streamed') {
      location = await this.patchUpload(endpoint, scopes, location, source, size, undefined, options);
    } else {
      const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
      let offset = 0;
      for await (const chunk of chunks(source(), chunkSize)) {
        location = await this.patchUpload(endpoint, scopes, location, chunk, chunk.length, offset, options);
        offset += chunk.length;
      }
      if (offset !== size)
        throw invalidParameter(`blob ${digest}: source gave ${offset} bytes, expected ${size}`);
    }

    const finish = new URL(location);
    finish.searchParams.set('digest', digest);
    const headers: Record<string, string> = {};
    if (finalBody) {
      headers['Content-Type'] = 'application/octet-stream';
      headers['Content-Length'] = String(size);
    }
    const done = await this.request(
      endpoint,
      scopes,
      { method: 'PUT', url: finish, headers, body: finalBody, idempotent: false },
      options,
    );
    if (done.statusCode !== 201) throw await responseError(done, 'PUT', finish);
    discard(done);
    const stored = headerValue(done.headers, 'docker-content-digest');
    if (stored && stored !== digest) {
      throw new EngineError('System', `registry stored blob as ${stored}, expected ${digest}`);
    }
    return { digest, size, existed: false, mounted: false };
  }

  /** One PATCH of an upload session; returns the session's next location. */
  private async patchUpload(
    endpoint: Endpoint,
    scopes: string[],
    location: URL,
    body: Buffer | (() => Readable),
    length: number,
    offset: number | undefined,
    call: CallOptions,
  ): Promise<URL> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(length),
    };
    if (offset !== undefined) headers['Content-Range'] = `${offset}-${offset + length - 1}`;
    const res = await this.request(
      endpoint,
      scopes,
      { method: 'PATCH', url: location, headers, body, idempotent: false },
      call,
    );
    if (res.statusCode !== 202) throw await responseError(res, 'PATCH', location);
    discard(res);
    return uploadLocation(res, location);
  }

  // ---- tags ----

  /** Every tag of a repository, following `Link: <...>; rel="next"` pages. */
  async listTags(repo: RepositoryRef, options: CallOptions & { pageSize?: number } = {}): Promise<string[]> {
    return this.withPullEndpoints(repo.domain, options.signal, async (endpoint) => {
      const tags: string[] = [];
      let url: URL | undefined = new URL(`${repo.path}/tags/list`, endpoint.base);
      if (options.pageSize) url.searchParams.set('n', String(options.pageSize));
      const seen = new Set<string>();
      while (url !== undefined) {
        if (seen.has(url.href))
          throw new EngineError('System', `tag listing of ${repo.path} loops at ${url}`);
        seen.add(url.href);
        const res = await this.request(
          endpoint,
          [repositoryScope(repo.path, ['pull'])],
          { method: 'GET', url, idempotent: true, followRedirects: true },
          options,
        );
        if (res.statusCode !== 200) {
          throw translatePullError(await responseError(res, 'GET', url), { ...repo });
        }
        const page = JSON.parse((await readBody(res)).toString('utf8')) as { tags?: string[] | null };
        tags.push(...(page.tags ?? []));
        const next = nextLink(headerValues(res.headers, 'link'));
        url = next === undefined ? undefined : new URL(next, url);
      }
      return tags;
    });
  }

  // ---- login ----

  /**
   * `docker login`: checks the credentials against the registry's /v2/
   * (HTTPS, then HTTP for insecure registries). Resolves with
   * { Status: 'Login Succeeded', IdentityToken? }; rejects with an
   * Unauthorized error when they are refused.
   */
  async login(
    serverAddress: string,
    creds: RegistryCredentials,
    options: { signal?: AbortSignal } = {},
  ): Promise<LoginResult> {
    const host = loginHost(serverAddress || creds.serveraddress || DEFAULT_DOMAIN);
    const insecure = await this.isInsecureRegistry(host);
    const endpoints = [{ url: new URL(`https://${host}/v2/`), insecureTls: insecure }];
    if (insecure) endpoints.push({ url: new URL(`http://${host}/v2/`), insecureTls: false });
    try {
      return await loginToEndpoints(this.transport, endpoints, creds, options);
    } catch (err) {
      if (err instanceof EngineError) throw err;
      throw connectionError(err, 'GET', endpoints[endpoints.length - 1].url);
    }
  }
}

// ---- helpers ----

function makeEndpoint(host: string, base: URL, insecureTls: boolean, mirror: boolean): Endpoint {
  return { host, base, origin: base.origin, insecureTls, mirror };
}

function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** Registry host for a `docker login` server address: Docker Hub's API host for its aliases. */
export function loginHost(serverAddress: string): string {
  const host = serverAddress
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]
    .toLowerCase();
  return registryApiHost(host === 'index.docker.io' ? DEFAULT_DOMAIN : host);
}

function findBasic(res: IncomingMessage): boolean {
  return parseChallenges(headerValues(res.headers, 'www-authenticate')).some((c) => c.scheme === 'basic');
}

function wrapAuthError(err: unknown, method: string, url: URL): unknown {
  if (err instanceof EngineError && (err.kind === 'Unauthorized' || err.kind === 'Forbidden')) {
    return new RegistryError(
      err.kind,
      `${methodWord(method)} "${url}": ${err.message}`,
      err.kind === 'Unauthorized' ? 401 : 403,
    );
  }
  if (err instanceof EngineError) return err;
  return connectionError(err, method, url);
}

function isKnownManifestType(mediaType: string): boolean {
  return isIndexMediaType(mediaType) || isManifestMediaType(mediaType) || isSchema1MediaType(mediaType);
}

/** The media type of a fetched manifest: Content-Type if meaningful, else what the document says. */
function manifestMediaType(contentType: string | undefined, parsed: Manifest): string {
  const header = contentType?.split(';')[0].trim();
  if (header && isKnownManifestType(header)) return header;
  if ((parsed as { schemaVersion?: number }).schemaVersion === 1)
    return MediaType.dockerSchema1SignedManifest;
  if (typeof parsed.mediaType === 'string' && parsed.mediaType !== '') return parsed.mediaType;
  return isImageIndex(parsed) ? MediaType.ociIndex : MediaType.ociManifest;
}

function uploadLocation(res: IncomingMessage, requestUrl: URL): URL {
  const location = headerValue(res.headers, 'location');
  if (!location)
    throw new EngineError('System', `registry did not send an upload location for ${requestUrl}`);
  return new URL(location, requestUrl);
}

/** Regroups a stream into Buffers of exactly `size` bytes (the last may be shorter). */
async function* chunks(source: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  for await (const piece of source as AsyncIterable<Buffer>) {
    let rest = piece;
    while (pendingLength + rest.length >= size) {
      const take = size - pendingLength;
      pending.push(rest.subarray(0, take));
      yield Buffer.concat(pending);
      rest = rest.subarray(take);
      pending = [];
      pendingLength = 0;
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingLength += rest.length;
    }
  }
  if (pendingLength > 0) yield Buffer.concat(pending);
}
