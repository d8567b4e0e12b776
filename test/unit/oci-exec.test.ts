import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CAPABILITIES } from '../../src/oci/capabilities.js';
import { DEFAULT_PATH_ENV } from '../../src/oci/command.js';
import { buildExecProcess } from '../../src/oci/exec.js';
import { buildSpec } from '../../src/oci/spec.js';

const spec = buildSpec({
  id: 'c1',
  config: {
    Hostname: 'c1',
    Cmd: ['sleep', '1000'],
    Env: ['MODE=prod', 'LANG=C'],
    WorkingDir: '/srv',
    Tty: true,
  },
  hostConfig: { ConsoleSize: [24, 80], SecurityOpt: ['no-new-privileges'] },
  user: { uid: 1000, gid: 1000, additionalGids: [1000], home: '/home/app' },
  hostNofileHard: 20000,
  host: { arch: 'x64', kernelRelease: '6.1.0', sysctlExists: () => false },
});

describe('buildExecProcess', () => {
  test('inherits the container’s security settings and runs the exec command', () => {
    const p = buildExecProcess({
      containerProcess: spec.process,
      config: { Hostname: 'c1', Env: ['MODE=prod'], WorkingDir: '/srv' },
      exec: { Cmd: ['ls', '-l'] },
    });
    assert.deepEqual(p.args, ['ls', '-l']);
    assert.equal(p.terminal, false);
    assert.equal(p.consoleSize, undefined);
    assert.equal(p.cwd, '/srv');
    assert.deepEqual(p.user, { uid: 1000, gid: 1000, additionalGids: [1000] });
    assert.deepEqual(p.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
    assert.equal(p.noNewPrivileges, true);
    assert.deepEqual(p.rlimits, spec.process.rlimits);
    assert.deepEqual(p.env, [DEFAULT_PATH_ENV, 'HOSTNAME=c1', 'MODE=prod']);
  });

  test('exec env, user, workdir, tty and console size override', () => {
    const p = buildExecProcess({
      containerProcess: spec.process,
      config: { Hostname: 'c1', Env: ['MODE=prod', 'LANG=C'] },
      exec: {
        Cmd: ['sh'],
        Env: ['MODE=debug', 'LANG'],
        WorkingDir: '/tmp',
        Tty: true,
        ConsoleSize: [50, 120],
      },
      user: { uid: 0, gid: 0, additionalGids: [0], home: '/root' },
    });
    assert.deepEqual(p.env, [DEFAULT_PATH_ENV, 'HOSTNAME=c1', 'TERM=xterm', 'MODE=debug']);
    assert.equal(p.cwd, '/tmp');
    assert.equal(p.terminal, true);
    assert.deepEqual(p.consoleSize, { height: 50, width: 120 });
    assert.equal(p.user.uid, 0);
  });

  test('a privileged exec gets every capability the host can grant', () => {
    const p = buildExecProcess({
      containerProcess: spec.process,
      config: {},
      exec: { Cmd: ['id'], Privileged: true },
      privilegedCapabilities: ['CAP_SYS_ADMIN', 'CAP_CHOWN'],
    });
    assert.deepEqual(p.capabilities, {
      bounding: ['CAP_SYS_ADMIN', 'CAP_CHOWN'],
      effective: ['CAP_SYS_ADMIN', 'CAP_CHOWN'],
      permitted: ['CAP_SYS_ADMIN', 'CAP_CHOWN'],
    });
    assert.deepEqual(spec.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
  });

  test('an empty command is refused', () => {
    assert.throws(
      () => buildExecProcess({ containerProcess: spec.process, config: {}, exec: { Cmd: [] } }),
      /No exec command specified/,
    );
  });
});
