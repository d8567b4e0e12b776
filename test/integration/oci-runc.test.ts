/**
 * Runs specs from buildSpec directly with `runc run` on a busybox rootfs, to
 * prove runc accepts them and that the security settings take effect.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildSpec, type SpecInput } from '../../src/oci/spec.js';
import { serializeSpec } from '../../src/oci/types.js';
import { resolveUser } from '../../src/oci/user.js';
import { BUSYBOX_PATH, busyboxApplets } from '../helpers/rootfs.js';

const CGROUP_PARENT = '/berth-test';
const CGROUP_ROOT = '/sys/fs/cgroup';
const HOST_NOFILE_HARD = 20000;
const runcAvailable = spawnSync('runc', ['--version']).status === 0 && process.getuid?.() === 0;

let work: string;
let rootfs: string;
let runcRoot: string;
const started: string[] = [];
let counter = 0;

function makeRootfs(dir: string): void {
  for (const sub of ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'mnt', 'root', 'usr'])
    mkdirSync(path.join(dir, sub), { recursive: true });
  // Room for the host's /usr, so glibc programs can run with the host's libraries.
  symlinkSync('usr/lib', path.join(dir, 'lib'));
  symlinkSync('usr/lib64', path.join(dir, 'lib64'));
  copyFileSync(BUSYBOX_PATH, path.join(dir, 'bin/busybox'));
  for (const applet of busyboxApplets()) symlinkSync('busybox', path.join(dir, 'bin', applet));
  writeFileSync(
    path.join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  );
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nstaff:x:50:nobody\nnobody:x:65534:\n');
}

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `runc run` in the foreground; killed (and the container force-deleted) if it outlives the timeout. */
function runc(id: string, bundle: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('runc', ['--root', runcRoot, 'run', '--bundle', bundle, id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    }, 30_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function run(
  script: string | string[],
  overrides: Partial<SpecInput> = {},
  userSpec = '',
): Promise<RunResult> {
  const id = `berth-oci-${process.pid}-${++counter}`;
  started.push(id);
  const bundle = path.join(work, id);
  mkdirSync(bundle);
  const spec = buildSpec({
    id,
    config: { Hostname: 'speccheck', Cmd: Array.isArray(script) ? script : ['sh', '-c', script] },
    hostConfig: {},
    user: await resolveUser(rootfs, userSpec, overrides.hostConfig?.GroupAdd),
    rootfsPath: rootfs,
    hostNofileHard: HOST_NOFILE_HARD,
    cgroupParent: CGROUP_PARENT,
    etcFiles: { hosts: path.join(work, 'hosts') },
    ...overrides,
  });
  // Several containers share one read-only-enough rootfs; keep it unmodified.
  spec.root.readonly = true;
  writeFileSync(path.join(bundle, 'config.json'), serializeSpec(spec));
  return runc(id, bundle);
}

/** Removes what a container can leave behind: runc state and empty cgroup directories. */
function cleanupContainer(id: string): void {
  spawnSync('runc', ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
  for (const controller of existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT) : []) {
    const dir = path.join(CGROUP_ROOT, controller, CGROUP_PARENT, id);
    if (existsSync(dir)) rmdirSync(dir);
  }
}

describe('buildSpec specs run under runc', { skip: !runcAvailable && 'needs root and runc' }, () => {
  before(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'berth-oci-runc-'));
    rootfs = path.join(work, 'rootfs');
    runcRoot = path.join(work, 'runc-root');
    makeRootfs(rootfs);
    writeFileSync(path.join(work, 'hosts'), '127.0.0.1\tlocalhost\n10.9.8.7\tspeccheck\n');
  });

  after(() => {
    for (const id of started) cleanupContainer(id);
    for (const controller of existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT) : []) {
      const parent = path.join(CGROUP_ROOT, controller, CGROUP_PARENT);
      if (existsSync(parent)) {
        try {
          rmdirSync(parent);
        } catch {
          // Another run of this test may still own containers under it.
        }
      }
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('default container: Docker’s capabilities, seccomp filter, rlimits, hostname, /etc/hosts', async () => {
    const result = await run(
      'grep -E "^(CapEff|CapBnd|Seccomp|NoNewPrivs):" /proc/self/status; ulimit -n; ulimit -Hn; hostname; grep speccheck /etc/hosts; id -u',
    );
    assert.equal(result.status, 0, result.stderr);
    const out = result.stdout;
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    assert.match(out, /CapEff:\s+00000000a80425fb/);
    assert.match(out, /CapBnd:\s+00000000a80425fb/);
    assert.match(out, /Seccomp:\s+2/);
    assert.match(out, /NoNewPrivs:\s+0/);
    assert.match(out, /^1024\n20000\nspeccheck\n10\.9\.8\.7\tspeccheck\n0$/m);
  });

  test('the seccomp profile denies namespace creation and mount', async () => {
    const script = 'unshare -U true; echo unshare=$?; mount -t tmpfs none /mnt; echo mount=$?';
    const confined = await run(script);
    assert.equal(confined.status, 0, confined.stderr);
    assert.match(confined.stdout, /unshare=1/);
    assert.match(confined.stdout, /mount=255|mount=1/);
    assert.match(confined.stderr, /unshare: unshare\(0x10000000\): Operation not permitted/);
    // Without the filter the same user namespace is allowed: the denial above came from seccomp.
    const unconfined = await run(script, { hostConfig: { SecurityOpt: ['seccomp=unconfined'] } });
    assert.match(unconfined.stdout, /unshare=0/);
  });

  test('CAP_SYS_ADMIN brings mount back, as in Docker', async () => {
    const result = await run('mount -t tmpfs none /mnt && echo mounted', {
      hostConfig: { CapAdd: ['SYS_ADMIN'] },
    });
    assert.match(result.stdout, /mounted/, result.stderr);
  });

  test('cgroup limits reach the container’s cgroup', async () => {
    const result = await run(
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us',
      {
        hostConfig: { Memory: 64 * 1024 * 1024, PidsLimit: 50, NanoCpus: 500_000_000 },
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split('\n'), ['67108864', '50', '50000']);
  });

  test('user, groups, no-new-privileges, dropped capabilities and masked paths', async () => {
    const result = await run(
      'id -u; id -G; grep -E "^(CapEff|NoNewPrivs):" /proc/self/status; cat /proc/kcore | head -c1 | wc -c; touch /proc/sys/x 2>&1; echo rc=$?',
      { hostConfig: { SecurityOpt: ['no-new-privileges'], CapDrop: ['ALL'], GroupAdd: ['root'] } },
      'nobody',
    );
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines[0], '65534');
    assert.deepEqual(lines[1].split(' ').sort(), ['0', '50', '65534']);
    assert.match(result.stdout, /CapEff:\s+0000000000000000/);
    assert.match(result.stdout, /NoNewPrivs:\s+1/);
    assert.match(result.stdout, /^0$/m);
    assert.match(result.stdout, /rc=1/);
  });

  test('privileged: every capability, no seccomp, writable /sys', async () => {
    const result = await run('grep -E "^(CapEff|Seccomp):" /proc/self/status; grep " /sys " /proc/mounts', {
      hostConfig: { Privileged: true },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Seccomp:\s+0/);
    // Everything the daemon itself may grant.
    const ownBounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
    assert.match(result.stdout, new RegExp(`CapEff:\\s+${ownBounding}`));
    assert.match(result.stdout, /sysfs \/sys sysfs rw/);
  });

  test('Init runs the command under tini as PID 1', async () => {
    const result = await run('cat /proc/1/cmdline | tr "\\0" " "; echo; echo $$', {
      hostConfig: { Init: true },
      initPath: '/usr/bin/tini-static',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^\/sbin\/docker-init -- sh -c /);
    assert.notEqual(result.stdout.trim().split('\n').at(-1), '1');
  });

  test('a custom profile in Docker’s format is enforced', async () => {
    const profile = JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    });
    const result = await run('mkdir /tmp/d; echo rc=$?', {
      hostConfig: { SecurityOpt: [`seccomp=${profile}`], Tmpfs: { '/tmp': '' } },
    });
    assert.match(result.stdout, /rc=1/);
    assert.match(result.stderr, /Permission denied/);
  });

  test('a glibc program with threads, subprocesses and sockets runs under the default profile', async () => {
    const program = `
      const { Worker } = require('worker_threads');
      const net = require('net');
      const out = [require('child_process').execFileSync('/bin/sh', ['-c', 'echo child']).toString().trim()];
      new Worker('require("worker_threads").parentPort.postMessage("worker")', { eval: true }).on('message', (m) => {
        out.push(m);
        const server = net.createServer((c) => c.end('socket')).listen(0, '127.0.0.1', () => {
          net.connect(server.address().port, '127.0.0.1').on('data', (d) => {
            out.push(d.toString());
            server.close();
            console.log(out.join(' '));
          });
        });
      });`;
    const result = await run([process.execPath, '-e', program], {
      hostConfig: { Init: true },
      initPath: '/usr/bin/tini-static',
      mounts: [{ destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] }],
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'child worker socket');
  });

  test('Ulimits and tmpfs mounts', async () => {
    const result = await run('ulimit -n; grep " /run " /proc/mounts', {
      hostConfig: {
        Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 8192 }],
        Tmpfs: { '/run': 'size=1m,mode=1777' },
      },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^4096$/m);
    assert.match(result.stdout, /tmpfs \/run tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/);
  });
});
