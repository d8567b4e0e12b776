/**
 * Builds OCI images in memory for tests: deterministic tars (fixed mtimes),
 * gzip'd layers, config and manifest documents with their digests, indexes
 * for multi-platform images, a busybox root filesystem from the host's
 * busybox-static, and a push of all of it through RegistryClient.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { RegistryCredentials } from '../../src/registry/auth.js';
import { RegistryClient, type UploadMode } from '../../src/registry/client.js';
import {
  MediaType,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type ImageRuntimeConfig,
} from '../../src/registry/media-types.js';
import type { PlatformSpec } from '../../src/registry/platform.js';

export const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');

export interface TarEntry {
  name: string;
  content?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
}

export interface BuiltLayer {
  /** The uncompressed tar. */
  tar: Buffer;
  gz: Buffer;
  /** Digest of the compressed blob, as the manifest lists it. */
  digest: string;
  /** Digest of the uncompressed tar, as the config's rootfs lists it. */
  diffId: string;
  /** Size of the compressed blob. */
  size: number;
  mediaType: string;
  descriptor: Descriptor;
}

export interface BuiltImage {
  config: ImageConfig;
  configBytes: Buffer;
  configDigest: string;
  configDescriptor: Descriptor;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  manifestDigest: string;
  /** The manifest's descriptor, with its platform, as an index would list it. */
  manifestDescriptor: Descriptor;
  layers: BuiltLayer[];
  platform: PlatformSpec;
}

export interface BuiltIndex {
  index: ImageIndex;
  indexBytes: Buffer;
  indexDigest: string;
  descriptor: Descriptor;
  images: BuiltImage[];
}

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** A tar of the entries, in order, with fixed mtimes and owners so equal input gives equal digests. */
export async function buildTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const entry of entries) {
    const type =
      entry.type ??
      (entry.linkname !== undefined ? 'symlink' : entry.content === undefined ? 'directory' : 'file');
    const content = typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content;
    const header: Partial<tar.Header> & { name: string } = {
      name: entry.name,
      type,
      mode: entry.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      mtime: FIXED_MTIME,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      uname: '',
      gname: '',
    };
    if (entry.linkname !== undefined) header.linkname = entry.linkname;
    await new Promise<void>((resolve, reject) => {
      const callback = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === 'file')
        pack.entry({ ...header, size: content?.length ?? 0 }, content ?? Buffer.alloc(0), callback);
      else pack.entry(header, callback);
    });
  }
  pack.finalize();
  return collected;
}

export const BUSYBOX_APPLETS = [
  'sh',
  'echo',
  'cat',
  'ls',
  'sleep',
  'true',
  'false',
  'id',
  'env',
  'hostname',
  'wc',
  'head',
  'seq',
  'md5sum',
  'sha256sum',
  'nc',
  'httpd',
  'wget',
  'ps',
  'kill',
  'mkdir',
  'rm',
  'touch',
  'stat',
  'stty',
  'uname',
  'whoami',
  'grep',
  'sed',
  'dd',
  'yes',
  'top',
];

let busyboxTar: Promise<Buffer> | undefined;

/**
 * A root filesystem layer: the host's static busybox with applet symlinks in
 * /bin, /etc/passwd and /etc/group (root, nobody), and the usual empty dirs.
 */
export function busyboxLayer(): Promise<Buffer> {
  busyboxTar ??= buildTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    ...BUSYBOX_APPLETS.map((applet) => ({ name: `bin/${applet}`, linkname: 'busybox' })),
    { name: 'dev/', type: 'directory' },
    { name: 'etc/', type: 'directory' },
    {
      name: 'etc/passwd',
      content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    },
    { name: 'etc/group', content: 'root:x:0:\nnobody:x:65534:\n' },
    { name: 'proc/', type: 'directory' },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'sys/', type: 'directory' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'var/', type: 'directory' },
  ]);
  return busyboxTar;
}

