/**
 * `GET /system/df`: images with their shared and unique layer sizes and how
 * many containers use them, containers with their writable layers, volumes
 * with their usage, and the build cache. Every figure comes from a cache its
 * owner keeps current (image layer sizes never change, container layers and
 * volumes are measured in the background after changes), so the answer
 * takes milliseconds however many objects there are.
 */
import { invalidParameter } from '../../common/errors.js';
import type { ContainerSummary } from '../../types/container.js';
import type { ImageSummary } from '../../types/image.js';
import type { BuildCacheRecord, SystemDataUsage } from '../../types/system.js';
import type { Volume } from '../../types/volume.js';

export type DiskUsageType = 'container' | 'image' | 'volume' | 'build-cache';
export const DISK_USAGE_TYPES: readonly DiskUsageType[] = ['container', 'image', 'volume', 'build-cache'];

/** An image as df needs it: its summary and the chain IDs of its layers. */
export interface ImageLayers {
  summary: ImageSummary;
  chainIds: readonly string[];
}

export interface DiskUsageSources {
  images(): Promise<ImageLayers[]>;
  /** Unpacked size of one layer (cached by the image store). */
  layerSize(chainId: string): Promise<number>;
  /** Containers with SizeRw filled in. */
  containers(): Promise<ContainerSummary[]>;
  imageContainerCounts(): Map<string, number>;
  volumes(): Promise<Volume[]>;
  buildCache?(): Promise<BuildCacheRecord[]>;
}

export function parseDiskUsageTypes(values: readonly string[]): Set<DiskUsageType> {
  if (values.length === 0) return new Set(DISK_USAGE_TYPES);
  const types = new Set<DiskUsageType>();
  for (const value of values) {
    if (!DISK_USAGE_TYPES.includes(value as DiskUsageType))
      throw invalidParameter(`unknown object type: ${value}`);
    types.add(value as DiskUsageType);
  }
  return types;
}

interface ImageUsage {
  images: ImageSummary[];
  layersSize: number;
  /** Image ID to its unpacked size. */
  sizes: Map<string, number>;
}

/** Image sizes: SharedSize counts layers other images also use; LayersSize each layer once. */
async function imageUsage(sources: DiskUsageSources): Promise<ImageUsage> {
  const images = await sources.images();
  const users = new Map<string, number>();
  for (const image of images) {
    for (const chainId of new Set(image.chainIds)) users.set(chainId, (users.get(chainId) ?? 0) + 1);
  }
  const layerSizes = new Map<string, number>();
  for (const chainId of users.keys()) layerSizes.set(chainId, await sources.layerSize(chainId));
  const counts = sources.imageContainerCounts();
  const sizes = new Map<string, number>();
  const summaries = images.map(({ summary, chainIds }) => {
    let shared = 0;
    for (const chainId of new Set(chainIds)) {
      if ((users.get(chainId) ?? 0) > 1) shared += layerSizes.get(chainId) ?? 0;
    }
    sizes.set(summary.Id, summary.Size);
    return { ...summary, SharedSize: shared, Containers: counts.get(summary.Id) ?? 0 };
  });
  let layersSize = 0;
  for (const size of layerSizes.values()) layersSize += size;
  return { images: summaries, layersSize, sizes };
}

export async function diskUsage(
  sources: DiskUsageSources,
  types: ReadonlySet<DiskUsageType> = new Set(DISK_USAGE_TYPES),
): Promise<SystemDataUsage> {
  const wantImages = types.has('image');
  const wantContainers = types.has('container');
  const [images, containers, volumes, buildCache] = await Promise.all([
    wantImages || wantContainers ? imageUsage(sources) : undefined,
    wantContainers ? sources.containers() : undefined,
    types.has('volume') ? sources.volumes() : undefined,
    types.has('build-cache') ? (sources.buildCache?.() ?? Promise.resolve([])) : undefined,
  ]);
  const usage: SystemDataUsage = {
    LayersSize: wantImages ? (images?.layersSize ?? 0) : 0,
    Images: wantImages ? (images?.images ?? []) : null,
    Containers: containers
      ? containers.map((c) => ({
          ...c,
          SizeRootFs: (c.SizeRw ?? 0) + (images?.sizes.get(c.ImageID) ?? 0),
        }))
      : null,
    Volumes: volumes ?? null,
    BuildCache: buildCache ?? null,
  };
  if (buildCache) usage.BuilderSize = buildCache.reduce((sum, r) => sum + r.Size, 0);
  return usage;
}
