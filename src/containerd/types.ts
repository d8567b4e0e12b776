/** Plain TypeScript shapes of containerd's shared API types, and their wire forms. */

export type Labels = Record<string, string>;

/** An OCI content descriptor. Sizes fit a JS number (< 2^53 bytes). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Labels;
}

export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface WireDescriptor {
  media_type: string;
  digest: string;
  size: string | number;
  annotations: Labels;
}

export interface WireMount {
  type: string;
  source: string;
  target: string;
  options: string[];
}

export interface WirePlatform {
  os: string;
  architecture: string;
  variant: string;
}

export function toWireDescriptor(d: Descriptor): WireDescriptor {
  return { media_type: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations ?? {} };
}

export function fromWireDescriptor(d: WireDescriptor | null | undefined): Descriptor {
  const out: Descriptor = {
    mediaType: d?.media_type ?? '',
    digest: d?.digest ?? '',
    size: Number(d?.size ?? 0),
  };
  if (d && Object.keys(d.annotations ?? {}).length > 0) out.annotations = { ...d.annotations };
  return out;
}

export function toWireMount(m: Mount): WireMount {
  return { type: m.type, source: m.source, target: m.target ?? '', options: m.options };
}

export function fromWireMount(m: WireMount): Mount {
  const out: Mount = { type: m.type, source: m.source, options: [...(m.options ?? [])] };
  if (m.target) out.target = m.target;
  return out;
}

export function fromWirePlatform(p: WirePlatform): Platform {
  const out: Platform = { os: p.os, architecture: p.architecture };
  if (p.variant) out.variant = p.variant;
  return out;
}

/** "labels.<key>" update-mask paths for each key of `labels`. */
export function labelPaths(labels: Labels): string[] {
  return Object.keys(labels).map((key) => `labels.${key}`);
}

/** A FieldMask in proto-loader's wire shape. */
export function fieldMask(paths: string[]): { paths: string[] } {
  return { paths };
}
