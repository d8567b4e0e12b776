/**
 * A minimal busybox root filesystem as an uncompressed layer tar, built from
 * the host's static /bin/busybox. Entries have fixed mtimes and owners, so the
 * tar (and its digest) is the same on every run with the same busybox.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import tar from 'tar-stream';

export const BUSYBOX_PATH = '/bin/busybox';
const MTIME = new Date('2024-01-01T00:00:00Z');

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';

interface Entry {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  content?: Buffer;
  linkname?: string;
}

/** The applet names the host's busybox provides (sh, echo, cat, ls, sleep, ...). */
export function busyboxApplets(): string[] {
  const names = execFileSync(BUSYBOX_PATH, ['--list'], { encoding: 'utf8' }).split('\n');
  return names.filter((name) => name && name !== 'busybox' && !name.includes('/')).sort();
}

function rootfsEntries(): Entry[] {
  const dir = (name: string, mode = 0o755): Entry => ({ name, type: 'directory', mode });
  return [
    dir('bin/'),
    { name: 'bin/busybox', type: 'file', mode: 0o755, content: readFileSync(BUSYBOX_PATH) },
    ...busyboxApplets().map((applet): Entry => ({
      name: `bin/${applet}`,
      type: 'symlink',
      mode: 0o777,
      linkname: 'busybox',
    })),
    dir('dev/'),
    dir('etc/'),
    { name: 'etc/group', type: 'file', mode: 0o644, content: Buffer.from(GROUP) },
    { name: 'etc/passwd', type: 'file', mode: 0o644, content: Buffer.from(PASSWD) },
    dir('proc/'),
    dir('root/', 0o700),
    dir('sys/'),
    dir('tmp/', 0o1777),
    dir('var/'),
  ];
}

/** The busybox rootfs as an uncompressed tar (media type application/vnd.oci.image.layer.v1.tar). */
export async function buildBusyboxLayerTar(): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer);
  });
  const finished = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const entry of rootfsEntries()) {
    const header = {
      name: entry.name,
      type: entry.type,
      mode: entry.mode,
      mtime: MTIME,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      linkname: entry.linkname,
    };
    await new Promise<void>((resolve, reject) =>
      pack.entry(header, entry.content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await finished;
  return Buffer.concat(chunks);
}
