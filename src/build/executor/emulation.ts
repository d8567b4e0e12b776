/**
 * RUN steps for another architecture run under qemu-user-static through
 * the kernel's binfmt_misc: a handler registered with the F (fix binary)
 * flag opens the interpreter at registration, so it works inside the
 * container's root filesystem without copying qemu into it. Debian's
 * qemu-user-static ships the handlers; they are enabled here if they are not
 * yet (binfmt_misc mounted, `update-binfmts --enable`).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { notImplemented } from '../../common/errors.js';
import { formatPlatform, hostPlatform, type PlatformSpec } from '../../registry/platform.js';

const execFileAsync = promisify(execFile);
const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

/** OCI architecture to qemu's name for it. */
const QEMU_ARCH: Record<string, string> = {
  arm64: 'aarch64',
  arm: 'arm',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64le: 'mips64el',
  loong64: 'loongarch64',
  amd64: 'x86_64',
  '386': 'i386',
};

/** Architectures this host runs natively (x86-64 runs i386 binaries as they are). */
function native(host: PlatformSpec, arch: string): boolean {
  return arch === host.architecture || (host.architecture === 'amd64' && arch === '386');
}

async function handlerEnabled(qemu: string): Promise<boolean> {
  try {
    const text = await fs.readFile(`${BINFMT_DIR}/qemu-${qemu}`, 'utf8');
    return text.startsWith('enabled') && /^flags: .*F/m.test(text);
  } catch {
    return false;
  }
}

const pending = new Map<string, Promise<void>>();

/** Makes sure binaries of `platform` can run here; a clear error when they cannot. */
export function ensureEmulation(platform: PlatformSpec): Promise<void> {
  const host = hostPlatform();
  if (platform.os !== host.os) {
    return Promise.reject(
      notImplemented(`RUN for ${formatPlatform(platform)} cannot execute on a ${host.os} host`),
    );
  }
  if (native(host, platform.architecture)) return Promise.resolve();
  let check = pending.get(platform.architecture);
  if (!check) {
    check = enable(platform).finally(() => pending.delete(platform.architecture));
    pending.set(platform.architecture, check);
  }
  return check;
}

async function enable(platform: PlatformSpec): Promise<void> {
  const qemu = QEMU_ARCH[platform.architecture];
  const unavailable = (why: string): Error =>
    notImplemented(
      `RUN for ${formatPlatform(platform)} needs emulation on this ${formatPlatform(hostPlatform())} host: ${why} (install qemu-user-static and binfmt-support)`,
    );
  if (!qemu) throw unavailable(`no emulator is known for ${platform.architecture}`);
  if (await handlerEnabled(qemu)) return;
  try {
    await fs.access(`${BINFMT_DIR}/register`);
  } catch {
    await execFileAsync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT_DIR]).catch(() => undefined);
  }
  await execFileAsync('update-binfmts', ['--enable', `qemu-${qemu}`]).catch(() => undefined);
  if (!(await handlerEnabled(qemu))) throw unavailable(`no binfmt_misc handler for qemu-${qemu}`);
}
