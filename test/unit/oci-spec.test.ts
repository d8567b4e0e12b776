import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from '../../src/oci/capabilities.js';
import { DEFAULT_PATH_ENV } from '../../src/oci/command.js';
import { parseSecurityOpts } from '../../src/oci/security-opts.js';
import {
  buildSpec,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  type SpecInput,
} from '../../src/oci/spec.js';
import { validateSysctls } from '../../src/oci/sysctls.js';
import { serializeSpec, type OciSpec } from '../../src/oci/types.js';

const ID = 'c0ffee0123456789c0ffee0123456789c0ffee0123456789c0ffee0123456789';

function input(overrides: Partial<SpecInput> = {}): SpecInput {
  return {
    id: ID,
    config: { Hostname: 'c0ffee012345', Cmd: ['sh'] },
    hostConfig: {},
    user: { uid: 0, gid: 0, additionalGids: [0], home: '/root' },
    hostNofileHard: 20000,
    host: {
      capabilities: ALL_CAPABILITIES,
      arch: 'x64',
      kernelRelease: '6.1.0',
      sysctlExists: () => true,
      devices: () => [{ type: 'c', path: '/dev/kvm', major: 10, minor: 232 }],
    },
    ...overrides,
  };
}

const mount = (spec: OciSpec, destination: string) => spec.mounts.find((m) => m.destination === destination);
const namespaceTypes = (spec: OciSpec) => spec.linux.namespaces.map((ns) => ns.type);

describe('buildSpec: defaults', () => {
  const spec = buildSpec(
    input({
      etcFiles: { hostname: '/run/c/hostname', hosts: '/run/c/hosts', resolvConf: '/run/c/resolv.conf' },
    }),
  );

  test('process: args, env, cwd, user, default capabilities, no-new-privileges off', () => {
    assert.deepEqual(spec.process.args, ['sh']);
    assert.deepEqual(spec.process.env, [DEFAULT_PATH_ENV, 'HOSTNAME=c0ffee012345']);
    assert.equal(spec.process.cwd, '/');
    assert.equal(spec.process.terminal, false);
    assert.deepEqual(spec.process.user, { uid: 0, gid: 0, additionalGids: [0] });
    assert.deepEqual(spec.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(spec.process.capabilities?.effective, [...DEFAULT_CAPABILITIES]);
    assert.equal(spec.process.capabilities?.inheritable, undefined);
    assert.equal(spec.process.noNewPrivileges, false);
    assert.equal(spec.process.oomScoreAdj, 0);
    assert.deepEqual(spec.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 20000 }]);
  });

  test('root, hostname, namespaces, cgroups path under /berth', () => {
    assert.deepEqual(spec.root, { path: 'rootfs', readonly: false });
    assert.equal(spec.hostname, 'c0ffee012345');
    assert.deepEqual(namespaceTypes(spec), ['mount', 'network', 'uts', 'pid', 'ipc']);
    assert.equal(spec.linux.cgroupsPath, `/berth/${ID}`);
  });

  test('mounts: kernel filesystems, 64 MiB /dev/shm, /etc files', () => {
    assert.deepEqual(
      spec.mounts.map((m) => m.destination),
      [
        '/proc',
        '/dev',
        '/dev/pts',
        '/sys',
        '/sys/fs/cgroup',
        '/dev/mqueue',
        '/dev/shm',
        '/etc/resolv.conf',
        '/etc/hostname',
        '/etc/hosts',
      ],
    );
    assert.ok(mount(spec, '/dev/shm')!.options!.includes('size=67108864'));
    assert.equal(mount(spec, '/etc/hosts')!.source, '/run/c/hosts');
  });

  test('masked and read-only paths, default device rules, seccomp, network sysctls', () => {
    assert.deepEqual(spec.linux.maskedPaths, DEFAULT_MASKED_PATHS);
    assert.deepEqual(spec.linux.readonlyPaths, DEFAULT_READONLY_PATHS);
    assert.deepEqual(spec.linux.resources?.devices?.[0], { allow: false, access: 'rwm' });
    assert.deepEqual(spec.linux.devices, []);
    assert.equal(spec.linux.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
    assert.deepEqual(spec.linux.sysctl, {
      'net.ipv4.ping_group_range': '0 2147483647',
      'net.ipv4.ip_unprivileged_port_start': '0',
    });
  });

  test('serializes to JSON runc can read', () => {
    const parsed = JSON.parse(serializeSpec(spec));
    assert.equal(parsed.ociVersion, '1.0.2-dev');
    assert.equal(parsed.process.args[0], 'sh');
  });
});

