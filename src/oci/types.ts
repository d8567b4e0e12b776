/**
 * OCI runtime-spec (config.json) types for Linux, as runc 1.1 reads them
 * (spec 1.0.2 plus the 1.1 fields runc 1.1 understands).
 */

export const OCI_VERSION = '1.0.2-dev';

/**
 * A 64-bit unsigned quantity. RLIM_INFINITY and similar values do not fit a JS
 * number, so they are carried as bigint and written by {@link serializeSpec}.
 */
export type Uint64 = number | bigint;

export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciRlimit {
  /** `RLIMIT_NOFILE`, ... */
  type: string;
  hard: Uint64;
  soft: Uint64;
}

export interface OciConsoleSize {
  height: number;
  width: number;
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: OciConsoleSize;
  user: OciUser;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface OciRoot {
  path: string;
  readonly?: boolean;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface OciNamespace {
  type: OciNamespaceType;
  /** Join this namespace instead of creating one. */
  path?: string;
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciDevice {
  /** `c`, `b`, `u` or `p`. */
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceCgroup {
  allow: boolean;
  /** `a`, `c` or `b`; absent means all. */
  type?: string;
  /** Absent (or -1) means any. */
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  /** Deprecated by the kernel. */
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
}

export interface OciCpu {
  shares?: number;
  quota?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface OciPids {
  /** -1 for unlimited. */
  limit: number;
}

export interface OciWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface OciThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface OciBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: OciWeightDevice[];
  throttleReadBpsDevice?: OciThrottleDevice[];
  throttleWriteBpsDevice?: OciThrottleDevice[];
  throttleReadIOPSDevice?: OciThrottleDevice[];
  throttleWriteIOPSDevice?: OciThrottleDevice[];
}

export interface OciHugepageLimit {
  pageSize: string;
  limit: number;
}

export interface OciResources {
  devices?: OciDeviceCgroup[];
  memory?: OciMemory;
  cpu?: OciCpu;
  pids?: OciPids;
  blockIO?: OciBlockIO;
  hugepageLimits?: OciHugepageLimit[];
  unified?: Record<string, string>;
}

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

export type SeccompArch =
  | 'SCMP_ARCH_X86'
  | 'SCMP_ARCH_X86_64'
  | 'SCMP_ARCH_X32'
  | 'SCMP_ARCH_ARM'
  | 'SCMP_ARCH_AARCH64'
  | 'SCMP_ARCH_MIPS'
  | 'SCMP_ARCH_MIPS64'
  | 'SCMP_ARCH_MIPS64N32'
  | 'SCMP_ARCH_MIPSEL'
  | 'SCMP_ARCH_MIPSEL64'
  | 'SCMP_ARCH_MIPSEL64N32'
  | 'SCMP_ARCH_PPC'
  | 'SCMP_ARCH_PPC64'
  | 'SCMP_ARCH_PPC64LE'
  | 'SCMP_ARCH_S390'
  | 'SCMP_ARCH_S390X'
  | 'SCMP_ARCH_PARISC'
  | 'SCMP_ARCH_PARISC64'
  | 'SCMP_ARCH_RISCV64';

export interface OciSeccompArg {
  index: number;
  value: Uint64;
  valueTwo?: Uint64;
  op: SeccompOperator;
}

export interface OciSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: SeccompArch[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSyscall[];
}

export interface OciLinux {
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  sysctl?: Record<string, string>;
  resources?: OciResources;
  cgroupsPath?: string;
  namespaces: OciNamespace[];
  devices?: OciDevice[];
  seccomp?: OciSeccomp;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
}

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface OciHooks {
  prestart?: OciHook[];
  createRuntime?: OciHook[];
  createContainer?: OciHook[];
  startContainer?: OciHook[];
  poststart?: OciHook[];
  poststop?: OciHook[];
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: OciRoot;
  hostname?: string;
  mounts: OciMount[];
  hooks?: OciHooks;
  annotations?: Record<string, string>;
  linux: OciLinux;
}

/**
 * The spec as config.json bytes. JSON.stringify refuses bigint, and a 64-bit
 * value such as RLIM_INFINITY loses precision as a double, so bigints are
 * written as exact integer literals.
 */
export function serializeSpec(value: OciSpec | OciProcess | OciResources): string {
  const marker = '__berth_uint64__';
  const text = JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint' ? `${marker}${item.toString()}` : item,
  );
  return text.replace(new RegExp(`"${marker}(\\d+)"`, 'g'), '$1');
}
