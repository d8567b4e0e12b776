/**
 * Docker's API shapes of a stored image: the list entry, the full inspect,
 * and the history, with RepoTags and RepoDigests derived from the records.
 */
import { familiarString } from '../../registry/reference.js';
import type { ContainerConfig } from '../../types/container.js';
import type {
  HistoryItem,
  ImageConfigFile,
  ImageHistoryEntry,
  ImageInspect,
  ImageSummary,
} from '../../types/image.js';
import { isDigestRef, isTagRef } from './references.js';
import type { StoredImage } from './store.js';

/** Familiar tag and digest references of an image, each sorted as Docker's reference store lists them. */
export function repoReferences(image: StoredImage): { tags: string[]; digests: string[] } {
  const tags: string[] = [];
  const digests: string[] = [];
  for (const record of image.records.values()) {
    if (!record.ref) continue;
    if (isTagRef(record.ref)) tags.push(familiarString(record.ref));
    else if (isDigestRef(record.ref)) digests.push(familiarString(record.ref));
  }
  return { tags: tags.sort(), digests: digests.sort() };
}

/** Go's RFC3339Nano rendering of a timestamp string (trailing fraction zeros dropped). */
export function rfc3339Nano(text: string | undefined): string {
  if (!text) return '0001-01-01T00:00:00Z';
  return text.replace(/\.(\d*?)0+(?=Z|[+-]\d\d:?\d\d$)/, (_m, digits: string) =>
    digits ? `.${digits}` : '',
  );
}

/** Seconds since the epoch of the image's creation (0 when unknown, as Go's zero time is refused). */
export function createdSeconds(config: ImageConfigFile): number {
  const ms = config.created ? Date.parse(config.created) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** The image config's `config` as Docker's container.Config, every always-present field filled in. */
export function containerConfigOf(config: ImageConfigFile): ContainerConfig {
  const c = config.config ?? {};
  const out: ContainerConfig = {
    Hostname: '',
    Domainname: '',
    User: c.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
  };
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) out.ExposedPorts = c.ExposedPorts;
  Object.assign(out, {
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
  });
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck;
  if (c.ArgsEscaped) out.ArgsEscaped = true;
  Object.assign(out, {
    Image: '',
    Volumes: c.Volumes && Object.keys(c.Volumes).length > 0 ? c.Volumes : null,
    WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: c.OnBuild ?? null,
    Labels: c.Labels ?? null,
  });
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.Shell && c.Shell.length > 0) out.Shell = c.Shell;
  return out;
}

/** The Comment of an image: the config's, else the last history entry's (moby). */
function commentOf(config: ImageConfigFile): string {
  const own = (config as { comment?: string }).comment;
  if (own) return own;
  return config.history?.[config.history.length - 1]?.comment ?? '';
}

export function summaryOf(image: StoredImage, size: number): ImageSummary {
  const { tags, digests } = repoReferences(image);
  return {
    Id: image.id,
    ParentId: '',
    RepoTags: tags,
    RepoDigests: digests,
    Created: createdSeconds(image.config),
    Size: size,
    SharedSize: -1,
    Labels: image.config.config?.Labels ?? {},
    Containers: -1,
  };
}

export function inspectOf(image: StoredImage, size: number): ImageInspect {
  const { tags, digests } = repoReferences(image);
  const config = image.config;
  const legacy = config as ImageConfigFile & { container?: string; container_config?: ContainerConfig };
  const inspect: ImageInspect = {
    Id: image.id,
    RepoTags: tags,
    RepoDigests: digests,
    Parent: '',
    Comment: commentOf(config),
    Created: rfc3339Nano(config.created),
    Container: legacy.container ?? '',
    ContainerConfig: legacy.container_config ?? containerConfigOf({ ...config, config: {} }),
    DockerVersion: config.docker_version ?? '',
    Author: config.author ?? '',
    Config: containerConfigOf(config),
    Architecture: config.architecture ?? '',
    Os: config.os ?? '',
    Size: size,
    GraphDriver: { Name: 'overlayfs', Data: null },
    RootFS: { Type: config.rootfs?.type ?? 'layers', Layers: [...image.diffIds] },
    Metadata: image.lastTagTime
      ? { LastTagTime: image.lastTagTime.toISOString() }
      : { LastTagTime: '0001-01-01T00:00:00Z' },
  };
  if (config.variant) inspect.Variant = config.variant;
  if (config['os.version']) inspect.OsVersion = config['os.version'];
  return inspect;
}

/**
 * History newest first: one entry per config history item, empty layers
 * with size 0, the top one carrying the image ID and tags (moby's walk
 * without local parents).
 */
export function historyOf(image: StoredImage, layerSizes: number[]): HistoryItem[] {
  const entries: ImageHistoryEntry[] = image.config.history?.length
    ? image.config.history
    : image.diffIds.map(() => ({ created: image.config.created }));
  const items: HistoryItem[] = [];
  let layer = 0;
  for (const entry of entries) {
    let size = 0;
    if (!entry.empty_layer) size = layerSizes[layer++] ?? 0;
    const ms = entry.created ? Date.parse(entry.created) : NaN;
    items.unshift({
      Id: '<missing>',
      Created: Number.isNaN(ms) ? 0 : Math.floor(ms / 1000),
      CreatedBy: entry.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: entry.comment ?? '',
    });
  }
  if (items.length > 0) {
    items[0].Id = image.id;
    const { tags } = repoReferences(image);
    items[0].Tags = tags.length > 0 ? tags : null;
  }
  return items;
}
