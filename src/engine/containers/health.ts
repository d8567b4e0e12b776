/**
 * Healthchecks: the image's HEALTHCHECK or the create config's, run as execs
 * by one timer per container while it runs unpaused (no polling: the timer is
 * armed for the next probe, and container events start and stop it). The
 * result rules are Docker's: a zero exit is healthy and resets the failing
 * streak; failures count once the start period is over, and `Retries` of
 * them in a row make the container unhealthy; the last five results are kept,
 * each output cut at 4 KiB. Status changes are `health_status: <status>`
 * events and are persisted, so after a berthd restart the schedule resumes
 * where it was.
 */
import { errorMessage, invalidParameter } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { goDuration } from '../../cli/format/units.js';
import type { HealthConfig, HealthStatus, HealthcheckResult } from '../../types/container.js';
import type { ContainerEntry } from './entry.js';
import type { ExecResult } from './exec.js';
import { nowRfc3339Nano, type Container } from './record.js';

const MS = 1_000_000;
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_START_INTERVAL_MS = 5_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG_ENTRIES = 5;
const MAX_OUTPUT = 4096;

/** What the monitor needs of the container and exec services. */
export interface HealthHost {
  entryOf(term: string): ContainerEntry;
  saveState(entry: ContainerEntry): Promise<void>;
  publishEvent(c: Container, action: string, extra?: Record<string, string>): void;
  runExec(
    containerId: string,
    config: { Cmd: string[]; User?: string; WorkingDir?: string },
    options: { timeoutMs: number; maxOutput: number },
  ): Promise<ExecResult & { timedOut: boolean }>;
}

/** Durations Docker refuses below 1 ms (zero means the default). */
const MINIMUM_DURATION_NS = 1_000_000;

/** Docker's checks of a create request's healthcheck, with its messages. */
export function validateHealthcheck(config: HealthConfig | undefined): void {
  if (!config) return;
  for (const field of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const value = config[field] ?? 0;
    if (value !== 0 && value < MINIMUM_DURATION_NS)
      throw invalidParameter(`${field} in Healthcheck cannot be less than 1ms`);
  }
  if ((config.Retries ?? 0) < 0) throw invalidParameter('Retries in Healthcheck cannot be negative');
}

/** The probe command of a config, or undefined when there is none (unset, NONE, unknown type). */
export function probeCommand(
  config: HealthConfig | undefined,
  shell: string[] | null | undefined,
): string[] | undefined {
  const test = config?.Test;
  if (!test || test.length === 0) return undefined;
  if (test[0] === 'CMD') return test.length > 1 ? test.slice(1) : undefined;
  if (test[0] === 'CMD-SHELL')
    return [...(shell && shell.length > 0 ? shell : ['/bin/sh', '-c']), ...test.slice(1)];
  return undefined;
}

/** Durations of a config in ms, Docker's defaults for zeros. */
export function probeTimings(config: HealthConfig): {
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
} {
  const ms = (ns: number | undefined, fallback: number): number => (ns ? ns / MS : fallback);
  return {
    intervalMs: ms(config.Interval, DEFAULT_INTERVAL_MS),
    timeoutMs: ms(config.Timeout, DEFAULT_TIMEOUT_MS),
    startPeriodMs: ms(config.StartPeriod, 0),
    startIntervalMs: ms(config.StartInterval, DEFAULT_START_INTERVAL_MS),
    retries: config.Retries && config.Retries > 0 ? config.Retries : DEFAULT_RETRIES,
  };
}

/**
 * Docker's next-probe delay: the interval, but during the start period the
 * start interval while still starting, and never past the period's end.
 */
export function nextProbeDelay(
  timings: ReturnType<typeof probeTimings>,
  sinceStartMs: number,
  status: HealthStatus,
): number {
  if (sinceStartMs >= timings.startPeriodMs) return timings.intervalMs;
  const remaining = timings.startPeriodMs - sinceStartMs;
  if (remaining < timings.intervalMs) return remaining;
  return status === 'starting' ? timings.startIntervalMs : timings.intervalMs;
}

/** Applies one probe result to a Health; returns the new status. */
export function applyResult(
  health: { Status: HealthStatus; FailingStreak: number; Log: HealthcheckResult[] | null },
  result: HealthcheckResult,
  options: { retries: number; withinStartPeriod: boolean },
): HealthStatus {
  health.Log = [...(health.Log ?? []), result].slice(-MAX_LOG_ENTRIES);
  if (result.ExitCode === 0) {
    health.FailingStreak = 0;
    health.Status = 'healthy';
  } else if (!(health.Status === 'starting' && options.withinStartPeriod)) {
    health.FailingStreak++;
    if (health.FailingStreak >= options.retries) health.Status = 'unhealthy';
  }
  return health.Status;
}

/** Output as Docker keeps it: at most 4 KiB, "..." when cut. */
function probeOutput(output: Buffer): string {
  const text = output.subarray(0, MAX_OUTPUT).toString('utf8');
  return output.length > MAX_OUTPUT ? `${text}...` : text;
}

interface Monitor {
  timer?: NodeJS.Timeout;
  probing: boolean;
  /** Bumped when the monitor is stopped: a probe in flight for an older generation is ignored. */
  generation: number;
}