function buildLayer(tarBytes: Buffer, mediaType: string): BuiltLayer {
  const gz = gzipSync(tarBytes);
  const digest = sha256(gz);
  return {
    tar: tarBytes,
    gz,
    digest,
    diffId: sha256(tarBytes),
    size: gz.length,
    mediaType,
    descriptor: { mediaType, digest, size: gz.length },
  };
}

export interface BuildImageOptions {
  /** Uncompressed layer tars, lowest first. */
  layers: Buffer[];
  /** Fields of the config's `config` section (Cmd, Env, Entrypoint...). */
  config?: ImageRuntimeConfig;
  platform?: PlatformSpec;
  created?: string;
  /** OCI media types (default) or Docker's schema 2 ones. */
  format?: 'oci' | 'docker';
  annotations?: Record<string, string>;
}

export function buildImage(options: BuildImageOptions): BuiltImage {
  const docker = options.format === 'docker';
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers = options.layers.map((t) =>
    buildLayer(t, docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip),
  );
  const created = options.created ?? FIXED_MTIME.toISOString();
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
      ...options.config,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created, created_by: 'berth test image' })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor: Descriptor = {
    mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig,
    digest: sha256(configBytes),
    size: configBytes.length,
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
    config: configDescriptor,
    layers: layers.map((l) => l.descriptor),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = sha256(manifestBytes);
  return {
    config,
    configBytes,
    configDigest: configDescriptor.digest,
    configDescriptor,
    manifest,
    manifestBytes,
    manifestDigest,
    manifestDescriptor: {
      mediaType: manifest.mediaType ?? MediaType.ociManifest,
      digest: manifestDigest,
      size: manifestBytes.length,
      platform: { ...platform },
    },
    layers,
    platform,
  };
}

/** An index (OCI) or manifest list (Docker) of images for several platforms. */
export function buildIndex(images: BuiltImage[], format: 'oci' | 'docker' = 'oci'): BuiltIndex {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex,
    manifests: images.map((image) => image.manifestDescriptor),
  };
  const indexBytes = Buffer.from(JSON.stringify(index));
  const indexDigest = sha256(indexBytes);
  return {
    index,
    indexBytes,
    indexDigest,
    descriptor: {
      mediaType: index.mediaType ?? MediaType.ociIndex,
      digest: indexDigest,
      size: indexBytes.length,
    },
    images,
  };
}

export interface PushOptions {
  credentials?: RegistryCredentials;
  client?: RegistryClient;
  mode?: UploadMode;
  chunkSize?: number;
  mountFrom?: string;
}

/** The registry host[:port] of a URL like http://127.0.0.1:5000. */
function registryDomain(registryUrl: string): string {
  return new URL(registryUrl.includes('://') ? registryUrl : `http://${registryUrl}`).host;
}

/**
 * Pushes an image or index (blobs, then manifests) to repo:tag with
 * RegistryClient. Loopback registries are insecure, so plain HTTP works.
 */
export async function pushImage(
  registryUrl: string,
  repo: string,
  tag: string,
  image: BuiltImage | BuiltIndex,
  options: PushOptions = {},
): Promise<void> {
  const client = options.client ?? new RegistryClient();
  const target = { domain: registryDomain(registryUrl), path: repo };
  const call = { credentials: options.credentials };
  try {
    const images = 'images' in image ? image.images : [image];
    for (const one of images) {
      const blobs = [
        ...one.layers.map((l) => ({ digest: l.digest, data: l.gz })),
        { digest: one.configDigest, data: one.configBytes },
      ];
      for (const blob of blobs) {
        await client.uploadBlob(target, blob.digest, blob.data.length, () => Readable.from([blob.data]), {
          ...call,
          mode: options.mode,
          chunkSize: options.chunkSize,
          mountFrom: options.mountFrom,
        });
      }
      const manifestTarget = 'images' in image ? one.manifestDigest : tag;
      await client.putManifest(
        target,
        manifestTarget,
        one.manifestDescriptor.mediaType,
        one.manifestBytes,
        call,
      );
    }
    if ('images' in image)
      await client.putManifest(target, tag, image.descriptor.mediaType, image.indexBytes, call);
  } finally {
    if (options.client === undefined) client.close();
  }
}
