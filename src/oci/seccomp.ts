/**
 * Seccomp profiles in Docker's JSON format (what `--security-opt seccomp=` and
 * berth's default profile are written in), translated to the OCI form for one
 * container: rules are kept or dropped by the container's capabilities, the
 * host architecture and the kernel version.
 */
import { release } from 'node:os';
import { invalidParameter } from '../common/errors.js';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';
import type {
  OciSeccomp,
  OciSeccompArg,
  OciSyscall,
  SeccompAction,
  SeccompArch,
  SeccompOperator,
} from './types.js';

export interface SeccompFilter {
  caps?: string[];
  /** Docker's native arch names: amd64, x86, x32, arm, arm64, ppc64le, s390x, ... */
  arches?: string[];
  /** `"<major>.<minor>"`. */
  minKernel?: string;
}

export interface SeccompProfileSyscall {
  name?: string;
  names?: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: OciSeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

/** Docker's seccomp profile format. */
export interface SeccompProfile {
  defaultAction: SeccompAction | '';
  defaultErrnoRet?: number;
  architectures?: SeccompArch[];
  archMap?: { architecture: SeccompArch; subArchitectures?: SeccompArch[] }[];
  listenerPath?: string;
  listenerMetadata?: string;
  flags?: string[];
  syscalls?: SeccompProfileSyscall[];
}

export interface SeccompContext {
  /** The container's bounding capability set (`CAP_...`). */
  capabilities: readonly string[];
  /** Node's `process.arch` of the host; defaults to the running one. */
  arch?: string;
  /** Kernel release such as `6.1.0-18-amd64`; defaults to the running one. */
  kernelRelease?: string;
}

const ACTIONS: readonly SeccompAction[] = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
];

const OPERATORS: readonly SeccompOperator[] = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
];

/** Node's arch names to Docker's native names and libseccomp's. */
const HOST_ARCHES: Record<string, { native: string; seccomp: SeccompArch }> = {
  x64: { native: 'amd64', seccomp: 'SCMP_ARCH_X86_64' },
  ia32: { native: 'x86', seccomp: 'SCMP_ARCH_X86' },
  arm64: { native: 'arm64', seccomp: 'SCMP_ARCH_AARCH64' },
  arm: { native: 'arm', seccomp: 'SCMP_ARCH_ARM' },
  ppc64: { native: 'ppc64le', seccomp: 'SCMP_ARCH_PPC64LE' },
  s390x: { native: 's390x', seccomp: 'SCMP_ARCH_S390X' },
  riscv64: { native: 'riscv64', seccomp: 'SCMP_ARCH_RISCV64' },
  mips64el: { native: 'mipsel64', seccomp: 'SCMP_ARCH_MIPSEL64' },
};

const fail = (reason: string) => invalidParameter(`Decoding seccomp profile failed: ${reason}`);

