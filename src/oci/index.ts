/** OCI runtime-spec generation for containers. */
export * from './capabilities.js';
export * from './command.js';
export * from './devices.js';
export * from './exec.js';
export * from './mounts.js';
export * from './namespaces.js';
export * from './resources.js';
export * from './seccomp.js';
export { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';
export * from './security-opts.js';
export * from './spec.js';
export * from './sysctls.js';
export * from './types.js';
export * from './user.js';
