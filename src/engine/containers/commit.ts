/**
 * docker commit: a new image from a container's filesystem changes. The
 * layer is computed by containerd's differ (the image's top snapshot
 * against the container's), the config is the container's with the
 * requested Dockerfile changes; the image service stores and names it.
 */
import { randomBytes } from 'node:crypto';
import { invalidParameter, notImplemented } from '../../common/errors.js';
import type { ContainerdClient } from '../../containerd/client.js';
import { UNCOMPRESSED_LABEL } from '../../containerd/unpack.js';
import type { ContainerConfig } from '../../types/container.js';
import type { ImageConfig, ImageConfigFile } from '../../types/image.js';
import type { ContainerImages, ImageCommitter } from './deps.js';
import type { Container } from './record.js';
import { layersOf, mirrorRuntimeMountpoints, runtimeMountpoints } from './rootfs.js';

export interface CommitRequest {
  container: string;
  repo: string;
  tag: string;
  comment: string;
  author: string;
  /** Pause the container while its changes are read (default true). */
  pause: boolean;
  /** Dockerfile instructions applied to the new image's config (CMD, ENV, ...). */
  changes: string[];
  /** Config overrides from the request body. */
  config?: ContainerConfig;
}

const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** The image-config fields of a container Config (what an image can carry). */
function imageConfigOf(config: ContainerConfig): ImageConfig {
  const out: ImageConfig = {
    User: config.User ?? '',
    ExposedPorts: config.ExposedPorts ?? undefined,
    Env: config.Env ?? null,
    Entrypoint: config.Entrypoint ?? null,
    Cmd: config.Cmd ?? null,
    Volumes: config.Volumes ?? null,
    WorkingDir: config.WorkingDir ?? '',
    Labels: config.Labels ?? null,
    OnBuild: config.OnBuild ?? null,
  };
  if (config.StopSignal) out.StopSignal = config.StopSignal;
  if (config.Healthcheck) out.Healthcheck = config.Healthcheck;
  if (config.Shell?.length) out.Shell = config.Shell;
  if (config.ArgsEscaped) out.ArgsEscaped = true;
  return out;
}

/** Fields the request's Config sets win over the container's (moby's merge, the other way round). */
function overlay(base: ContainerConfig, override: ContainerConfig | undefined): ContainerConfig {
  const merged: ContainerConfig = { ...base };
  for (const [key, value] of Object.entries(override ?? {})) {
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0))
      continue;
    (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

export interface CommitContext {
  containerd: ContainerdClient;
  images: ContainerImages & ImageCommitter;
  applyChanges: (base: ImageConfig, changes: string[]) => ImageConfig;
}

/**
 * The new layer of `container`: what its snapshot has that the image's has
 * not, written to the content store by containerd's differ. The lower side is
 * a scratch snapshot on the image holding the runtime's mount points as the
 * container has them, so they stay out of the layer, as Docker's init layer
 * keeps them out of its commits.
 */
async function diffLayer(
  leased: ContainerdClient,
  container: Container,
): Promise<{ mediaType: string; digest: string; size: number; diffId: string }> {
  const lowerKey = `commit-lower-${randomBytes(6).toString('hex')}`;
  const lower = await leased.snapshots.prepare(lowerKey, container.ImageChainId);
  try {
    const upper = await leased.snapshots.mounts(container.ID);
    await mirrorRuntimeMountpoints(
      layersOf(upper).upper,
      layersOf(lower).upper,
      runtimeMountpoints(container.HostConfig),
    );
    const layer = await leased.diff.diff(lower, upper, {
      mediaType: LAYER_MEDIA_TYPE,
      ref: `commit-${container.ID}-${randomBytes(6).toString('hex')}`,
    });
    const info = await leased.content.info(layer.digest);
    const diffId = info.labels?.[UNCOMPRESSED_LABEL];
    if (!diffId) throw new Error(`the committed layer ${layer.digest} has no uncompressed digest`);
    return { mediaType: layer.mediaType || LAYER_MEDIA_TYPE, digest: layer.digest, size: layer.size, diffId };
  } finally {
    await leased.snapshots.remove(lowerKey).catch(() => undefined);
  }
}

/**
 * Creates the image. The caller pauses the container around it when asked.
 * Returns the new image ID and the reference it was named by, if any.
 */
export async function commitContainer(
  context: CommitContext,
  container: Container,
  request: CommitRequest,
): Promise<{ id: string; reference?: string }> {
  if (!context.images.commitImage) throw notImplemented('the image service cannot create images');
  if (!request.repo && request.tag) throw invalidParameter('tag is specified without a repository');
  const reference = request.repo
    ? request.tag
      ? `${request.repo}:${request.tag}`
      : request.repo
    : undefined;
  const parent = await context.images.resolveImage(container.Image);
  const parentFile = parent.config as ImageConfigFile;
  const containerConfig = overlay(container.Config, request.config);
  const runtimeConfig = context.applyChanges(imageConfigOf(containerConfig), request.changes);
  const created = new Date().toISOString();
  const lease = await context.containerd.leases.create({ expiresInMs: 3600_000 });
  try {
    const leased = context.containerd.withLease(lease.id);
    const layer = await diffLayer(leased, container);
    const config: Record<string, unknown> = {
      created,
      architecture: parentFile.architecture ?? 'amd64',
      os: parentFile.os ?? 'linux',
      ...(parentFile.variant ? { variant: parentFile.variant } : {}),
      config: runtimeConfig,
      container: container.ID,
      container_config: containerConfig,
    };
    if (request.author) config.author = request.author;
    if (request.comment) config.comment = request.comment;
    const history: Record<string, unknown> = {
      created,
      created_by: [container.Path, ...container.Args].join(' '),
    };
    if (request.author) history.author = request.author;
    if (request.comment) history.comment = request.comment;
    const { id } = await context.images.commitImage({ parent, layer, config, history, reference });
    return { id, reference };
  } finally {
    await context.containerd.leases.delete(lease.id).catch(() => undefined);
  }
}