describe('buildSpec: container settings', () => {
  test('the image config is merged when given', () => {
    const spec = buildSpec(
      input({
        config: { Hostname: 'h', Env: ['MODE=dev'] },
        imageConfig: {
          Entrypoint: ['/docker-entrypoint.sh'],
          Cmd: ['nginx'],
          Env: ['PATH=/opt/bin:/usr/bin', 'MODE=prod'],
          WorkingDir: '/srv',
        },
      }),
    );
    assert.deepEqual(spec.process.args, ['/docker-entrypoint.sh', 'nginx']);
    assert.deepEqual(spec.process.env, ['PATH=/opt/bin:/usr/bin', 'HOSTNAME=h', 'MODE=dev']);
    assert.equal(spec.process.cwd, '/srv');
  });

  test('tty, console size, domain name, OOM score', () => {
    const spec = buildSpec(
      input({
        config: { Cmd: ['sh'], Tty: true, Hostname: 'web', Domainname: 'example.org' },
        hostConfig: { ConsoleSize: [24, 80], OomScoreAdj: 500 },
      }),
    );
    assert.equal(spec.process.terminal, true);
    assert.deepEqual(spec.process.consoleSize, { height: 24, width: 80 });
    assert.ok(spec.process.env!.includes('TERM=xterm'));
    assert.equal(spec.linux.sysctl!['kernel.domainname'], 'example.org');
    assert.equal(spec.process.oomScoreAdj, 500);
    assert.throws(
      () => buildSpec(input({ hostConfig: { OomScoreAdj: 1001 } })),
      /range for oom score adj is \[-1000, 1000\]/,
    );
  });

  test('read-only rootfs keeps the kernel filesystems as they are and makes /etc files read-only', () => {
    const spec = buildSpec(
      input({ hostConfig: { ReadonlyRootfs: true }, etcFiles: { hosts: '/run/c/hosts' } }),
    );
    assert.equal(spec.root.readonly, true);
    assert.ok(mount(spec, '/etc/hosts')!.options!.includes('ro'));
    assert.ok(!mount(spec, '/dev/shm')!.options!.includes('ro'));
  });

  test('privileged: all capabilities, no seccomp, no masked paths, writable /sys, every device', () => {
    const spec = buildSpec(input({ hostConfig: { Privileged: true, ReadonlyRootfs: true } }));
    assert.equal(spec.process.capabilities?.bounding?.length, 41);
    assert.equal(spec.linux.seccomp, undefined);
    assert.equal(spec.linux.maskedPaths, undefined);
    assert.equal(spec.linux.readonlyPaths, undefined);
    assert.ok(!mount(spec, '/sys')!.options!.includes('ro'));
    assert.ok(!mount(spec, '/sys/fs/cgroup')!.options!.includes('ro'));
    assert.deepEqual(spec.linux.resources?.devices, [{ allow: true, access: 'rwm' }]);
    assert.deepEqual(
      spec.linux.devices?.map((d) => d.path),
      ['/dev/kvm'],
    );
  });

  test('cap add/drop and no-new-privileges from SecurityOpt', () => {
    const spec = buildSpec(
      input({
        hostConfig: { CapAdd: ['net_admin'], CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges:true'] },
      }),
    );
    assert.deepEqual(spec.process.capabilities?.bounding, ['CAP_NET_ADMIN']);
    assert.equal(spec.process.noNewPrivileges, true);
  });

  test('seccomp=unconfined drops the filter; a JSON profile replaces it', () => {
    assert.equal(
      buildSpec(input({ hostConfig: { SecurityOpt: ['seccomp=unconfined'] } })).linux.seccomp,
      undefined,
    );
    const custom = buildSpec(
      input({
        hostConfig: {
          SecurityOpt: [
            'seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}',
          ],
        },
      }),
    );
    assert.deepEqual(custom.linux.seccomp, {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }],
    });
  });

  test('explicit masked and read-only paths override the defaults', () => {
    const spec = buildSpec(input({ hostConfig: { MaskedPaths: [], ReadonlyPaths: ['/proc/sys'] } }));
    assert.deepEqual(spec.linux.maskedPaths, []);
    assert.deepEqual(spec.linux.readonlyPaths, ['/proc/sys']);
  });

  test('resources, devices and device cgroup rules', () => {
    const spec = buildSpec(
      input({
        hostConfig: {
          Memory: 128 * 1024 * 1024,
          NanoCpus: 500_000_000,
          PidsLimit: 64,
          Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/blackhole', CgroupPermissions: 'rw' }],
          DeviceCgroupRules: ['c 42:* rmw'],
        },
      }),
    );
    const r = spec.linux.resources!;
    assert.deepEqual(r.memory, { limit: 134217728, swap: 268435456 });
    assert.deepEqual(r.cpu, { period: 100000, quota: 50000 });
    assert.deepEqual(r.pids, { limit: 64 });
    assert.deepEqual(
      spec.linux.devices?.map((d) => [d.path, d.major, d.minor]),
      [['/dev/blackhole', 1, 3]],
    );
    assert.deepEqual(r.devices?.slice(-2), [
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
      { allow: true, type: 'c', major: 42, access: 'rmw' },
    ]);
  });

  test('Ulimits above the host hard limit are refused', () => {
    assert.throws(
      () => buildSpec(input({ hostConfig: { Ulimits: [{ Name: 'nofile', Soft: 65536, Hard: 65536 }] } })),
      (err) =>
        isEngineError(err, 'InvalidParameter') && /exceeds the host's hard limit of 20000/.test(err.message),
    );
  });

  test('cgroup parent from HostConfig or the daemon', () => {
    assert.equal(
      buildSpec(input({ hostConfig: { CgroupParent: '/tenants/a/' } })).linux.cgroupsPath,
      `/tenants/a/${ID}`,
    );
    assert.equal(buildSpec(input({ cgroupParent: '/berth-test' })).linux.cgroupsPath, `/berth-test/${ID}`);
  });

  test('tmpfs, volumes and their ordering; a volume at /etc/hosts wins over berth’s file', () => {
    const spec = buildSpec(
      input({
        hostConfig: { Tmpfs: { '/run': 'size=64m,mode=1777' } },
        etcFiles: { hosts: '/run/c/hosts' },
        mounts: [
          { destination: '/etc/hosts', type: 'bind', source: '/srv/hosts', options: ['rbind', 'ro'] },
          { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rshared'] },
        ],
      }),
    );
    assert.deepEqual(mount(spec, '/run')!.options, [
      'noexec',
      'nosuid',
      'nodev',
      'rprivate',
      'size=64m',
      'mode=1777',
    ]);
    assert.equal(mount(spec, '/etc/hosts')!.source, '/srv/hosts');
    assert.equal(spec.mounts.filter((m) => m.destination === '/etc/hosts').length, 1);
    assert.equal(spec.linux.rootfsPropagation, 'shared');
  });

  test('Init wraps the command in tini mounted at /sbin/docker-init', () => {
    const spec = buildSpec(input({ hostConfig: { Init: true }, initPath: '/usr/bin/tini-static' }));
    assert.deepEqual(spec.process.args, ['/sbin/docker-init', '--', 'sh']);
    assert.equal(mount(spec, '/sbin/docker-init')!.source, '/usr/bin/tini-static');
    assert.deepEqual(
      buildSpec(input({ defaultInit: true, initPath: '/t' })).process.args[0],
      '/sbin/docker-init',
    );
    assert.deepEqual(
      buildSpec(input({ hostConfig: { Init: false }, defaultInit: true, initPath: '/t' })).process.args,
      ['sh'],
    );
    // No init in a shared PID namespace: it would not be PID 1.
    assert.deepEqual(
      buildSpec(input({ hostConfig: { Init: true, PidMode: 'host' }, initPath: '/t' })).process.args,
      ['sh'],
    );
    assert.throws(() => buildSpec(input({ hostConfig: { Init: true } })), /no init binary/);
  });
});

