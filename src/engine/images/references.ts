/**
 * How Docker references map onto containerd image records. Every reference
 * Docker keeps (a tag `name:tag`, a digest `name@sha256:…`) is one containerd
 * image named by the fully qualified reference; an image that has lost all of
 * them but must stay (a tag moved away from it) keeps a placeholder record.
 */
import { invalidParameter, notFound } from '../../common/errors.js';
import {
  familiarString,
  isIdentifier,
  parseNormalizedNamed,
  referenceString,
  withDefaultTag,
  type ParsedReference,
} from '../../registry/reference.js';

/** Name prefix of placeholder records for images without any reference. */
export const DANGLING_PREFIX = 'berth-dangling@';

export function danglingName(imageId: string): string {
  return DANGLING_PREFIX + imageId;
}

export function isDanglingName(name: string): boolean {
  return name.startsWith(DANGLING_PREFIX);
}

/** A containerd image name parsed back into a reference; undefined for placeholders and foreign names. */
export function parseRecordName(name: string): ParsedReference | undefined {
  if (isDanglingName(name)) return undefined;
  try {
    const ref = parseNormalizedNamed(name);
    return referenceString(ref) === name ? ref : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a record name is a tag reference (name:tag without digest). */
export function isTagRef(ref: ParsedReference): boolean {
  return ref.tag !== undefined && ref.digest === undefined;
}

/** Whether a record name is a digest reference (name@digest). */
export function isDigestRef(ref: ParsedReference): boolean {
  return ref.digest !== undefined;
}

/**
 * The containerd record names a user reference stands for: "busybox" →
 * docker.io/library/busybox:latest. A tag plus digest keeps only the digest,
 * as Docker's reference store does.
 */
export function recordNameOf(ref: ParsedReference): string {
  if (ref.digest !== undefined)
    return referenceString({ domain: ref.domain, path: ref.path, digest: ref.digest });
  return referenceString(withDefaultTag(ref));
}

/** Docker's "No such image: busybox:latest" for a reference, or the raw text for an ID. */
export function noSuchImage(refOrId: string): Error {
  return notFound(`No such image: ${displayRef(refOrId)}`);
}

function displayRef(refOrId: string): string {
  const bare = refOrId.startsWith('sha256:') ? refOrId.slice(7) : refOrId;
  if (isIdentifier(bare)) return refOrId.startsWith('sha256:') ? refOrId : `sha256:${bare}`;
  try {
    return familiarString(withDefaultTag(parseNormalizedNamed(refOrId)));
  } catch {
    return refOrId;
  }
}

/** What an image argument names: an ID (full or prefix), a reference, or both candidates. */
export type ImageLookup =
  { kind: 'id'; id: string } | { kind: 'reference'; ref: ParsedReference; idPrefix?: string };

/**
 * Classifies a user's image argument as moby's GetImage does: "sha256:<64
 * hex>" or 64 hex is an ID; anything else is a reference, and a short hex
 * string may also be an ID prefix. Invalid references are InvalidParameter.
 */
export function classifyImageArgument(refOrId: string): ImageLookup {
  if (refOrId === '') throw invalidParameter('invalid reference format');
  const bare = refOrId.startsWith('sha256:') ? refOrId.slice(7) : refOrId;
  if (isIdentifier(bare)) return { kind: 'id', id: `sha256:${bare}` };
  if (refOrId.startsWith('sha256:')) {
    if (/^[a-f0-9]+$/.test(bare)) return { kind: 'id', id: refOrId };
    throw invalidParameter('invalid reference format');
  }
  const ref = parseNormalizedNamed(refOrId);
  const idPrefix = /^[a-f0-9]+$/.test(refOrId) ? refOrId : undefined;
  return idPrefix === undefined ? { kind: 'reference', ref } : { kind: 'reference', ref, idPrefix };
}

/** "sha256:abcd…" → first 12 hex characters, as Docker shortens IDs. */
export function shortId(id: string): string {
  const bare = id.includes(':') ? id.slice(id.indexOf(':') + 1) : id;
  return bare.slice(0, 12);
}
