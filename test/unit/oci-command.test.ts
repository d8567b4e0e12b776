import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import {
  DEFAULT_PATH_ENV,
  mergeCommand,
  mergeConfigWithImage,
  mergeEnv,
  processEnv,
  replaceOrAppendEnv,
} from '../../src/oci/command.js';

const image = { Entrypoint: ['/entry.sh'], Cmd: ['serve', '--port=80'] };

describe('mergeCommand (Docker Entrypoint/Cmd rules)', () => {
  test('no request overrides: image entrypoint followed by image cmd', () => {
    const merged = mergeCommand(image, {});
    assert.deepEqual(merged.args, ['/entry.sh', 'serve', '--port=80']);
    assert.deepEqual(merged.Entrypoint, ['/entry.sh']);
    assert.deepEqual(merged.Cmd, ['serve', '--port=80']);
  });

  test('a Cmd from the request replaces the image Cmd and keeps the image Entrypoint', () => {
    assert.deepEqual(mergeCommand(image, { Cmd: ['migrate'] }).args, ['/entry.sh', 'migrate']);
  });

  test('an Entrypoint from the request replaces the image Entrypoint and drops the image Cmd', () => {
    const merged = mergeCommand(image, { Entrypoint: ['/bin/sh', '-c'] });
    assert.deepEqual(merged.args, ['/bin/sh', '-c']);
    assert.equal(merged.Cmd, null);
  });

  test('Entrypoint and Cmd from the request are both used', () => {
    assert.deepEqual(mergeCommand(image, { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'] }).args, [
      '/bin/sh',
      '-c',
      'echo hi',
    ]);
  });

  test('Entrypoint [""] clears the image entrypoint and cmd', () => {
    const merged = mergeCommand(image, { Entrypoint: [''], Cmd: ['ls', '/'] });
    assert.deepEqual(merged.args, ['ls', '/']);
    assert.equal(merged.Entrypoint, null);
    assert.throws(() => mergeCommand(image, { Entrypoint: [''] }), /No command specified/);
  });

  test('Entrypoint [] keeps the image Cmd but not the image Entrypoint', () => {
    const merged = mergeCommand(image, { Entrypoint: [] });
    assert.deepEqual(merged.args, ['serve', '--port=80']);
  });

  test('an empty Cmd in the request inherits the image Cmd', () => {
    assert.deepEqual(mergeCommand({ Cmd: ['sh'] }, { Cmd: [] }).args, ['sh']);
  });

  test('nothing to run is an InvalidParameter error', () => {
    assert.throws(
      () => mergeCommand({}, {}),
      (err) => isEngineError(err, 'InvalidParameter') && err.message === 'No command specified',
    );
  });

  test('merging an already merged config changes nothing', () => {
    const stored = mergeConfigWithImage({ Cmd: ['migrate'] }, image);
    assert.deepEqual(mergeCommand(undefined, stored).args, ['/entry.sh', 'migrate']);
  });
});

describe('environment', () => {
  test('create-time merge: request variables win, image variables fill in', () => {
    assert.deepEqual(mergeEnv(['PATH=/img', 'LANG=C', 'A=image'], ['A=mine', 'B=2']), [
      'A=mine',
      'B=2',
      'PATH=/img',
      'LANG=C',
    ]);
    assert.deepEqual(mergeEnv(['X=1'], []), ['X=1']);
    assert.deepEqual(mergeEnv(undefined, undefined), []);
  });

  test('process env starts from PATH and HOSTNAME (and TERM with a tty)', () => {
    assert.deepEqual(processEnv([], { hostname: 'c1' }), [DEFAULT_PATH_ENV, 'HOSTNAME=c1']);
    assert.deepEqual(processEnv(['A=1'], { hostname: 'c1', tty: true }), [
      DEFAULT_PATH_ENV,
      'HOSTNAME=c1',
      'TERM=xterm',
      'A=1',
    ]);
  });

  test('the container env overrides the defaults in place', () => {
    assert.deepEqual(processEnv(['PATH=/opt/bin', 'TERM=vt100'], { hostname: 'h', tty: true }), [
      'PATH=/opt/bin',
      'HOSTNAME=h',
      'TERM=vt100',
    ]);
  });

  test('a bare name removes a variable; later values win', () => {
    assert.deepEqual(replaceOrAppendEnv(['A=1', 'B=2'], ['A', 'C=3', 'C=4']), ['B=2', 'C=4']);
  });
});

describe('mergeConfigWithImage', () => {
  test('fills user, workdir, env, labels, volumes, ports, stop signal and healthcheck from the image', () => {
    const merged = mergeConfigWithImage(
      { Env: ['A=1'], Labels: { mine: 'yes' }, ExposedPorts: { '53/udp': {} }, Healthcheck: { Interval: 5 } },
      {
        User: 'app',
        WorkingDir: '/srv',
        Env: ['PATH=/usr/bin', 'A=0'],
        Labels: { from: 'image', mine: 'no' },
        ExposedPorts: { '80/tcp': {} },
        Volumes: { '/data': {} },
        StopSignal: 'SIGQUIT',
        Cmd: ['run'],
        Healthcheck: { Test: ['CMD', 'true'], Interval: 30, Retries: 3 },
      },
    );
    assert.equal(merged.User, 'app');
    assert.equal(merged.WorkingDir, '/srv');
    assert.deepEqual(merged.Env, ['A=1', 'PATH=/usr/bin']);
    assert.deepEqual(merged.Labels, { from: 'image', mine: 'yes' });
    assert.deepEqual(merged.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.deepEqual(merged.Volumes, { '/data': {} });
    assert.equal(merged.StopSignal, 'SIGQUIT');
    assert.deepEqual(merged.Cmd, ['run']);
    assert.deepEqual(merged.Healthcheck?.Test, ['CMD', 'true']);
    assert.equal(merged.Healthcheck?.Interval, 5);
    assert.equal(merged.Healthcheck?.Retries, 3);
  });

  test('the request keeps its own user and workdir', () => {
    const merged = mergeConfigWithImage(
      { User: '1000:1000', WorkingDir: '/w', Cmd: ['x'] },
      { User: 'app', WorkingDir: '/srv' },
    );
    assert.equal(merged.User, '1000:1000');
    assert.equal(merged.WorkingDir, '/w');
  });
});
