/**
 * berth's default seccomp profile, in Docker's profile format.
 *
 * An allow list: anything not named here fails with EPERM. It allows what
 * ordinary programs (shells, language runtimes, servers, package managers)
 * use, and keeps back what changes the host or the kernel: mounts, modules,
 * kexec, reboot, swap, keyrings, BPF, perf, namespace creation, clock setting,
 * tracing other processes. Those come back only with the capability that
 * would let a process use them anyway (CAP_SYS_ADMIN, CAP_SYS_MODULE, ...).
 * Names the host's libseccomp does not know are skipped by runc, so syscalls
 * of other architectures and newer kernels can be listed safely.
 */
import type { SeccompProfile, SeccompProfileSyscall } from './seccomp.js';

const EPERM = 1;
const ENOSYS = 38;

/**
 * Namespace-creating clone flags: CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
 * CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET.
 */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/** personality(2) values that change nothing dangerous (PER_LINUX, PER_LINUX32, UNAME26 and the 0xffffffff query). */
const SAFE_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

// prettier-ignore
const fileIo = [
  'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
  'lseek', '_llseek', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'fcntl64', 'ioctl',
  'pipe', 'pipe2', 'sendfile', 'sendfile64', 'splice', 'tee', 'vmsplice', 'copy_file_range',
  'flock', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range', 'fadvise64', 'fadvise64_64', 'readahead',
  'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64',
];

// prettier-ignore
const polling = [
  'select', '_newselect', 'pselect6', 'pselect6_time64', 'poll', 'ppoll', 'ppoll_time64',
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_wait', 'epoll_wait_old', 'epoll_pwait', 'epoll_pwait2',
  'eventfd', 'eventfd2', 'signalfd', 'signalfd4',
  'timerfd_create', 'timerfd_settime', 'timerfd_settime64', 'timerfd_gettime', 'timerfd_gettime64',
  'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
];

// prettier-ignore
const filesystem = [
  'open', 'openat', 'openat2', 'creat', 'access', 'faccessat', 'faccessat2',
  'stat', 'stat64', 'lstat', 'lstat64', 'fstat', 'fstat64', 'newfstatat', 'fstatat64', 'statx',
  'statfs', 'statfs64', 'fstatfs', 'fstatfs64',
  'truncate', 'truncate64', 'ftruncate', 'ftruncate64', 'fallocate',
  'getdents', 'getdents64', 'getcwd', 'chdir', 'fchdir',
  'rename', 'renameat', 'renameat2', 'mkdir', 'mkdirat', 'rmdir', 'link', 'linkat', 'unlink', 'unlinkat',
  'symlink', 'symlinkat', 'readlink', 'readlinkat', 'mknod', 'mknodat',
  'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'chown32', 'fchown', 'fchown32', 'fchownat', 'lchown', 'lchown32',
  'umask', 'utime', 'utimes', 'utimensat', 'utimensat_time64', 'futimesat',
  'getxattr', 'lgetxattr', 'fgetxattr', 'getxattrat', 'setxattr', 'lsetxattr', 'fsetxattr', 'setxattrat',
  'listxattr', 'llistxattr', 'flistxattr', 'listxattrat', 'removexattr', 'lremovexattr', 'fremovexattr', 'removexattrat',
  'file_getattr', 'file_setattr', 'memfd_create',
];

// prettier-ignore
const memory = [
  'brk', 'mmap', 'mmap2', 'munmap', 'mremap', 'mprotect', 'pkey_mprotect', 'pkey_alloc', 'pkey_free',
  'madvise', 'mincore', 'mlock', 'mlock2', 'mlockall', 'munlock', 'munlockall', 'msync', 'membarrier',
  'remap_file_pages', 'cachestat', 'map_shadow_stack', 'mseal',
];

// prettier-ignore
const processes = [
  'fork', 'vfork', 'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'waitid', 'waitpid',
  'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
  'set_tid_address', 'set_robust_list', 'get_robust_list', 'rseq',
  'futex', 'futex_time64', 'futex_waitv', 'futex_wake', 'futex_wait', 'futex_requeue',
  'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getparam', 'sched_setparam',
  'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max', 'sched_get_priority_min',
  'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_getattr', 'sched_setattr',
  'getpriority', 'setpriority', 'nice', 'ioprio_get', 'ioprio_set', 'getcpu',
  'prctl', 'capget', 'capset', 'getrlimit', 'setrlimit', 'prlimit64', 'ugetrlimit', 'getrusage', 'times',
  'uname', 'sysinfo', 'restart_syscall', 'set_thread_area', 'get_thread_area',
  'pidfd_open', 'pidfd_send_signal', 'process_mrelease',
  'seccomp', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self', 'getrandom',
];

// prettier-ignore
const credentials = [
  'getuid', 'getuid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getegid', 'getegid32',
  'setuid', 'setuid32', 'setgid', 'setgid32', 'setreuid', 'setreuid32', 'setregid', 'setregid32',
  'setresuid', 'setresuid32', 'setresgid', 'setresgid32', 'getresuid', 'getresuid32', 'getresgid', 'getresgid32',
  'getgroups', 'getgroups32', 'setgroups', 'setgroups32', 'setfsuid', 'setfsuid32', 'setfsgid', 'setfsgid32',
];

