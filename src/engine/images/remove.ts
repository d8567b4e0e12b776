/**
 * `docker rmi` with moby's rules: removing a reference untags; the image
 * itself goes with its last reference, unless a container holds it; an ID
 * removes all references of a single repository; conflicts are worded as
 * Docker words them. Deleted layers are reported by chain ID, as the classic
 * store does, once containerd's GC has collected them.
 */
import { conflict } from '../../common/errors.js';
import { familiarString, referenceName, type ParsedReference } from '../../registry/reference.js';
import type { ImageDeleteResponseItem } from '../../types/image.js';
import { isDigestRef, isTagRef, shortId } from './references.js';
import { allChainIds, type ImageRecord, type ImageStore, type StoredImage } from './store.js';

export interface RemoveContext {
  store: ImageStore;
  /** The container using the image, if any. */
  userOf: (imageId: string) => Promise<{ containerId: string; running: boolean } | undefined>;
  event: (imageId: string, action: 'untag' | 'delete', image: StoredImage) => void;
}

export interface RemoveOptions {
  force: boolean;
  prune: boolean;
}

function referenceRecords(image: StoredImage): (ImageRecord & { ref: ParsedReference })[] {
  return [...image.records.values()].filter((r): r is ImageRecord & { ref: ParsedReference } => !!r.ref);
}

/** moby's isSingleReference: at most one tag, and digests only of that tag's repository. */
export function isSingleReference(refs: ParsedReference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: ParsedReference | undefined;
  const digestRepos = new Set<string>();
  for (const ref of refs) {
    if (isDigestRef(ref)) digestRepos.add(referenceName(ref));
    else if (single === undefined) single = ref;
    else return false;
  }
  single ??= refs[0];
  return digestRepos.size === 1 && digestRepos.has(referenceName(single));
}

/**
 * Removes what `argument` names: `name` is the record name when it was a
 * reference, undefined when it was an ID. Call inside store.serialize().
 */
export async function removeImage(
  ctx: RemoveContext,
  argument: string,
  image: StoredImage,
  name: string | undefined,
  options: RemoveOptions,
): Promise<ImageDeleteResponseItem[]> {
  // Holds the image while its references go; deleted with it, or kept to show it dangling.
  await ctx.store.ensurePlaceholder(image);
  try {
    return await removeReferences(ctx, argument, image, name, options);
  } catch (err) {
    await ctx.store.dropPlaceholder(image);
    throw err;
  }
}

async function removeReferences(
  ctx: RemoveContext,
  argument: string,
  image: StoredImage,
  name: string | undefined,
  options: RemoveOptions,
): Promise<ImageDeleteResponseItem[]> {
  const records: ImageDeleteResponseItem[] = [];
  const untag = async (record: ImageRecord & { ref: ParsedReference }, log = true): Promise<void> => {
    await ctx.store.deleteRecord(record.name);
    records.push({ Untagged: familiarString(record.ref) });
    if (log) ctx.event(image.id, 'untag', image);
  };
  let removedReference = false;
  if (name !== undefined) {
    const refs = referenceRecords(image);
    const record = refs.find((r) => r.name === name);
    if (record === undefined) return records;
    if (!options.force && isSingleReference(refs.map((r) => r.ref))) {
      const user = await ctx.userOf(image.id);
      if (user) {
        throw conflict(
          `conflict: unable to remove repository reference "${argument}" (must force) - container ${shortId(user.containerId)} is using its referenced image ${shortId(image.id)}`,
        );
      }
    }
    await untag(record);
    let remaining = referenceRecords(image);
    // A tag gone, digests of its repository without any tag left go too.
    if (isTagRef(record.ref)) {
      const repo = referenceName(record.ref);
      const sameRepo = remaining.filter((r) => referenceName(r.ref) === repo);
      if (!sameRepo.some((r) => isTagRef(r.ref))) {
        for (const digestRecord of sameRepo) await untag(digestRecord, false);
        remaining = referenceRecords(image);
      }
    }
    if (remaining.length > 0) {
      await ctx.store.dropPlaceholder(image);
      return records;
    }
    removedReference = true;
  } else {
    const refs = referenceRecords(image);
    if (isSingleReference(refs.map((r) => r.ref))) {
      await checkConflict(ctx, image, { hard: true, stopped: !options.force, references: false });
      for (const record of refs) await untag(record);
    }
  }
  const deleted = await deleteHelper(ctx, image, options, removedReference);
  return [...records, ...deleted];
}

interface ConflictMask {
  hard: boolean;
  stopped: boolean;
  references: boolean;
}

class DeleteConflict extends Error {
  constructor(
    image: StoredImage,
    readonly hard: boolean,
    readonly used: boolean,
    message: string,
  ) {
    super(
      `conflict: unable to delete ${shortId(image.id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${message}`,
    );
  }
}

async function findConflict(
  ctx: RemoveContext,
  image: StoredImage,
  mask: ConflictMask,
): Promise<DeleteConflict | undefined> {
  const user = await ctx.userOf(image.id);
  if (mask.hard && user?.running) {
    return new DeleteConflict(
      image,
      true,
      true,
      `image is being used by running container ${shortId(user.containerId)}`,
    );
  }
  if (mask.references && referenceRecords(image).length > 0) {
    return new DeleteConflict(image, false, false, 'image is referenced in multiple repositories');
  }
  if (mask.stopped && user && !user.running) {
    return new DeleteConflict(
      image,
      false,
      true,
      `image is being used by stopped container ${shortId(user.containerId)}`,
    );
  }
  return undefined;
}

async function checkConflict(ctx: RemoveContext, image: StoredImage, mask: ConflictMask): Promise<void> {
  const found = await findConflict(ctx, image, mask);
  if (found) throw conflict(found.message);
}

/** moby's imageDeleteHelper: the image and its unshared layers, unless a conflict says no. */
async function deleteHelper(
  ctx: RemoveContext,
  image: StoredImage,
  options: RemoveOptions,
  quiet: boolean,
): Promise<ImageDeleteResponseItem[]> {
  const found = await findConflict(ctx, image, {
    hard: true,
    stopped: !options.force,
    references: !options.force,
  });
  if (found) {
    // After untagging its last reference, a used image silently stays (dangling).
    if (quiet && (referenceRecords(image).length > 0 || found.used)) return [];
    throw conflict(found.message);
  }
  const records: ImageDeleteResponseItem[] = [];
  for (const record of referenceRecords(image)) {
    await ctx.store.deleteRecord(record.name);
    records.push({ Untagged: familiarString(record.ref) });
  }
  const names = [...image.records.keys()];
  for (const [i, recordName] of names.entries()) {
    // The last deletion waits for containerd's GC, so removed layers can be reported.
    await ctx.store.deleteRecord(recordName, { sync: i === names.length - 1 });
  }
  ctx.event(image.id, 'delete', image);
  records.push({ Deleted: image.id });
  for (const chainId of [...allChainIds(image)].reverse()) {
    if (await ctx.store.layerGone(chainId)) records.push({ Deleted: chainId });
  }
  return records;
}
