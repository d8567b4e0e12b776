/**
 * docker top: the host's `ps` with the caller's arguments, keeping only the
 * rows of the container's processes (by the PID column), as Docker does.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { invalidParameter, systemError } from '../../common/errors.js';
import type { ContainerTopResponse } from '../../types/container.js';

const execFileAsync = promisify(execFile);

/** Parses `ps` output, keeping rows whose PID is one of `pids`. */
export function parsePsOutput(output: string, pids: ReadonlySet<number>): ContainerTopResponse {
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) throw systemError('ps printed nothing');
  const titles = lines[0].trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw systemError(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!pids.has(Number(fields[pidIndex]))) continue;
    // The last column (the command) may contain spaces.
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

export async function runPs(psArgs: string, pids: ReadonlySet<number>): Promise<ContainerTopResponse> {
  const args = (psArgs || '-ef').split(/\s+/).filter(Boolean);
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('ps', args, { maxBuffer: 64 * 1024 * 1024 }));
  } catch (err) {
    throw invalidParameter(`ps: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
  return parsePsOutput(stdout, pids);
}
