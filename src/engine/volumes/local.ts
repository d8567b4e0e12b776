/**
 * The `local` volume driver's filesystem side: where a volume lives
 * (`<data-root>/volumes/<name>/_data`), its metadata file, name and option
 * validation, and the mount/unmount of volumes created with mount options
 * (`type`/`device`/`o`, e.g. tmpfs or a bind of a host directory).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { invalidParameter, systemError } from '../../common/errors.js';

const run = promisify(execFile);

export const LOCAL_DRIVER = 'local';
export const DATA_DIR_NAME = '_data';
export const METADATA_FILE = 'volume.json';
/** Label Docker puts on volumes created without a name. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const VALID_OPTIONS = ['type', 'o', 'device', 'size'];
/** An option that needs others beside it (the local driver's mandatory options). */
const REQUIRED_WITH: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };

/** What berth stores for each volume. */
export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string> | null;
  options: Record<string, string> | null;
  /** Nanoseconds since the epoch, as a decimal string. */
  createdAtNs: string;
}

export function generateVolumeName(): string {
  return randomBytes(32).toString('hex');
}

/** The local driver's name check, with Docker's messages. */
export function validateVolumeName(name: string): void {
  if (name.length === 1) {
    throw invalidParameter('volume name is too short, names should be at least two alphanumeric characters');
  }
  if (!NAME_PATTERN.test(name)) {
    throw invalidParameter(
      `${JSON.stringify(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

/** The local driver's option check, with Docker's messages. */
export function validateVolumeOptions(options: Record<string, string> | null | undefined): void {
  if (!options) return;
  for (const key of Object.keys(options)) {
    if (!VALID_OPTIONS.includes(key)) throw invalidParameter(`invalid option: ${JSON.stringify(key)}`);
  }
  if ('size' in options) throw invalidParameter('quota size requested but no quota support');
  for (const [key, required] of Object.entries(REQUIRED_WITH)) {
    if (!(key in options)) continue;
    for (const other of required) {
      if (!(other in options)) throw invalidParameter(`missing required option: ${JSON.stringify(other)}`);
    }
  }
}

/** Whether the volume's data directory is a mount of its own (tmpfs, a bind of a host directory...). */
export function needsMount(record: VolumeRecord): boolean {
  return Boolean(record.options?.type || record.options?.device);
}

export class LocalDriver {
  constructor(readonly root: string) {}

  volumeDir(name: string): string {
    return path.join(this.root, name);
  }

  dataPath(name: string): string {
    return path.join(this.root, name, DATA_DIR_NAME);
  }

  metadataPath(name: string): string {
    return path.join(this.root, name, METADATA_FILE);
  }

  async mount(record: VolumeRecord): Promise<void> {
    const target = this.dataPath(record.name);
    if (await isMountPoint(target)) return;
    const options = record.options ?? {};
    const args = ['-t', options.type ?? 'none'];
    if (options.o) args.push('-o', options.o);
    args.push(options.device ?? '', target);
    try {
      await run('mount', args);
    } catch (err) {
      const detail = String((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
      throw systemError(
        `error while mounting volume '${target}': failed to mount local volume: ${hidePassword(detail, options.o)}`,
      );
    }
  }

  async unmount(record: VolumeRecord): Promise<void> {
    const target = this.dataPath(record.name);
    if (!(await isMountPoint(target))) return;
    try {
      await run('umount', [target]);
    } catch (err) {
      if (await isMountPoint(target)) {
        throw systemError(
          `error while unmounting volume '${target}': ${String((err as { stderr?: string }).stderr ?? err).trim()}`,
        );
      }
    }
  }
}

function hidePassword(text: string, mountOptions: string | undefined): string {
  const password = /(?:^|,)password=([^,]*)/.exec(mountOptions ?? '')?.[1];
  return password ? text.split(`password=${password}`).join('password=********') : text;
}

/** Mount points in this process's namespace, unescaped from /proc/self/mountinfo. */
export async function mountPoints(): Promise<string[]> {
  const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) =>
      line
        .split(' ')[4]
        .replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))),
    );
}

export async function isMountPoint(dir: string): Promise<boolean> {
  return (await mountPoints()).includes(dir);
}

/** Mount points at or below `dir`. */
export async function mountsUnder(dir: string): Promise<string[]> {
  return (await mountPoints()).filter((m) => m === dir || m.startsWith(dir + '/'));
}