describe('buildSpec: namespaces', () => {
  test('host modes drop the namespace; the host UTS has no hostname', () => {
    const spec = buildSpec(
      input({ hostConfig: { NetworkMode: 'host', PidMode: 'host', IpcMode: 'host', UTSMode: 'host' } }),
    );
    assert.deepEqual(namespaceTypes(spec), ['mount']);
    assert.equal(spec.hostname, undefined);
    assert.equal(mount(spec, '/dev/shm')!.source, '/dev/shm');
    assert.deepEqual(spec.linux.sysctl, {});
  });

  test('container:<id> modes join the given paths', () => {
    const spec = buildSpec(
      input({
        hostConfig: { NetworkMode: 'container:web', PidMode: 'container:web', IpcMode: 'container:web' },
        namespacePaths: { network: '/proc/42/ns/net', pid: '/proc/42/ns/pid', ipc: '/proc/42/ns/ipc' },
        shmPath: '/var/lib/berth/containers/web/shm',
      }),
    );
    assert.deepEqual(spec.linux.namespaces, [
      { type: 'mount' },
      { type: 'network', path: '/proc/42/ns/net' },
      { type: 'uts' },
      { type: 'pid', path: '/proc/42/ns/pid' },
      { type: 'ipc', path: '/proc/42/ns/ipc' },
    ]);
    assert.equal(mount(spec, '/dev/shm')!.source, '/var/lib/berth/containers/web/shm');
    assert.throws(
      () => buildSpec(input({ hostConfig: { PidMode: 'container:web' } })),
      /no namespace path was given to join for pid/,
    );
  });

  test('a prepared network namespace is joined; none gets a fresh one; ipc none has no /dev/shm', () => {
    const bridged = buildSpec(input({ namespacePaths: { network: '/run/netns/berth-1' } }));
    assert.deepEqual(bridged.linux.namespaces[1], { type: 'network', path: '/run/netns/berth-1' });
    const isolated = buildSpec(
      input({ hostConfig: { NetworkMode: 'none', IpcMode: 'none' }, namespacePaths: { network: '/x' } }),
    );
    assert.deepEqual(isolated.linux.namespaces[1], { type: 'network' });
    assert.equal(mount(isolated, '/dev/shm'), undefined);
  });

  test('private cgroup namespace on request', () => {
    assert.ok(
      namespaceTypes(buildSpec(input({ hostConfig: { CgroupnsMode: 'private' } }))).includes('cgroup'),
    );
    assert.ok(!namespaceTypes(buildSpec(input())).includes('cgroup'));
    assert.ok(namespaceTypes(buildSpec(input({ defaultCgroupnsMode: 'private' }))).includes('cgroup'));
  });

  test('invalid modes are refused', () => {
    assert.throws(() => buildSpec(input({ hostConfig: { IpcMode: 'bogus' } })), /invalid IPC mode: bogus/);
    assert.throws(() => buildSpec(input({ hostConfig: { UTSMode: 'container:x' } })), /invalid UTS mode/);
  });
});

