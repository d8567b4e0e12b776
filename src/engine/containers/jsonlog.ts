/**
 * The json-file log as the container code names it; the drivers live in
 * src/logs (json-file, local, none).
 */
import { promises as fs } from 'node:fs';

export { JsonFileWriter, readJsonLog } from '../../logs/index.js';
export type { LogEntry, ReadLogOptions, StdStream } from '../../logs/index.js';

/** Removes the file: used when the container goes. */
export async function removeLog(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}
