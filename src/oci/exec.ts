/**
 * The OCI process of a `docker exec`: the container's own process settings
 * (capabilities, rlimits, no-new-privileges, AppArmor, OOM score) with the
 * exec's command, user, environment, working directory and terminal.
 */
import { invalidParameter } from '../common/errors.js';
import type { ContainerConfig, ExecConfig } from '../types/container.js';
import { hostCapabilities } from './capabilities.js';
import { processEnv } from './command.js';
import type { OciProcess } from './types.js';
import type { ResolvedUser } from './user.js';

export interface ExecProcessInput {
  /** The container's spec process (from its stored spec). */
  containerProcess: OciProcess;
  /** The container's merged Config (env, hostname, working directory). */
  config: ContainerConfig;
  exec: ExecConfig;
  /** The exec's user, resolved in the container's rootfs; the container's user when absent. */
  user?: ResolvedUser;
  /** Capabilities a privileged exec gets; the daemon's bounding set when absent. */
  privilegedCapabilities?: readonly string[];
}

export function buildExecProcess(input: ExecProcessInput): OciProcess {
  const { containerProcess: base, config, exec } = input;
  if (!exec.Cmd || exec.Cmd.length === 0) throw invalidParameter('No exec command specified');
  const tty = exec.Tty === true;
  const process: OciProcess = {
    ...base,
    terminal: tty,
    args: [...exec.Cmd],
    // As in Docker: the daemon's defaults and the container's Env, then the exec's own.
    env: processEnv([...(config.Env ?? []), ...(exec.Env ?? [])], { hostname: config.Hostname, tty }),
    cwd: exec.WorkingDir || config.WorkingDir || '/',
    user: input.user
      ? { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids }
      : base.user,
  };
  delete process.consoleSize;
  const [height, width] = exec.ConsoleSize ?? [0, 0];
  if (tty && height > 0 && width > 0) process.consoleSize = { height, width };
  if (exec.Privileged) {
    const all = [...(input.privilegedCapabilities ?? hostCapabilities())];
    process.capabilities = { bounding: all, effective: all, permitted: all };
  }
  return process;
}