// prettier-ignore
const signals = [
  'kill', 'tkill', 'tgkill', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending',
  'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_sigsuspend', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo',
  'sigaction', 'sigprocmask', 'sigreturn', 'sigpending', 'sigsuspend', 'sigaltstack', 'pause',
  'alarm', 'getitimer', 'setitimer',
];

/** Reading clocks and timers; setting the clock needs CAP_SYS_TIME (below). */
// prettier-ignore
const time = [
  'time', 'gettimeofday', 'clock_gettime', 'clock_gettime64', 'clock_getres', 'clock_getres_time64',
  'clock_nanosleep', 'clock_nanosleep_time64', 'nanosleep',
  'timer_create', 'timer_settime', 'timer_settime64', 'timer_gettime', 'timer_gettime64', 'timer_getoverrun', 'timer_delete',
  'adjtimex', 'clock_adjtime', 'clock_adjtime64',
];

// prettier-ignore
const networking = [
  'socket', 'socketpair', 'bind', 'connect', 'listen', 'accept', 'accept4', 'getsockname', 'getpeername',
  'getsockopt', 'setsockopt', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'recvmmsg_time64',
  'send', 'recv', 'shutdown', 'socketcall',
];

// prettier-ignore
const ipc = [
  'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semtimedop_time64', 'semctl',
  'shmget', 'shmat', 'shmdt', 'shmctl', 'ipc',
  'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedsend_time64', 'mq_timedreceive', 'mq_timedreceive_time64',
  'mq_notify', 'mq_getsetattr',
];

const allow = (
  names: string[],
  filter: Pick<SeccompProfileSyscall, 'includes' | 'excludes' | 'args'> = {},
): SeccompProfileSyscall => ({
  names,
  action: 'SCMP_ACT_ALLOW',
  ...filter,
});

const withCap = (cap: string, names: string[]): SeccompProfileSyscall =>
  allow(names, { includes: { caps: [cap] } });

export const DEFAULT_SECCOMP_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: EPERM,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    allow([
      ...fileIo,
      ...polling,
      ...filesystem,
      ...memory,
      ...processes,
      ...credentials,
      ...signals,
      ...time,
      ...networking,
      ...ipc,
    ]),
    // Before 4.8 a traced process could escape its seccomp filter.
    allow(['ptrace'], { includes: { minKernel: '4.8' } }),
    ...SAFE_PERSONALITIES.map((value) =>
      allow(['personality'], { args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] }),
    ),
    allow(['arch_prctl'], { includes: { arches: ['amd64', 'x32'] } }),
    allow(['modify_ldt'], { includes: { arches: ['amd64', 'x32', 'x86'] } }),
    allow(
      ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
      {
        includes: { arches: ['arm', 'arm64'] },
      },
    ),
    // Threads and processes, but no new namespaces without CAP_SYS_ADMIN.
    allow(['clone'], {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    // clone3 passes its flags in memory seccomp cannot read; ENOSYS makes libc fall back to clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    withCap('CAP_SYS_ADMIN', [
      'clone',
      'clone3',
      'unshare',
      'setns',
      'mount',
      'umount',
      'umount2',
      'mount_setattr',
      'move_mount',
      'open_tree',
      'open_tree_attr',
      'fsopen',
      'fsconfig',
      'fsmount',
      'fspick',
      'pivot_root',
      'name_to_handle_at',
      'quotactl',
      'quotactl_fd',
      'sethostname',
      'setdomainname',
      'lookup_dcookie',
      'fanotify_init',
      'bpf',
      'perf_event_open',
      'syslog',
    ]),
    withCap('CAP_BPF', ['bpf']),
    withCap('CAP_PERFMON', ['perf_event_open']),
    withCap('CAP_SYSLOG', ['syslog']),
    withCap('CAP_SYS_CHROOT', ['chroot']),
    withCap('CAP_DAC_READ_SEARCH', ['open_by_handle_at']),
    withCap('CAP_SYS_BOOT', ['reboot']),
    withCap('CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']),
    withCap('CAP_SYS_PACCT', ['acct']),
    withCap('CAP_SYS_PTRACE', [
      'ptrace',
      'kcmp',
      'pidfd_getfd',
      'process_madvise',
      'process_vm_readv',
      'process_vm_writev',
    ]),
    withCap('CAP_SYS_RAWIO', ['iopl', 'ioperm']),
    withCap('CAP_SYS_TIME', ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']),
    withCap('CAP_SYS_TTY_CONFIG', ['vhangup']),
    withCap('CAP_SYS_NICE', [
      'get_mempolicy',
      'set_mempolicy',
      'set_mempolicy_home_node',
      'mbind',
      'migrate_pages',
      'move_pages',
    ]),
  ],
};
