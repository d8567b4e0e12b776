/**
 * Docker's restart policies: whether an exited container is started again
 * and after how long (100 ms doubling up to a minute, back to 100 ms after a
 * run of 10 s or more).
 */
import type { RestartPolicy } from '../../types/container.js';
import type { ContainerEntry } from './entry.js';
import type { Container } from './record.js';

export const INITIAL_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 60_000;
/** A run at least this long resets the backoff. */
export const STABLE_RUN_MS = 10_000;

export interface RestartInput {
  policy: RestartPolicy | undefined;
  exitCode: number;
  /** Stopped or killed by a user (or the daemon shutting down). */
  manuallyStopped: boolean;
  /** A stop or kill canceled restarts until the next manual start. */
  canceled: boolean;
  restartCount: number;
  runMs: number;
  previousBackoffMs: number;
}

export interface RestartDecision {
  restart: boolean;
  /** Delay before the restart, and the backoff state to keep. */
  backoffMs: number;
}

function nextBackoff(previousMs: number, runMs: number): number {
  const previous = runMs >= STABLE_RUN_MS ? 0 : previousMs;
  if (previous === 0) return INITIAL_BACKOFF_MS;
  return Math.min(previous * 2, MAX_BACKOFF_MS);
}

export function decideRestart(input: RestartInput): RestartDecision {
  const name = input.policy?.Name || 'no';
  if (name === 'no' || input.canceled) return { restart: false, backoffMs: input.previousBackoffMs };
  const backoffMs = nextBackoff(input.previousBackoffMs, input.runMs);
  let restart = false;
  if (name === 'always') restart = true;
  else if (name === 'unless-stopped') restart = !input.manuallyStopped;
  else if (name === 'on-failure') {
    const max = input.policy?.MaximumRetryCount ?? 0;
    restart = input.exitCode !== 0 && (max === 0 || input.restartCount < max);
  }
  return { restart, backoffMs };
}

/** Whether a stopped container is started when berthd starts (Docker's ShouldRestart at boot). */
export function restartOnBoot(container: Container, runMs: number): boolean {
  return decideRestart({
    policy: container.HostConfig.RestartPolicy,
    exitCode: container.State.ExitCode,
    manuallyStopped: container.HasBeenManuallyStopped,
    canceled: false,
    restartCount: container.RestartCount,
    runMs,
    previousBackoffMs: 0,
  }).restart;
}

/** Stops any pending restart: a restarting container becomes stopped. */
export function cancelRestart(entry: ContainerEntry): boolean {
  if (!entry.cancelPendingRestart) return false;
  entry.cancelPendingRestart();
  entry.c.State.Restarting = false;
  entry.c.State.Running = false;
  return true;
}
