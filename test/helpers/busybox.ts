/**
 * Gets a busybox image into a test berthd the way a user would: built
 * locally, pushed to a loopback registry, `docker pull`ed through berthd and
 * tagged `busybox:latest`.
 */
import { buildImage, buildTar, busyboxLayer, pushImage } from './oci-image.js';
import { startRegistry } from './registry.js';
import { docker, type TestDaemon } from './daemon.js';

/** Applets beyond the base layer's, added as a second layer (so the image has two). */
export const EXTRA_APPLETS = [
  'printenv',
  'chmod',
  'ln',
  'cut',
  'tail',
  'tr',
  'awk',
  'find',
  'basename',
  'df',
  'mount',
  'xargs',
  'sort',
  'usleep',
  'timeout',
  'nproc',
  'trap',
];

export const BUSYBOX_IMAGE = 'busybox:latest';

/** Pushes busybox to a fresh loopback registry, pulls and tags it in the daemon, stops the registry. */
export async function seedBusybox(daemon: TestDaemon, tag = BUSYBOX_IMAGE): Promise<void> {
  const registry = await startRegistry();
  try {
    const extra = await buildTar([
      { name: 'bin/', type: 'directory' },
      ...EXTRA_APPLETS.map((applet) => ({
        name: `bin/${applet}`,
        type: 'symlink' as const,
        linkname: 'busybox',
      })),
      { name: 'home/', type: 'directory' },
    ]);
    const image = buildImage({ layers: [await busyboxLayer(), extra], config: { Cmd: ['sh'] } });
    await pushImage(registry.url, 'busybox', 'latest', image);
    const source = `${registry.host}/busybox:latest`;
    const pulled = await docker(daemon, ['pull', '-q', source]);
    if (pulled.code !== 0) throw new Error(`docker pull ${source} failed: ${pulled.stderr}`);
    const tagged = await docker(daemon, ['tag', source, tag]);
    if (tagged.code !== 0) throw new Error(`docker tag failed: ${tagged.stderr}`);
  } finally {
    await registry.stop();
  }
}
