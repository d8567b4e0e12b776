/**
 * Any payloads for running containers: runc shim options (protobuf) and the
 * OCI runtime-spec objects containerd carries as JSON.
 */
import path from 'node:path';
import { OCI_TYPE_URL_PREFIX, decodeAny, jsonAny, packAny, type AnyMessage } from './any.js';
import { systemError } from '../common/errors.js';

/** The containerd runtime (shim) berth runs containers with. */
export const RUNC_RUNTIME = 'io.containerd.runc.v2';

export const TYPE_URLS = {
  runcOptions: 'containerd.runc.v1.Options',
  spec: `${OCI_TYPE_URL_PREFIX}Spec`,
  process: `${OCI_TYPE_URL_PREFIX}Process`,
  linuxResources: `${OCI_TYPE_URL_PREFIX}LinuxResources`,
} as const;

export interface RuncOptions {
  /** runc state directory; berth uses <exec-root>/runc instead of /run/containerd/runc. */
  root: string;
  /** OCI runtime binary name or path (default runc). */
  binaryName?: string;
  systemdCgroup?: boolean;
  /** cgroup the shim itself is placed in. */
  shimCgroup?: string;
  noPivotRoot?: boolean;
  noNewKeyring?: boolean;
  /** Owner of the stdio FIFOs inside the shim (for user-namespaced containers). */
  ioUid?: number;
  ioGid?: number;
}

/** The runc state root under berth's exec-root. */
export function runcRoot(execRoot: string): string {
  return path.join(execRoot, 'runc');
}

export function runcOptionsAny(options: RuncOptions): AnyMessage {
  return packAny(TYPE_URLS.runcOptions, { ...options });
}

export function decodeRuncOptions(any: AnyMessage): RuncOptions {
  expectType(any, TYPE_URLS.runcOptions);
  return decodeAny(any) as RuncOptions;
}

/** The OCI runtime spec (config.json object) as a container's spec Any. */
export function specAny(spec: object): AnyMessage {
  return jsonAny(TYPE_URLS.spec, spec);
}

/** An OCI process object, for Tasks.exec. */
export function processAny(process: object): AnyMessage {
  return jsonAny(TYPE_URLS.process, process);
}

/** An OCI LinuxResources object, for Tasks.update. */
export function linuxResourcesAny(resources: object): AnyMessage {
  return jsonAny(TYPE_URLS.linuxResources, resources);
}

export function specFromAny<T = Record<string, unknown>>(any: AnyMessage): T {
  expectType(any, TYPE_URLS.spec);
  return JSON.parse(any.value.toString('utf8')) as T;
}

function expectType(any: AnyMessage, typeUrl: string): void {
  if (any.typeUrl !== typeUrl) throw systemError(`expected an Any of type ${typeUrl}, got ${any.typeUrl}`);
}
