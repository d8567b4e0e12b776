/**
 * How a container's request is merged with its image's configuration, and the
 * process environment derived from it, by Docker's rules.
 */
import { invalidParameter } from '../common/errors.js';
import type { ContainerConfig, HealthConfig } from '../types/container.js';
import type { ImageConfig } from '../types/image.js';

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface MergedCommand {
  /** As Docker stores it: null when neither side sets one or `[""]` cleared it. */
  Entrypoint: string[] | null;
  Cmd: string[] | null;
  /** Entrypoint followed by Cmd: what the container executes (Path is args[0]). */
  args: string[];
}

const isEmpty = (list: readonly string[] | null | undefined): boolean => !list || list.length === 0;

/**
 * Docker's Entrypoint/Cmd rules:
 * - an Entrypoint in the request replaces the image's and drops the image's Cmd;
 * - without one, the request's Cmd (if any) replaces the image's Cmd and the
 *   image's Entrypoint stays;
 * - `Entrypoint: [""]` clears the image's Entrypoint and its Cmd;
 * - `Entrypoint: []` (set but empty) keeps neither the image's Entrypoint nor
 *   drops the image's Cmd.
 * Nothing to run at all is an InvalidParameter error ("No command specified").
 */
export function mergeCommand(imageConfig: ImageConfig | undefined, config: ContainerConfig): MergedCommand {
  let entrypoint = config.Entrypoint ?? null;
  let cmd = config.Cmd ?? null;
  if (isEmpty(entrypoint)) {
    if (isEmpty(cmd)) cmd = imageConfig?.Cmd ?? cmd;
    if (config.Entrypoint === undefined || config.Entrypoint === null)
      entrypoint = imageConfig?.Entrypoint ?? null;
  }
  if (entrypoint && entrypoint.length === 1 && entrypoint[0] === '') entrypoint = null;
  const args = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (args.length === 0) throw invalidParameter('No command specified');
  return { Entrypoint: entrypoint, Cmd: cmd, args };
}

const envKey = (entry: string): string => {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
};

/**
 * The create-time merge of environments: the request's variables first, then
 * the image's variables whose names the request does not set.
 */
export function mergeEnv(
  imageEnv: readonly string[] | null | undefined,
  containerEnv: readonly string[] | null | undefined,
): string[] {
  if (isEmpty(containerEnv)) return [...(imageEnv ?? [])];
  const own = new Set(containerEnv!.map(envKey));
  return [...containerEnv!, ...(imageEnv ?? []).filter((entry) => !own.has(envKey(entry)))];
}

/**
 * Applies overrides to defaults: `KEY=value` replaces in place or appends, a
 * bare `KEY` removes the variable.
 */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const result: (string | null)[] = [...defaults];
  const index = new Map(result.map((entry, i) => [envKey(entry!), i]));
  for (const entry of overrides) {
    const key = envKey(entry);
    const at = index.get(key);
    if (!entry.includes('=')) {
      if (at !== undefined) result[at] = null;
    } else if (at !== undefined) {
      result[at] = entry;
    } else {
      index.set(key, result.length);
      result.push(entry);
    }
  }
  return result.filter((entry): entry is string => entry !== null);
}

/**
 * The environment the container process starts with: PATH, HOSTNAME and (with
 * a TTY) TERM defaults, overridden by the container's merged Env.
 */
export function processEnv(
  env: readonly string[] | null | undefined,
  options: { hostname?: string; tty?: boolean },
): string[] {
  const defaults = [DEFAULT_PATH_ENV, `HOSTNAME=${options.hostname ?? ''}`];
  if (options.tty) defaults.push('TERM=xterm');
  return replaceOrAppendEnv(defaults, env ?? []);
}

/**
 * Docker's create-time merge of a request with its image's configuration: the
 * result is what inspect shows as `Config` and what a restart reuses.
 */
export function mergeConfigWithImage(
  config: ContainerConfig,
  imageConfig: ImageConfig | undefined,
): ContainerConfig {
  if (!imageConfig) {
    const command = mergeCommand(undefined, config);
    return { ...config, Entrypoint: command.Entrypoint, Cmd: command.Cmd };
  }
  const merged: ContainerConfig = { ...config };
  if (!merged.User) merged.User = imageConfig.User ?? '';
  merged.ExposedPorts = mergeRecords(imageConfig.ExposedPorts, config.ExposedPorts);
  merged.Env = mergeEnv(imageConfig.Env, config.Env);
  merged.Labels = { ...(imageConfig.Labels ?? {}), ...(config.Labels ?? {}) };
  const command = mergeCommand(imageConfig, config);
  merged.Entrypoint = command.Entrypoint;
  merged.Cmd = command.Cmd;
  merged.Healthcheck = mergeHealthcheck(config.Healthcheck, imageConfig.Healthcheck);
  if (!merged.WorkingDir) merged.WorkingDir = imageConfig.WorkingDir ?? '';
  merged.Volumes = mergeRecords(config.Volumes, imageConfig.Volumes);
  if (!merged.StopSignal && imageConfig.StopSignal) merged.StopSignal = imageConfig.StopSignal;
  return merged;
}

/**
 * Docker's create-time merge of the request's healthcheck with the image's:
 * the request's fields win, and each one it leaves unset (no Test, a zero
 * duration or retry count) comes from the image.
 */
export function mergeHealthcheck(
  own: HealthConfig | undefined,
  image: HealthConfig | undefined,
): HealthConfig | undefined {
  if (!image) return own;
  if (!own) return image;
  const inherit = (field: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval' | 'Retries') =>
    own[field] || image[field];
  return {
    ...own,
    Test: isEmpty(own.Test) ? image.Test : own.Test,
    Interval: inherit('Interval'),
    Timeout: inherit('Timeout'),
    StartPeriod: inherit('StartPeriod'),
    StartInterval: inherit('StartInterval'),
    Retries: inherit('Retries'),
  };
}

/** Union of two key sets; null when both are empty, as Docker leaves them. */
function mergeRecords<T>(
  base: Record<string, T> | null | undefined,
  over: Record<string, T> | null | undefined,
): Record<string, T> | null {
  const merged = { ...(base ?? {}), ...(over ?? {}) };
  return Object.keys(merged).length === 0 ? (over ?? base ?? null) : merged;
}
