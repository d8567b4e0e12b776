/**
 * Image references with the grammar and normalisation of Docker's
 * distribution/reference package:
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain "/"] path-component ["/" path-component]*
 *
 * "busybox" normalises to docker.io/library/busybox, and familiar forms drop
 * that prefix again for display.
 */
import { invalidParameter } from '../common/errors.js';

export interface ParsedReference {
  /** Registry host[:port]; '' only from parseReference on a name without one. */
  domain: string;
  /** Repository path inside the registry, e.g. library/busybox. */
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const REPOSITORY_NAME_MAX_LENGTH = 255;

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6Address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6Address})(?::[0-9]+)?`;
const namePattern = `(?:${domainAndPort}/)?${remoteName}`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';

const referenceRegexp = new RegExp(`^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRegexp = new RegExp(`^${tagPattern}$`);
const anchoredIdentifierRegexp = /^[a-f0-9]{64}$/;
const anchoredDomainRegexp = new RegExp(`^${domainAndPort}$`);

/** Hex lengths of the digest algorithms Docker accepts (go-digest's registered set). */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * Validates a digest the way go-digest does and returns the error message
 * Docker would print, or undefined when the digest is fine.
 */
export function digestError(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  if (colon <= 0 || colon + 1 === digest.length) return 'invalid checksum digest format';
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const expectedLength = DIGEST_HEX_LENGTH[algorithm];
  if (expectedLength === undefined) {
    return new RegExp(`^${digestPattern}$`).test(digest)
      ? 'unsupported digest algorithm'
      : 'invalid checksum digest format';
  }
  if (encoded.length !== expectedLength) return 'invalid checksum digest length';
  if (!/^[a-f0-9]+$/.test(encoded)) return 'invalid checksum digest format';
  return undefined;
}

export function isValidDigest(digest: string): boolean {
  return digestError(digest) === undefined;
}

export function isValidTag(tag: string): boolean {
  return anchoredTagRegexp.test(tag);
}

export function isValidDomain(domain: string): boolean {
  return anchoredDomainRegexp.test(domain);
}

/** A 64-hex string: an image ID, which Docker refuses as a repository name. */
export function isIdentifier(value: string): boolean {
  return anchoredIdentifierRegexp.test(value);
}

/**
 * Parses a reference without normalising it (distribution's Parse): the
 * domain is whatever precedes the first "/" when it looks like a host.
 */
export function parseReference(s: string): ParsedReference {
  if (s === '') throw invalidParameter('repository name must have at least one component');
  const match = referenceRegexp.exec(s);
  if (match === null) {
    const lower = s.toLowerCase();
    if (lower !== s && referenceRegexp.test(lower)) {
      throw invalidParameter('repository name must be lowercase');
    }
    throw invalidParameter('invalid reference format');
  }
  const nameMatch = anchoredNameRegexp.exec(match[1]);
  const domain = nameMatch?.[1] ?? '';
  const path = nameMatch ? nameMatch[2] : match[1];
  if (path.length > REPOSITORY_NAME_MAX_LENGTH) {
    throw invalidParameter(`repository name must not be more than ${REPOSITORY_NAME_MAX_LENGTH} characters`);
  }
  const ref: ParsedReference = { domain, path };
  if (match[2] !== undefined) ref.tag = match[2];
  if (match[3] !== undefined) {
    const problem = digestError(match[3]);
    if (problem !== undefined) throw invalidParameter(problem);
    ref.digest = match[3];
  }
  return ref;
}

/** Splits a familiar name into domain and remote name the way Docker guesses hosts. */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + name };
  const maybeDomain = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  let domain = DEFAULT_DOMAIN;
  let remainder = name;
  if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    remainder = rest;
  } else if (
    maybeDomain === 'localhost' ||
    /[.:]/.test(maybeDomain) ||
    // Uppercase is never valid in a path, so an uppercase first element must be a host.
    maybeDomain.toLowerCase() !== maybeDomain
  ) {
    domain = maybeDomain;
    remainder = rest;
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * Parses a name as users type it ("busybox", "me/app:1", "host:5000/x@sha256:..")
 * into its fully qualified form (distribution's ParseNormalizedNamed).
 */
export function parseNormalizedNamed(s: string): ParsedReference {
  if (isIdentifier(s)) {
    throw invalidParameter(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon === -1 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) {
    throw invalidParameter(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  const ref = parseReference(`${domain}/${remainder}`);
  if (ref.domain === '') throw invalidParameter('invalid reference format');
  return ref;
}

/** Adds the "latest" tag to a reference that has neither tag nor digest. */
export function withDefaultTag(ref: ParsedReference): ParsedReference {
  if (ref.tag !== undefined || ref.digest !== undefined) return ref;
  return { ...ref, tag: DEFAULT_TAG };
}

/**
 * Docker's pull-time normalisation: a name with both tag and digest keeps
 * only the digest; a bare name gets "latest".
 */
export function parseDockerRef(s: string): ParsedReference {
  const ref = parseNormalizedNamed(s);
  if (ref.tag !== undefined && ref.digest !== undefined) {
    return { domain: ref.domain, path: ref.path, digest: ref.digest };
  }
  return withDefaultTag(ref);
}

/** Repository name with its domain: docker.io/library/busybox. */
export function referenceName(ref: ParsedReference): string {
  return ref.domain === '' ? ref.path : `${ref.domain}/${ref.path}`;
}

function withSuffix(name: string, ref: ParsedReference): string {
  let s = name;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Full reference: docker.io/library/busybox:latest. */
export function referenceString(ref: ParsedReference): string {
  return withSuffix(referenceName(ref), ref);
}

/** The name as Docker shows it: docker.io/library/busybox -> busybox, docker.io/me/app -> me/app. */
export function familiarName(ref: ParsedReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return referenceName(ref);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return ref.path;
}

/** familiarName plus tag and digest: busybox:latest. */
export function familiarString(ref: ParsedReference): string {
  return withSuffix(familiarName(ref), ref);
}

/** Host to send registry API calls to: Docker Hub's API lives on registry-1.docker.io. */
export function registryApiHost(domain: string): string {
  return domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN ? DOCKER_HUB_API_HOST : domain;
}

/**
 * Key for credentials of a registry, as Docker stores them: Docker Hub's
 * entry is "https://index.docker.io/v1/", every other registry its host.
 */
export function credentialsKey(domain: string): string {
  return domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN || domain === DOCKER_HUB_API_HOST
    ? 'https://index.docker.io/v1/'
    : domain;
}

/** Same repository, different tag (and no digest). */
export function withTag(ref: ParsedReference, tag: string): ParsedReference {
  if (!isValidTag(tag)) throw invalidParameter('invalid tag format');
  return { domain: ref.domain, path: ref.path, tag };
}

/** Same repository, pinned by digest (the tag, if any, is kept as Docker does). */
export function withDigest(ref: ParsedReference, digest: string): ParsedReference {
  const problem = digestError(digest);
  if (problem !== undefined) throw invalidParameter(problem);
  return { ...ref, digest };
}
