import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, splitWords } from '../../src/engine/images/changes.js';
import { isEngineError } from '../../src/common/errors.js';

describe('import/commit changes', () => {
  test('CMD and ENTRYPOINT in exec and shell form', () => {
    assert.deepEqual(applyChanges({}, ['CMD ["sh", "-c", "echo hi"]']).Cmd, ['sh', '-c', 'echo hi']);
    assert.deepEqual(applyChanges({}, ['CMD echo hi']).Cmd, ['/bin/sh', '-c', 'echo hi']);
    assert.deepEqual(applyChanges({ Shell: ['/bin/bash', '-c'] }, ['cmd ls']).Cmd, ['/bin/bash', '-c', 'ls']);
    const both = applyChanges({ Cmd: ['old'] }, ['CMD ["a"]', 'ENTRYPOINT ["/init"]']);
    assert.deepEqual(both, { Cmd: ['a'], Entrypoint: ['/init'] });
    // ENTRYPOINT without CMD in the same changes resets the inherited CMD, as a Dockerfile does.
    assert.deepEqual(applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT /init']), {
      Cmd: null,
      Entrypoint: ['/bin/sh', '-c', '/init'],
    });
  });

  test('ENV, LABEL with quotes and the legacy space form', () => {
    const config = applyChanges({ Env: ['A=1', 'B=2'] }, [
      'ENV A=3 C="with space"',
      'ENV D legacy value',
      'LABEL "x y"=z k=\'v w\'',
    ]);
    assert.deepEqual(config.Env, ['B=2', 'A=3', 'C=with space', 'D=legacy value']);
    assert.deepEqual(config.Labels, { 'x y': 'z', k: 'v w' });
  });

  test('EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL, ONBUILD, HEALTHCHECK', () => {
    const config = applyChanges({}, [
      'EXPOSE 80 53/udp 8000-8001',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache',
      'WORKDIR /app',
      'WORKDIR sub',
      'USER nobody:nogroup',
      'STOPSIGNAL SIGINT',
      'ONBUILD RUN make',
      'HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/',
    ]);
    assert.deepEqual(config.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8000-8001/tcp': {} });
    assert.deepEqual(config.Volumes, { '/data': {}, '/logs': {}, '/cache': {} });
    assert.equal(config.WorkingDir, '/app/sub');
    assert.equal(config.User, 'nobody:nogroup');
    assert.equal(config.StopSignal, 'SIGINT');
    assert.deepEqual(config.OnBuild, ['RUN make']);
    assert.deepEqual(config.Healthcheck, {
      Interval: 30e9,
      Retries: 3,
      Test: ['CMD-SHELL', 'curl -f http://localhost/'],
    });
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
    assert.deepEqual(applyChanges({}, ['HEALTHCHECK CMD ["true"]']).Healthcheck, { Test: ['CMD', 'true'] });
  });

  test("refuses instructions that are not metadata, with moby's message", () => {
    for (const change of ['RUN true', 'FROM busybox', 'COPY a b']) {
      assert.throws(
        () => applyChanges({}, [change]),
        (err: unknown) =>
          isEngineError(err, 'InvalidParameter') && /is not a valid change command$/.test(err.message),
      );
    }
    assert.throws(() => applyChanges({}, ['EXPOSE eighty']), /invalid containerPort: eighty/);
    assert.throws(() => applyChanges({}, ['ENV']), /requires at least one argument/);
  });

  test('does not modify the base config', () => {
    const base = { Env: ['A=1'] };
    applyChanges(base, ['ENV A=2']);
    assert.deepEqual(base, { Env: ['A=1'] });
  });

  test('word splitting', () => {
    assert.deepEqual(splitWords(`a "b c" 'd e' f\\ g h""`), ['a', 'b c', 'd e', 'f g', 'h']);
    assert.throws(() => splitWords('"open'), /unmatched quote/);
  });
});
