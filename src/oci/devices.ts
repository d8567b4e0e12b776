/**
 * Device nodes and the device cgroup: `--device` mappings, `--device-cgroup-rule`
 * rules, Docker's default allow list, and a privileged container's view of
 * every host device.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { invalidParameter } from '../common/errors.js';
import type { DeviceMapping } from '../types/container.js';
import type { OciDevice, OciDeviceCgroup } from './types.js';

const rule = (type: string, major: number, minor: number, allow = true): OciDeviceCgroup => ({
  allow,
  type,
  major,
  minor,
  access: 'rwm',
});

/**
 * Docker's device cgroup: deny everything, then allow the harmless character
 * devices (zero, null, urandom, random, tty, console) and keep fuse denied.
 * runc adds the pseudo-terminal devices itself.
 */
export function defaultDeviceRules(): OciDeviceCgroup[] {
  return [
    { allow: false, access: 'rwm' },
    rule('c', 1, 5),
    rule('c', 1, 3),
    rule('c', 1, 9),
    rule('c', 1, 8),
    rule('c', 5, 0),
    rule('c', 5, 1),
    rule('c', 10, 229, false),
  ];
}

export function privilegedDeviceRules(): OciDeviceCgroup[] {
  return [{ allow: true, access: 'rwm' }];
}

const isDeviceMode = (mode: string): boolean =>
  /^[rwm]{1,3}$/.test(mode) && new Set(mode).size === mode.length;

/**
 * Parses the CLI form `/dev/host[:/dev/container][:rwm]`: a second field that
 * is a valid mode is the mode, otherwise it is the container path.
 */
export function parseDeviceMapping(spec: string): Required<DeviceMapping> {
  const fields = spec.split(':');
  if (fields.length === 0 || fields.length > 3 || fields[0] === '') {
    throw invalidParameter(`invalid device specification: ${spec}`);
  }
  const [src, second, third] = fields;
  let dst = '';
  let mode = 'rwm';
  if (third !== undefined) mode = third;
  if (second !== undefined) {
    if (third === undefined && isDeviceMode(second)) mode = second;
    else dst = second;
  }
  if (!isDeviceMode(mode)) throw invalidParameter(`invalid device mode: ${mode}`);
  if (!path.isAbsolute(src))
    throw invalidParameter(`invalid device specification: ${spec}: device path must be absolute`);
  if (dst !== '' && !path.isAbsolute(dst))
    throw invalidParameter(`invalid device specification: ${spec}: container path must be absolute`);
  return { PathOnHost: src, PathInContainer: dst || src, CgroupPermissions: mode };
}

/** `"c 13:* rwm"`, `"b 8:1 r"`, `"a *:* rwm"` as a device cgroup rule. */
export function parseDeviceCgroupRule(text: string): OciDeviceCgroup {
  const match = /^([acb]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(text.trim());
  if (!match) throw invalidParameter(`invalid device cgroup format '${text}'`);
  const [, type, major, minor, access] = match;
  const parsed: OciDeviceCgroup = { allow: true, type, access };
  if (major !== '*') parsed.major = Number(major);
  if (minor !== '*') parsed.minor = Number(minor);
  return parsed;
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
export function splitDeviceNumber(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

function deviceType(info: BigIntStats): string | undefined {
  if (info.isCharacterDevice()) return 'c';
  if (info.isBlockDevice()) return 'b';
  return undefined;
}

interface FoundDevice {
  device: OciDevice;
  rule: OciDeviceCgroup;
}

function deviceAt(hostPath: string, containerPath: string, access: string): FoundDevice | undefined {
  const info = statSync(hostPath, { bigint: true });
  const type = deviceType(info);
  if (!type) return undefined;
  const { major, minor } = splitDeviceNumber(info.rdev);
  return {
    device: {
      type,
      path: containerPath,
      major,
      minor,
      fileMode: Number(info.mode & 0o7777n),
      uid: Number(info.uid),
      gid: Number(info.gid),
    },
    rule: { allow: true, type, major, minor, access },
  };
}

/**
 * The device nodes and cgroup rules for one `HostConfig.Devices` entry. The
 * host path may be a symlink (resolved) or a directory (every device node in
 * it is mapped under the container path).
 */
export function devicesForMapping(mapping: DeviceMapping): {
  devices: OciDevice[];
  rules: OciDeviceCgroup[];
} {
  const hostPath = mapping.PathOnHost ?? '';
  const containerPath = mapping.PathInContainer || hostPath;
  const access = mapping.CgroupPermissions || 'rwm';
  if (!isDeviceMode(access)) throw invalidParameter(`invalid device mode: ${access}`);
  const notFound = (reason: string) =>
    invalidParameter(
      `error gathering device information while adding custom device "${hostPath}": ${reason}`,
    );

  let resolved: string;
  try {
    resolved = realpathSync(hostPath);
  } catch {
    throw notFound('no such file or directory');
  }
  const single = deviceAt(resolved, containerPath, access);
  if (single) return { devices: [single.device], rules: [single.rule] };
  if (!statSync(resolved).isDirectory()) throw notFound('not a device node');

  const found = walkDevices(resolved).map((file) =>
    deviceAt(file, path.join(containerPath, path.relative(resolved, file)), access)!,
  );
  if (found.length === 0) throw notFound('not a device node');
  return { devices: found.map((f) => f.device), rules: found.map((f) => f.rule) };
}

/** Device nodes under a directory, recursively, not following symlinks. */
function walkDevices(dir: string, skipDirs: ReadonlySet<string> = new Set()): string[] {
  const result: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skipDirs.has(entry.name)) result.push(...walkDevices(full, skipDirs));
    } else if (entry.isCharacterDevice() || entry.isBlockDevice()) {
      result.push(full);
    }
  }
  return result;
}

/** Directories of /dev that hold no devices a container should get. */
const HOST_DEV_SKIP = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/**
 * Every device node of the host's /dev for a privileged container, except the
 * console (the container gets its own) and nodes numbered 0:0.
 */
export function hostDevices(devRoot = '/dev'): OciDevice[] {
  return walkDevices(devRoot, HOST_DEV_SKIP)
    .filter((file) => file !== path.join(devRoot, 'console'))
    .map((file) => {
      try {
        if (lstatSync(file).isSymbolicLink()) return undefined;
        return deviceAt(file, path.join('/dev', path.relative(devRoot, file)), 'rwm')?.device;
      } catch {
        // Nodes can vanish while walking (hotplug); skip them.
        return undefined;
      }
    })
    .filter(
      (device): device is OciDevice => device !== undefined && !(device.major === 0 && device.minor === 0),
    );
}
