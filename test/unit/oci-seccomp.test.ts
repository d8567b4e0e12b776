import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import { DEFAULT_CAPABILITIES } from '../../src/oci/capabilities.js';
import { containerSeccomp, translateSeccompProfile, type SeccompProfile } from '../../src/oci/seccomp.js';
import { DEFAULT_SECCOMP_PROFILE } from '../../src/oci/seccomp-default.js';
import type { OciSeccomp } from '../../src/oci/types.js';

const x86 = { capabilities: [...DEFAULT_CAPABILITIES], arch: 'x64', kernelRelease: '6.1.0-18-amd64' };
const arm = { ...x86, arch: 'arm64' };

const allowed = (seccomp: OciSeccomp | undefined): Set<string> =>
  new Set(
    (seccomp?.syscalls ?? [])
      .filter((rule) => rule.action === 'SCMP_ACT_ALLOW' && !rule.args)
      .flatMap((rule) => rule.names),
  );

describe('berth’s default seccomp profile', () => {
  const seccomp = translateSeccompProfile(DEFAULT_SECCOMP_PROFILE, x86)!;
  const allow = allowed(seccomp);

  test('denies by default with EPERM, on x86_64 with its 32-bit ABIs', () => {
    assert.equal(seccomp.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(seccomp.defaultErrnoRet, 1);
    assert.deepEqual(seccomp.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.deepEqual(translateSeccompProfile(DEFAULT_SECCOMP_PROFILE, arm)!.architectures, [
      'SCMP_ARCH_AARCH64',
      'SCMP_ARCH_ARM',
    ]);
  });

  test('allows what ordinary programs need', () => {
    for (const name of [
      'read',
      'write',
      'openat',
      'execve',
      'mmap',
      'futex',
      'epoll_wait',
      'socket',
      'connect',
      'clock_gettime',
      'getrandom',
      'rt_sigaction',
      'exit_group',
      'chroot',
      'arch_prctl',
      'ptrace',
    ]) {
      assert.ok(allow.has(name), `${name} should be allowed`);
    }
  });

  test('blocks host-changing syscalls for a default container', () => {
    for (const name of [
      'mount',
      'umount2',
      'keyctl',
      'add_key',
      'request_key',
      'kexec_load',
      'bpf',
      'reboot',
      'swapon',
      'swapoff',
      'init_module',
      'delete_module',
      'unshare',
      'setns',
      'pivot_root',
      'clock_settime',
      'acct',
      'userfaultfd',
    ]) {
      assert.ok(!allow.has(name), `${name} should not be allowed`);
    }
  });

  test('clone is allowed only without namespace flags, clone3 fails with ENOSYS', () => {
    const clone = seccomp.syscalls!.filter((rule) => rule.names.includes('clone'));
    assert.equal(clone.length, 1);
    assert.deepEqual(clone[0].args, [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
    const clone3 = seccomp.syscalls!.find((rule) => rule.names.includes('clone3'))!;
    assert.equal(clone3.action, 'SCMP_ACT_ERRNO');
    assert.equal(clone3.errnoRet, 38);
  });

  test('personality is allowed only with safe values', () => {
    const rules = seccomp.syscalls!.filter((rule) => rule.names.includes('personality'));
    assert.deepEqual(
      rules.map((rule) => rule.args![0].value),
      [0x0, 0x8, 0x20000, 0x20008, 0xffffffff],
    );
  });

  test('capabilities bring their syscalls back', () => {
    const admin = translateSeccompProfile(DEFAULT_SECCOMP_PROFILE, {
      ...x86,
      capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'],
    });
    const adminAllow = allowed(admin);
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3'])
      assert.ok(adminAllow.has(name), name);
    assert.ok(
      !admin!.syscalls!.some((rule) => rule.names.includes('clone3') && rule.action === 'SCMP_ACT_ERRNO'),
    );
    assert.ok(!adminAllow.has('reboot'));
    assert.ok(
      allowed(
        translateSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x86, capabilities: ['CAP_SYS_BOOT'] }),
      ).has('reboot'),
    );
    assert.ok(
      !allowed(translateSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x86, capabilities: [] })).has('chroot'),
    );
  });

  test('architecture-specific rules follow the host', () => {
    assert.ok(!allowed(translateSeccompProfile(DEFAULT_SECCOMP_PROFILE, arm)).has('arch_prctl'));
    assert.ok(allowed(translateSeccompProfile(DEFAULT_SECCOMP_PROFILE, arm)).has('set_tls'));
    assert.ok(!allow.has('set_tls'));
  });

  test('ptrace only on kernels that cannot be escaped through it', () => {
    assert.ok(
      !allowed(translateSeccompProfile(DEFAULT_SECCOMP_PROFILE, { ...x86, kernelRelease: '4.4.0' })).has(
        'ptrace',
      ),
    );
  });
});

