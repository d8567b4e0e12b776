/**
 * A container as berthd keeps it: Docker's configuration and state, plus
 * the few facts berth needs to drive containerd. This is what is persisted
 * under <data-root>/containers/<id>/.
 */
import { humanDuration } from '../../cli/format/units.js';
import type { ResolvedUser } from '../../oci/user.js';
import type {
  ContainerConfig,
  ContainerState,
  ContainerStatus,
  Health,
  HostConfig,
} from '../../types/container.js';
import type { MountPointRecord } from './mounts.js';
import type { EndpointsConfig } from './networking.js';

/** Go's zero time, as Docker prints unset timestamps. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface PersistedState {
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  RemovalInProgress: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Containers with a healthcheck: its state (kept by the health monitor). */
  Health?: Health;
}

export interface ContainerRecord {
  ID: string;
  Created: string;
  /** With the leading slash, as Docker stores it. */
  Name: string;
  Path: string;
  Args: string[];
  /** The Config merged with the image's at create time. */
  Config: ContainerConfig;
  /** Image ID (`sha256:...`). */
  Image: string;
  /** The image's top chain ID: the parent of the container's snapshot. */
  ImageChainId: string;
  State: PersistedState;
  RestartCount: number;
  HasBeenStartedBefore: boolean;
  HasBeenManuallyStopped: boolean;
  Driver: string;
  Platform: string;
  LogPath: string;
  HostnamePath: string;
  HostsPath: string;
  ResolvConfPath: string;
  /** The user the process runs as, resolved from the image's /etc/passwd at create time. */
  User: ResolvedUser;
  /**
   * Docker's ShmPath: the host directory a run binds at /dev/shm (its own
   * shareable tmpfs, the host's, or its IPC donor's); unset for private and none.
   */
  ShmPath?: string;
  /** sha256 of the spec last given to containerd, so start skips an unchanged update. */
  SpecDigest?: string;
  /** The networks the container is configured for: network name to requested endpoint settings. */
  EndpointsConfig?: EndpointsConfig;
  /** Volumes, binds and tmpfs mounts, resolved at create. */
  MountPoints?: MountPointRecord[];
}

/** A record with its HostConfig: everything about one container. */
export interface Container extends ContainerRecord {
  HostConfig: HostConfig;
}

export function newState(): PersistedState {
  return {
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    RemovalInProgress: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

/** Docker's State.StateString. */
export function statusOf(state: PersistedState): ContainerStatus {
  if (state.Running) {
    if (state.Paused) return 'paused';
    if (state.Restarting) return 'restarting';
    return 'running';
  }
  if (state.RemovalInProgress) return 'removing';
  if (state.Dead) return 'dead';
  if (state.StartedAt === ZERO_TIME) return 'created';
  return 'exited';
}

/** Docker's State.String: the human STATUS column of `ps`. */
export function statusText(state: PersistedState, now = Date.now(), health?: string): string {
  if (state.Running) {
    if (state.Paused) return `Up ${humanDuration(now - Date.parse(state.StartedAt))} (Paused)`;
    if (state.Restarting) {
      return `Restarting (${state.ExitCode}) ${humanDuration(now - Date.parse(state.FinishedAt))} ago`;
    }
    const up = `Up ${humanDuration(now - Date.parse(state.StartedAt))}`;
    if (!health || health === 'none') return up;
    return `${up} (${health === 'starting' ? 'health: starting' : health})`;
  }
  if (state.RemovalInProgress) return 'Removal In Progress';
  if (state.Dead) return 'Dead';
  if (state.StartedAt === ZERO_TIME) return 'Created';
  if (state.FinishedAt === ZERO_TIME) return '';
  return `Exited (${state.ExitCode}) ${humanDuration(now - Date.parse(state.FinishedAt))} ago`;
}

/** The State object of inspect. */
export function inspectState(state: PersistedState): ContainerState {
  return {
    Status: statusOf(state),
    Running: state.Running,
    Paused: state.Paused,
    Restarting: state.Restarting,
    OOMKilled: state.OOMKilled,
    Dead: state.Dead,
    Pid: state.Pid,
    ExitCode: state.ExitCode,
    Error: state.Error,
    StartedAt: state.StartedAt,
    FinishedAt: state.FinishedAt,
    ...(state.Health ? { Health: state.Health } : {}),
  };
}

let lastNanos = 0n;

/**
 * Now as RFC 3339 with nanoseconds, the way Go prints time.Time in JSON
 * (trailing zeros of the fraction dropped). Strictly increasing within the
 * process, so timestamps order events that happen in the same millisecond.
 */
export function nowRfc3339Nano(): string {
  return rfc3339Nano(nowNanos());
}

/** Now as epoch nanoseconds, strictly increasing within the process. */
export function nowNanos(): bigint {
  let nanos = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  if (nanos <= lastNanos) nanos = lastNanos + 1n;
  lastNanos = nanos;
  return nanos;
}

export function rfc3339Nano(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${fraction ? '.' + fraction : ''}Z`;
}

/** A Date (from containerd) as RFC 3339; Go's zero time when absent. */
export function dateToRfc3339(date: Date | undefined): string {
  if (!date || Number.isNaN(date.getTime())) return ZERO_TIME;
  return rfc3339Nano(BigInt(date.getTime()) * 1_000_000n);
}

/** Epoch nanoseconds of an RFC 3339 timestamp with up to nine fraction digits. */
export function rfc3339ToNanos(text: string): bigint {
  const match = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!match) return BigInt(Date.parse(text)) * 1_000_000n;
  const ms = Date.parse(`${match[1]}${match[3]}`);
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0') || '0');
}
