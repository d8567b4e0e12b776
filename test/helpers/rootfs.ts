/**
 * The host's static busybox, for tests that lay out a root filesystem on disk
 * themselves (the busybox image layer is oci-image.ts's busyboxLayer).
 */
import { execFileSync } from 'node:child_process';

export const BUSYBOX_PATH = '/bin/busybox';

/** The applet names the host's busybox provides (sh, echo, cat, ls, sleep, ...). */
export function busyboxApplets(): string[] {
  const names = execFileSync(BUSYBOX_PATH, ['--list'], { encoding: 'utf8' }).split('\n');
  return names.filter((name) => name && name !== 'busybox' && !name.includes('/')).sort();
}
