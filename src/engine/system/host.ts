import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Facts about the host that /info and /version report and that do not change while berthd runs. */
export interface HostFacts {
  kernelVersion: string;
  operatingSystem: string;
  osVersion: string;
  architecture: string;
  ncpu: number;
  memTotal: number;
  hostname: string;
  cgroupVersion: '1' | '2';
}

export function readHostFacts(): HostFacts {
  const release = parseOsRelease();
  return {
    kernelVersion: os.release(),
    operatingSystem: release.PRETTY_NAME ?? 'Linux',
    osVersion: release.VERSION_ID ?? '',
    architecture: os.machine(),
    ncpu: os.availableParallelism(),
    memTotal: os.totalmem(),
    hostname: os.hostname(),
    cgroupVersion: existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1',
  };
}

function parseOsRelease(): Record<string, string> {
  try {
    const entries = readFileSync('/etc/os-release', 'utf8')
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2].replace(/^"(.*)"$/, '$1')]);
    return Object.fromEntries(entries);
  } catch {
    return {};
  }
}

export interface ComponentVersion {
  version: string;
  commit: string;
}

/** Asks a helper binary for its version (runc, tini), as dockerd does for /version. */
export async function binaryVersion(binary: string, pattern: RegExp): Promise<ComponentVersion | undefined> {
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 5000 });
    const version = pattern.exec(stdout)?.[1];
    if (!version) return undefined;
    const commit = /commit:\s*(\S+)/.exec(stdout)?.[1] ?? /- (\S+)$/m.exec(stdout)?.[1] ?? '';
    return { version, commit };
  } catch {
    return undefined;
  }
}