export class HealthMonitor {
  private readonly monitors = new Map<string, Monitor>();

  constructor(private readonly host: HealthHost) {}

  private configOf(
    c: Container,
  ): { command: string[]; timings: ReturnType<typeof probeTimings> } | undefined {
    const command = probeCommand(c.Config.Healthcheck, c.Config.Shell);
    if (!command || !c.Config.Healthcheck) return undefined;
    return { command, timings: probeTimings(c.Config.Healthcheck) };
  }

  /** The container (re)started: health starts over. */
  started(term: string): void {
    const entry = this.lookup(term);
    if (!entry || !this.configOf(entry.c)) return;
    this.stop(entry.id);
    const health = entry.c.State.Health;
    entry.c.State.Health = { Status: 'starting', FailingStreak: 0, Log: health?.Log ?? [] };
    void this.host.saveState(entry).catch(() => undefined);
    this.schedule(entry);
  }

  /**
   * After a berthd restart (or an unpause): probes resume on their schedule,
   * the next one due an interval after the last one ended.
   */
  resume(term: string): void {
    const entry = this.lookup(term);
    if (!entry || !this.configOf(entry.c)) return;
    const state = entry.c.State;
    if (!state.Running || state.Paused || state.Restarting) return;
    state.Health ??= { Status: 'starting', FailingStreak: 0, Log: [] };
    const last = state.Health.Log?.at(-1);
    const due = last ? Date.parse(last.End) : undefined;
    this.schedule(entry, due);
  }

  /** Follows the container events that start and stop monitoring. */
  onContainerEvent(action: string, id: string): void {
    if (action === 'start') this.started(id);
    else if (action === 'unpause') this.resume(id);
    else if (action === 'die' || action === 'pause' || action === 'destroy') this.stop(id);
  }

  /** The container stopped, paused or went: no more probes. */
  stop(id: string): void {
    const monitor = this.monitors.get(id);
    if (!monitor) return;
    clearTimeout(monitor.timer);
    monitor.generation++;
    this.monitors.delete(id);
  }

  private lookup(term: string): ContainerEntry | undefined {
    try {
      return this.host.entryOf(term);
    } catch {
      return undefined;
    }
  }

  /** Arms the timer for the next probe (counted from `lastEnd` when given, else from now). */
  private schedule(entry: ContainerEntry, lastEnd?: number): void {
    const config = this.configOf(entry.c);
    if (!config) return;
    let monitor = this.monitors.get(entry.id);
    if (!monitor) {
      monitor = { probing: false, generation: 0 };
      this.monitors.set(entry.id, monitor);
    }
    const now = Date.now();
    const sinceStart = now - Date.parse(entry.c.State.StartedAt);
    const delay = nextProbeDelay(config.timings, sinceStart, entry.c.State.Health?.Status ?? 'starting');
    const wait = lastEnd === undefined ? delay : Math.max(0, lastEnd + delay - now);
    clearTimeout(monitor.timer);
    const generation = monitor.generation;
    monitor.timer = setTimeout(() => void this.probe(entry, generation), wait);
    monitor.timer.unref();
  }

  private async probe(entry: ContainerEntry, generation: number): Promise<void> {
    const monitor = this.monitors.get(entry.id);
    const config = this.configOf(entry.c);
    if (!monitor || monitor.generation !== generation || !config || monitor.probing) return;
    const c = entry.c;
    if (!c.State.Running || c.State.Paused || c.State.Restarting) return;
    monitor.probing = true;
    const start = nowRfc3339Nano();
    let result: HealthcheckResult;
    try {
      const run = await this.host.runExec(
        c.ID,
        { Cmd: config.command, User: c.Config.User, WorkingDir: c.Config.WorkingDir },
        { timeoutMs: config.timings.timeoutMs, maxOutput: MAX_OUTPUT + 1 },
      );
      const output = probeOutput(run.output);
      result = run.timedOut
        ? {
            Start: start,
            End: nowRfc3339Nano(),
            ExitCode: -1,
            Output: `Health check exceeded timeout (${goDuration(config.timings.timeoutMs * MS)})${output ? `: ${output}` : ''}`,
          }
        : { Start: start, End: nowRfc3339Nano(), ExitCode: run.exitCode, Output: output };
    } catch (err) {
      log.warn('health check failed to run', { container: c.ID, error: errorMessage(err) });
      result = { Start: start, End: nowRfc3339Nano(), ExitCode: -1, Output: errorMessage(err) };
    } finally {
      monitor.probing = false;
    }
    if (monitor.generation !== generation || this.monitors.get(entry.id) !== monitor) return;
    const health = (c.State.Health ??= { Status: 'starting', FailingStreak: 0, Log: [] });
    const before = health.Status;
    const withinStartPeriod =
      Date.parse(start) - Date.parse(c.State.StartedAt) < config.timings.startPeriodMs;
    const after = applyResult(health, result, { retries: config.timings.retries, withinStartPeriod });
    if (after !== before) {
      this.host.publishEvent(c, `health_status: ${after}`);
      void this.host.saveState(entry).catch(() => undefined);
    }
    this.schedule(entry);
  }
}
