/**
 * Platform matching for multi-platform images, with containerd's
 * normalisation (aarch64 = arm64, arm64 means arm64/v8, arm means arm/v7)
 * and its fallback from newer to older ARM variants.
 */
import { invalidParameter, notFound } from '../common/errors.js';
import type { Descriptor, ImageIndex, Platform } from './media-types.js';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export const DEFAULT_PLATFORM: PlatformSpec = { os: 'linux', architecture: 'amd64' };

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
};

/** Lower-cases and canonicalises a platform the way containerd's platforms.Normalize does. */
export function normalizePlatform(platform: PlatformSpec): PlatformSpec {
  const os = platform.os.toLowerCase() === 'macos' ? 'darwin' : platform.os.toLowerCase();
  let architecture = platform.architecture.toLowerCase();
  let variant = platform.variant?.toLowerCase() || undefined;
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    variant = variant ?? alias.variant;
  }
  if (architecture === 'arm64') {
    if (variant === '8' || variant === 'v8') variant = undefined;
  } else if (architecture === 'arm') {
    if (variant === undefined || variant === '7') variant = 'v7';
    else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
  } else if (architecture === 'amd64' && variant === 'v1') {
    variant = undefined;
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** "linux/arm64", "linux/arm/v7": containerd's platforms.Format. */
export function formatPlatform(platform: PlatformSpec): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** Parses "linux", "linux/arm64", "linux/arm/v7" (the --platform flag). */
export function parsePlatform(spec: string): PlatformSpec {
  const parts = spec.trim().split('/');
  if (parts.length > 3 || parts.some((p) => p === '' || !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw invalidParameter(`"${spec}": unknown operating system or architecture: invalid argument`);
  }
  const [os, architecture, variant] = parts;
  return normalizePlatform({ os, architecture: architecture ?? DEFAULT_PLATFORM.architecture, variant });
}

/** Ranks how well `candidate` serves `wanted`: 0 = exact; higher = older compatible variant; undefined = no. */
function matchRank(wanted: PlatformSpec, candidate: PlatformSpec): number | undefined {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return undefined;
  if (w.variant === c.variant) return 0;
  const wantedLevel = variantLevel(w);
  const candidateLevel = variantLevel(c);
  // An arm/v7 machine runs v6 and v5 code, an amd64/v3 machine runs v2 code.
  if (wantedLevel !== undefined && candidateLevel !== undefined && candidateLevel < wantedLevel) {
    return 1 + (wantedLevel - candidateLevel);
  }
  return undefined;
}

function variantLevel(platform: PlatformSpec): number | undefined {
  if (platform.architecture === 'arm64') return platform.variant === undefined ? 8 : undefined;
  if (platform.architecture === 'amd64' && platform.variant === undefined) return 1;
  const match = /^v(\d+)$/.exec(platform.variant ?? '');
  return match ? Number(match[1]) : undefined;
}

export function platformMatches(wanted: PlatformSpec, candidate: PlatformSpec): boolean {
  return matchRank(wanted, candidate) !== undefined;
}

/**
 * Picks the manifest for `wanted` from an index: the exact platform if
 * listed, else the closest older compatible variant, first listed on ties.
 * Throws Docker's NotFound error when nothing fits.
 */
export function selectPlatform(index: ImageIndex, wanted: PlatformSpec = DEFAULT_PLATFORM): Descriptor {
  let best: { descriptor: Descriptor; rank: number } | undefined;
  for (const descriptor of index.manifests) {
    const platform: Platform | undefined = descriptor.platform;
    if (platform === undefined) continue;
    const rank = matchRank(wanted, platform);
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { descriptor, rank };
  }
  if (best === undefined) {
    throw notFound(
      `no matching manifest for ${formatPlatform(normalizeForMessage(wanted))} in the manifest list entries`,
    );
  }
  return best.descriptor;
}

function normalizeForMessage(wanted: PlatformSpec): PlatformSpec {
  // Docker prints what was asked for, with only the spelling normalised.
  const normalized = normalizePlatform(wanted);
  return wanted.variant ? normalized : { os: normalized.os, architecture: normalized.architecture };
}

/** The platform of this machine in OCI terms. */
export function hostPlatform(): PlatformSpec {
  const arch: Record<string, PlatformSpec['architecture']> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return normalizePlatform({ os: process.platform, architecture: arch[process.arch] ?? process.arch });
}