describe('sysctls', () => {
  const own = { privateNetwork: true, privateIpc: true, privateUts: true };

  test('namespaced sysctls pass in their own namespace', () => {
    validateSysctls(
      {
        'net.core.somaxconn': '1024',
        'kernel.shmmax': '1',
        'fs.mqueue.msg_max': '10',
        'kernel.domainname': 'x',
      },
      own,
    );
    const spec = buildSpec(
      input({ hostConfig: { Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024' } } }),
    );
    assert.equal(spec.linux.sysctl!['net.ipv4.ip_unprivileged_port_start'], '1024');
  });

  test('host-wide sysctls and sysctls of shared namespaces are refused', () => {
    assert.throws(() => validateSysctls({ 'kernel.panic': '1' }, own), /not namespaced/);
    assert.throws(() => validateSysctls({ 'vm.swappiness': '1' }, own), /not namespaced/);
    assert.throws(() => validateSysctls({ 'kernel.hostname': 'x' }, own), /set the container's hostname/);
    assert.throws(
      () =>
        buildSpec(input({ hostConfig: { NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } } })),
      (err) =>
        isEngineError(err, 'InvalidParameter') &&
        /not allowed in the host's network namespace/.test(err.message),
    );
    assert.throws(
      () => buildSpec(input({ hostConfig: { IpcMode: 'host', Sysctls: { 'kernel.msgmax': '1' } } })),
      /host's IPC namespace/,
    );
  });
});

describe('SecurityOpt parsing', () => {
  test('Docker’s forms', () => {
    assert.deepEqual(parseSecurityOpts(['no-new-privileges']), { noNewPrivileges: true, labelOptions: [] });
    assert.equal(parseSecurityOpts(['no-new-privileges=false'], true).noNewPrivileges, false);
    assert.equal(parseSecurityOpts(['no-new-privileges:true']).noNewPrivileges, true);
    assert.equal(parseSecurityOpts(['seccomp=unconfined']).seccompProfile, 'unconfined');
    assert.equal(
      parseSecurityOpts(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']).seccompProfile,
      '{"defaultAction":"SCMP_ACT_ALLOW"}',
    );
    assert.equal(parseSecurityOpts(['apparmor=unconfined']).apparmorProfile, 'unconfined');
    assert.deepEqual(parseSecurityOpts(['label=disable', 'label:type:svirt_t']).labelOptions, [
      'disable',
      'type:svirt_t',
    ]);
  });

  test('unknown options are refused with Docker’s messages', () => {
    assert.throws(() => parseSecurityOpts(['bogus']), /invalid --security-opt 1: "bogus"/);
    assert.throws(() => parseSecurityOpts(['foo=bar']), /invalid --security-opt 2: "foo=bar"/);
    assert.throws(() => parseSecurityOpts(['no-new-privileges=maybe']), /invalid --security-opt 2/);
  });
});