/** Parses a profile given as JSON text (the value of `seccomp=` in SecurityOpt). */
export function parseSeccompProfile(json: string): SeccompProfile {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw fail((err as Error).message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('not a JSON object');
  return value as SeccompProfile;
}

/** `[major, minor]` of a kernel release string. */
function kernelVersion(text: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(text);
  if (!match) throw fail(`invalid kernel version "${text}", expected "<major>.<minor>"`);
  return [Number(match[1]), Number(match[2])];
}

const kernelAtLeast = (running: [number, number], wanted: [number, number]): boolean =>
  running[0] > wanted[0] || (running[0] === wanted[0] && running[1] >= wanted[1]);

function validateSyscall(call: SeccompProfileSyscall): void {
  if (!ACTIONS.includes(call.action)) throw fail(`unknown action "${String(call.action)}"`);
  if (call.name && call.names && call.names.length > 0) {
    throw fail("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
  }
  for (const arg of call.args ?? []) {
    if (!OPERATORS.includes(arg.op)) throw fail(`unknown operator "${String(arg.op)}"`);
    if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5)
      throw fail(`invalid argument index ${arg.index}`);
  }
}

/** Whether a rule's includes/excludes select it for this container. */
function ruleApplies(
  call: SeccompProfileSyscall,
  arch: string,
  caps: readonly string[],
  kernel: [number, number],
): boolean {
  const { includes = {}, excludes = {} } = call;
  if (excludes.arches?.includes(arch)) return false;
  if (excludes.caps?.some((cap) => caps.includes(cap))) return false;
  if (excludes.minKernel && kernelAtLeast(kernel, kernelVersion(excludes.minKernel))) return false;
  if (includes.arches && includes.arches.length > 0 && !includes.arches.includes(arch)) return false;
  if (includes.caps && !includes.caps.every((cap) => caps.includes(cap))) return false;
  if (includes.minKernel && !kernelAtLeast(kernel, kernelVersion(includes.minKernel))) return false;
  return true;
}

function architecturesFor(
  profile: SeccompProfile,
  hostArch: SeccompArch | undefined,
): SeccompArch[] | undefined {
  const { architectures = [], archMap = [] } = profile;
  if (architectures.length > 0 && archMap.length > 0) {
    throw fail(
      "'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
  }
  if (architectures.length > 0) return [...architectures];
  const entry = archMap.find((a) => a.architecture === hostArch);
  return entry ? [entry.architecture, ...(entry.subArchitectures ?? [])] : undefined;
}

/**
 * The OCI seccomp section for one container, or undefined when the profile
 * sets neither a default action nor any rule (which disables filtering).
 */
export function translateSeccompProfile(
  profile: SeccompProfile,
  context: SeccompContext,
): OciSeccomp | undefined {
  if (!profile.defaultAction && (profile.syscalls ?? []).length === 0) return undefined;
  if (!ACTIONS.includes(profile.defaultAction as SeccompAction)) {
    throw fail(`unknown default action "${String(profile.defaultAction)}"`);
  }
  const host = HOST_ARCHES[context.arch ?? process.arch];
  const arch = host?.native ?? context.arch ?? process.arch;
  const kernel = kernelVersion(context.kernelRelease ?? release());

  const syscalls: OciSyscall[] = [];
  for (const call of profile.syscalls ?? []) {
    validateSyscall(call);
    if (!ruleApplies(call, arch, context.capabilities, kernel)) continue;
    const names = call.name ? [call.name] : (call.names ?? []);
    if (names.length === 0) continue;
    const rule: OciSyscall = { names, action: call.action };
    if (call.errnoRet !== undefined) rule.errnoRet = call.errnoRet;
    if (call.args && call.args.length > 0) rule.args = call.args.map((arg) => ({ ...arg }));
    syscalls.push(rule);
  }

  const seccomp: OciSeccomp = { defaultAction: profile.defaultAction as SeccompAction };
  if (profile.defaultErrnoRet !== undefined) seccomp.defaultErrnoRet = profile.defaultErrnoRet;
  const architectures = architecturesFor(profile, host?.seccomp);
  if (architectures) seccomp.architectures = architectures;
  if (profile.flags && profile.flags.length > 0) seccomp.flags = [...profile.flags];
  if (profile.listenerPath) seccomp.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) seccomp.listenerMetadata = profile.listenerMetadata;
  seccomp.syscalls = syscalls;
  return seccomp;
}

/**
 * The seccomp section for a container: none when privileged or when
 * `seccomp=unconfined`; the given profile (JSON text) when one was passed;
 * berth's default profile otherwise.
 */
export function containerSeccomp(options: {
  privileged?: boolean;
  /** The value of `seccomp=` in SecurityOpt, if any. */
  profile?: string;
  context: SeccompContext;
}): OciSeccomp | undefined {
  if (options.privileged || options.profile === 'unconfined') return undefined;
  const profile = options.profile ? parseSeccompProfile(options.profile) : DEFAULT_SECCOMP_PROFILE;
  return translateSeccompProfile(profile, options.context);
}
