/** berth's own version, reported by berthd and the CLI alike. */
export const ENGINE_VERSION = '0.1.0';

/** Docker reports Go's architecture names. */
export function goArch(): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    s390x: 's390x',
    ppc64: 'ppc64le',
  };
  return names[process.arch] ?? process.arch;
}
