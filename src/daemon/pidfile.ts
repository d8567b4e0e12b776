import { promises as fs } from 'node:fs';
import path from 'node:path';
import { conflict } from '../common/errors.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims the pidfile, refusing when it names another live process. */
export async function acquirePidfile(file: string): Promise<void> {
  try {
    const pid = Number((await fs.readFile(file, 'utf8')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw conflict(`pid file found, ensure berthd is not running or delete ${file}`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `${process.pid}`);
}

export async function releasePidfile(file: string): Promise<void> {
  try {
    const pid = Number((await fs.readFile(file, 'utf8')).trim());
    if (pid === process.pid) await fs.rm(file, { force: true });
  } catch {
    // Already gone: nothing to release.
  }
}
