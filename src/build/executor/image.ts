/**
 * The image a build step starts from and produces: its config file (runtime
 * config, rootfs, history) and layer descriptors. Every step yields a new
 * one, as Docker's classic builder commits an image per step; its ID is the
 * digest of the config exactly as it would be stored, so the ID printed
 * after a step is the ID the final image gets.
 */
import { chainIds } from '../../containerd/unpack.js';
import type { Descriptor } from '../../containerd/types.js';
import { ociImage } from '../../engine/images/content.js';
import { DEFAULT_PATH_ENV } from '../../oci/command.js';
import type { PlatformSpec } from '../../registry/platform.js';
import type { HealthConfig } from '../../types/container.js';
import type { ImageConfigFile, ImageHistoryEntry } from '../../types/image.js';

/** sha256 of an empty tar (two zero blocks): a step that changed no file. */
export const EMPTY_LAYER_DIGEST = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

/** Docker's container.Config as the classic builder commits it into an image. */
export interface RunConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean;
  Image: string;
  Volumes: Record<string, Record<string, never>> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string> | null;
  StopSignal?: string;
  Shell?: string[];
}

export interface BuildImage {
  /** The config digest; '' for `scratch` before its first step. */
  id: string;
  config: ImageConfigFile;
  /** One descriptor per rootfs.diff_ids entry. */
  layers: Descriptor[];
}

/** The committed snapshot holding the image's filesystem ('' for none). */
export function topChainId(image: BuildImage): string {
  const ids = chainIds(image.config.rootfs.diff_ids);
  return ids[ids.length - 1] ?? '';
}

export function scratchImage(platform: PlatformSpec): BuildImage {
  const config: ImageConfigFile = {
    architecture: platform.architecture,
    os: platform.os,
    rootfs: { type: 'layers', diff_ids: [] },
  };
  if (platform.variant) config.variant = platform.variant;
  return { id: '', config, layers: [] };
}

/** A copy of the image's runtime config in Docker's committed shape, with the default PATH (beginStage). */
export function initialRunConfig(image: BuildImage): RunConfig {
  const source = (image.config.config ?? {}) as Partial<RunConfig>;
  const env = [...(source.Env ?? [])];
  if (!env.some((entry) => entry.split('=', 1)[0] === 'PATH')) env.push(DEFAULT_PATH_ENV);
  const config: RunConfig = {
    Hostname: source.Hostname ?? '',
    Domainname: source.Domainname ?? '',
    User: source.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: env,
    Cmd: source.Cmd ? [...source.Cmd] : null,
    Image: image.id,
    Volumes: source.Volumes ? { ...source.Volumes } : null,
    WorkingDir: source.WorkingDir ?? '',
    Entrypoint: source.Entrypoint ? [...source.Entrypoint] : null,
    OnBuild: source.OnBuild ? [...source.OnBuild] : null,
    Labels: source.Labels ? { ...source.Labels } : null,
  };
  if (source.ExposedPorts && Object.keys(source.ExposedPorts).length > 0)
    config.ExposedPorts = { ...source.ExposedPorts };
  if (source.Healthcheck) config.Healthcheck = structuredClone(source.Healthcheck);
  if (source.ArgsEscaped) config.ArgsEscaped = true;
  if (source.StopSignal) config.StopSignal = source.StopSignal;
  if (source.Shell && source.Shell.length > 0) config.Shell = [...source.Shell];
  return config;
}

/** A deep copy, with the fields in Docker's order (so configs serialise identically). */
export function copyRunConfig(config: RunConfig): RunConfig {
  const copy: RunConfig = {
    Hostname: config.Hostname,
    Domainname: config.Domainname,
    User: config.User,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: config.Env ? [...config.Env] : null,
    Cmd: config.Cmd ? [...config.Cmd] : null,
    Image: config.Image,
    Volumes: config.Volumes ? { ...config.Volumes } : null,
    WorkingDir: config.WorkingDir,
    Entrypoint: config.Entrypoint ? [...config.Entrypoint] : null,
    OnBuild: config.OnBuild ? [...config.OnBuild] : null,
    Labels: config.Labels ? { ...config.Labels } : null,
  };
  if (config.ExposedPorts && Object.keys(config.ExposedPorts).length > 0)
    copy.ExposedPorts = sortedKeys(config.ExposedPorts);
  if (config.Healthcheck) copy.Healthcheck = structuredClone(config.Healthcheck);
  if (config.ArgsEscaped) copy.ArgsEscaped = true;
  if (config.StopSignal) copy.StopSignal = config.StopSignal;
  if (config.Shell && config.Shell.length > 0) copy.Shell = [...config.Shell];
  return ordered(copy);
}

/** Go marshals maps with sorted keys; so must we, for stable IDs and cache keys. */
function sortedKeys<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const FIELD_ORDER: (keyof RunConfig)[] = [
  'Hostname',
  'Domainname',
  'User',
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'ExposedPorts',
  'Tty',
  'OpenStdin',
  'StdinOnce',
  'Env',
  'Cmd',
  'Healthcheck',
  'ArgsEscaped',
  'Image',
  'Volumes',
  'WorkingDir',
  'Entrypoint',
  'OnBuild',
  'Labels',
  'StopSignal',
  'Shell',
];

function ordered(config: RunConfig): RunConfig {
  const out: Record<string, unknown> = {};
  for (const key of FIELD_ORDER) {
    const value = config[key];
    if (value === undefined) continue;
    if ((key === 'Volumes' || key === 'Labels') && value !== null) {
      out[key] = sortedKeys(value as Record<string, unknown>);
    } else out[key] = value;
  }
  return out as unknown as RunConfig;
}

export interface ChildImageInput {
  parent: BuildImage;
  runConfig: RunConfig;
  createdBy: string;
  author?: string;
  /** The new layer; undefined for a step that only changed the config (or changed no file). */
  layer?: Descriptor;
  /** The layer's uncompressed digest when it is compressed (default: its digest). */
  diffId?: string;
  created?: string;
}

/** image.NewChildImage: the parent's rootfs and history extended by one step. */
export function childImage(input: ChildImageInput): BuildImage {
  const { parent, layer } = input;
  const created = input.created ?? new Date().toISOString();
  const history: ImageHistoryEntry = { created, created_by: input.createdBy };
  if (input.author) history.author = input.author;
  if (!layer) history.empty_layer = true;
  const config: Record<string, unknown> = {
    architecture: parent.config.architecture,
    config: copyRunConfig(input.runConfig),
    created,
    history: [...(parent.config.history ?? []), history],
    os: parent.config.os,
    rootfs: {
      type: 'layers',
      diff_ids: layer
        ? [...parent.config.rootfs.diff_ids, input.diffId ?? layer.digest]
        : [...parent.config.rootfs.diff_ids],
    },
  };
  if (input.author) config.author = input.author;
  if (parent.config.variant) config.variant = parent.config.variant;
  if (parent.config['os.version']) config['os.version'] = parent.config['os.version'];
  if (parent.config['os.features']) config['os.features'] = parent.config['os.features'];
  return withId(config as unknown as ImageConfigFile, layer ? [...parent.layers, layer] : [...parent.layers]);
}

/** Computes the ID the image will have once stored (the digest of its serialised config). */
export function withId(config: ImageConfigFile, layers: Descriptor[]): BuildImage {
  const id = ociImage(config, layers).configDescriptor.digest;
  return { id, config, layers };
}