describe('profiles in Docker’s format', () => {
  const profile: SeccompProfile = {
    defaultAction: 'SCMP_ACT_ALLOW',
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
    syscalls: [
      { name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['chmod', 'fchmod'], action: 'SCMP_ACT_ERRNO', args: [] },
      { names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 40, op: 'SCMP_CMP_EQ' }] },
      { names: ['reboot'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_BOOT'] } },
      { names: ['sync'], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_CHOWN'] } },
      { names: ['modify_ldt'], action: 'SCMP_ACT_ERRNO', includes: { arches: ['arm64'] } },
      { names: ['open_tree'], action: 'SCMP_ACT_ERRNO', includes: { minKernel: '5.2' } },
      { names: ['ancient'], action: 'SCMP_ACT_ERRNO', excludes: { minKernel: '3.0' } },
    ],
  };

  test('translates to OCI, dropping rules whose conditions do not hold', () => {
    assert.deepEqual(translateSeccompProfile(profile, x86), {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['chmod', 'fchmod'], action: 'SCMP_ACT_ERRNO' },
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 40, op: 'SCMP_CMP_EQ' }] },
        { names: ['open_tree'], action: 'SCMP_ACT_ERRNO' },
      ],
    });
  });

  test('explicit architectures are kept as given', () => {
    const seccomp = translateSeccompProfile(
      { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [] },
      x86,
    );
    assert.deepEqual(seccomp, {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [],
    });
  });

  test('an empty profile disables filtering', () => {
    assert.equal(translateSeccompProfile({ defaultAction: '' }, x86), undefined);
  });

  test('invalid profiles are InvalidParameter errors', () => {
    const bad = (p: unknown, message: RegExp) =>
      assert.throws(
        () => containerSeccomp({ profile: typeof p === 'string' ? p : JSON.stringify(p), context: x86 }),
        (err) => isEngineError(err, 'InvalidParameter') && message.test(err.message),
      );
    bad('{not json', /^Decoding seccomp profile failed: /);
    bad({ defaultAction: 'SCMP_ACT_MAYBE' }, /unknown default action/);
    bad(
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ name: 'a', names: ['b'], action: 'SCMP_ACT_ALLOW' }] },
      /use either 'name' or 'names'/,
    );
    bad(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: ['SCMP_ARCH_X86'],
        archMap: [{ architecture: 'SCMP_ARCH_X86_64' }],
      },
      /use either 'architectures' or 'archMap'/,
    );
    bad(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          { names: ['a'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_LIKE' }] },
        ],
      },
      /unknown operator/,
    );
  });
});

describe('containerSeccomp', () => {
  test('unconfined and privileged containers get no filter', () => {
    assert.equal(containerSeccomp({ profile: 'unconfined', context: x86 }), undefined);
    assert.equal(containerSeccomp({ privileged: true, context: x86 }), undefined);
  });

  test('a given profile replaces the default', () => {
    const seccomp = containerSeccomp({
      profile: '{"defaultAction":"SCMP_ACT_LOG","syscalls":[]}',
      context: x86,
    });
    assert.deepEqual(seccomp, { defaultAction: 'SCMP_ACT_LOG', syscalls: [] });
  });

  test('no profile means berth’s default', () => {
    assert.equal(containerSeccomp({ context: x86 })?.defaultAction, 'SCMP_ACT_ERRNO');
  });
});
