/** Signal names and numbers as Docker accepts them (`KILL`, `SIGKILL`, `9`, `RTMIN+3`). */
import os from 'node:os';
import { invalidParameter } from '../../common/errors.js';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

export const SIGKILL = 9;
export const SIGTERM = 15;

/** Docker's signal.ParseSignal: a number, or a name with or without SIG, any case. */
export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const number = Number(raw);
    if (number === 0 || number > SIGRTMAX) throw invalidParameter(`Invalid signal: ${raw}`);
    return number;
  }
  const name = raw.toUpperCase().replace(/^SIG/, '');
  const rt = /^RTM(IN|AX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const number = (rt[1] === 'IN' ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    if (number >= SIGRTMIN && number <= SIGRTMAX) return number;
  }
  const number = (os.constants.signals as Record<string, number>)[`SIG${name}`];
  if (number === undefined) throw invalidParameter(`Invalid signal: ${raw}`);
  return number;
}

/** The container's stop signal: its StopSignal, else SIGTERM. */
export function stopSignalOf(stopSignal: string | undefined): number {
  if (!stopSignal) return SIGTERM;
  try {
    return parseSignal(stopSignal);
  } catch {
    return SIGTERM;
  }
}
