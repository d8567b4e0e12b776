import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DockerfileError } from '../../src/build/dockerfile/errors.js';
import { parseStages, parseTrigger, type Instruction } from '../../src/build/dockerfile/instructions.js';
import { parseMountSpec, ramInBytes, csvFields } from '../../src/build/dockerfile/mount.js';
import { parseGoDuration } from '../../src/build/dockerfile/duration.js';

const lines = (...l: string[]): string => l.join('\n') + '\n';

function one(line: string): Instruction {
  const [stage] = parseStages(lines('FROM base', line)).stages;
  assert.equal(stage.instructions.length, 1);
  return stage.instructions[0];
}

function failure(line: string): string {
  try {
    parseStages(lines('FROM base', line));
  } catch (err) {
    assert.ok(err instanceof DockerfileError);
    return err.message;
  }
  assert.fail(`expected ${line} to fail`);
}

describe('instructions', () => {
  test('FROM: AS name (lower-cased), --platform, scratch, errors', () => {
    const df = parseStages(lines('FROM --platform=$BUILDPLATFORM golang:1.22 AS Builder', 'FROM scratch'));
    assert.deepEqual(
      df.stages.map((s) => [s.index, s.name, s.baseName, s.platform]),
      [
        [0, 'builder', 'golang:1.22', '$BUILDPLATFORM'],
        [1, undefined, 'scratch', undefined],
      ],
    );
    assert.equal(df.stages[0].original, 'FROM --platform=$BUILDPLATFORM golang:1.22 AS Builder');
    const bad = (text: string): string => {
      try {
        parseStages(text);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    assert.equal(
      bad('FROM a AS 1x\n'),
      'dockerfile parse error on line 1: invalid name for build stage: "1x", name can\'t start with a number or contain symbols',
    );
    assert.equal(
      bad('FROM a b\n'),
      'dockerfile parse error on line 1: FROM requires either one or three arguments',
    );
    assert.equal(
      bad('FROM\n'),
      'dockerfile parse error on line 1: FROM requires either one or three arguments',
    );
  });

  test('RUN: shell and exec forms, mounts, network, security', () => {
    const run = one(
      'RUN --mount=type=cache,id=gomod,target=/go/pkg/mod,sharing=locked --mount=type=secret,id=npmrc,dst=/root/.npmrc,required --network=none go build',
    );
    assert.ok(run.kind === 'RUN');
    assert.deepEqual(run.command, ['go build']);
    assert.equal(run.shell, true);
    assert.equal(run.network, 'none');
    assert.equal(run.security, 'sandbox');
    assert.deepEqual(run.flagsUsed, ['mount', 'network']);
    assert.deepEqual(run.mounts, [
      {
        type: 'cache',
        id: 'gomod',
        target: '/go/pkg/mod',
        sharing: 'locked',
        readOnly: false,
        required: false,
      },
      { type: 'secret', id: 'npmrc', target: '/root/.npmrc', readOnly: true, required: true },
    ]);
    assert.equal(
      failure('RUN --network=bridge x'),
      'dockerfile parse error on line 2: invalid network mode "bridge"',
    );
    assert.equal(
      failure('RUN --security=foo x'),
      'dockerfile parse error on line 2: security "foo" is not valid',
    );
    const exec = one('RUN ["/bin/bash", "-c", "echo hi"]');
    assert.ok(exec.kind === 'RUN');
    assert.deepEqual([exec.command, exec.shell], [['/bin/bash', '-c', 'echo hi'], false]);
  });

  test('RUN --mount with variables is resolved later; from= cannot use variables', () => {
    const run = one('RUN --mount=type=bind,from=build,source=$SRC,target=/src make');
    assert.ok(run.kind === 'RUN');
    assert.equal(run.mounts[0].unresolved, true);
    assert.equal(run.mounts[0].from, 'build');
    assert.match(
      failure('RUN --mount=from=$STAGE,target=/x make'),
      /'from' doesn't support variable expansion, define alias stage instead/,
    );
  });

  test('CMD and ENTRYPOINT', () => {
    const cmd = one('CMD ["nginx", "-g", "daemon off;"]');
    assert.ok(cmd.kind === 'CMD');
    assert.deepEqual([cmd.command, cmd.shell], [['nginx', '-g', 'daemon off;'], false]);
    const entry = one('ENTRYPOINT exec top -b');
    assert.ok(entry.kind === 'ENTRYPOINT');
    assert.deepEqual([entry.command, entry.shell], [['exec top -b'], true]);
    const cleared = one('ENTRYPOINT []');
    assert.ok(cleared.kind === 'ENTRYPOINT');
    assert.deepEqual(cleared.command, []);
  });

  test('LABEL: several pairs, quoted keys and values, legacy form', () => {
    const label = one('LABEL "com.example.vendor"="ACME Inc" version=1.0 description="multi\\ word"');
    assert.ok(label.kind === 'LABEL');
    assert.deepEqual(
      label.labels.map((l) => [l.key, l.value]),
      [
        ['"com.example.vendor"', '"ACME Inc"'],
        ['version', '1.0'],
        ['description', '"multi\\ word"'],
      ],
    );
    const legacy = one('LABEL maintainer someone@example.com');
    assert.ok(legacy.kind === 'LABEL');
    assert.deepEqual(legacy.labels, [{ key: 'maintainer', value: 'someone@example.com', legacy: true }]);
    assert.match(failure('LABEL'), /LABEL requires at least one argument/);
  });

  test('ENV: k=v pairs and the legacy `ENV k v w` form', () => {
    const env = one('ENV PATH=/usr/local/go/bin:$PATH GOPATH="/go"');
    assert.ok(env.kind === 'ENV');
    assert.deepEqual(
      env.env.map((e) => [e.key, e.value, e.legacy]),
      [
        ['PATH', '/usr/local/go/bin:$PATH', false],
        ['GOPATH', '"/go"', false],
      ],
    );
    const legacy = one('ENV MY_NAME John Doe');
    assert.ok(legacy.kind === 'ENV');
    assert.deepEqual(legacy.env, [{ key: 'MY_NAME', value: 'John Doe', legacy: true }]);
    assert.equal(failure('ENV ONLY'), 'dockerfile parse error on line 2: ENV must have two arguments');
    assert.equal(
      failure('ENV a=1 b'),
      'dockerfile parse error on line 2: Syntax error - can\'t find = in "b". Must be of the form: name=value',
    );
    assert.equal(failure('ENV =x'), 'dockerfile parse error on line 2: ENV names can not be blank');
  });

  test('EXPOSE, USER, WORKDIR, STOPSIGNAL, VOLUME, MAINTAINER', () => {
    const expose = one('EXPOSE 8080/udp 80 443');
    assert.ok(expose.kind === 'EXPOSE');
    assert.deepEqual(expose.ports, ['443', '80', '8080/udp']);
    const user = one('USER app:app');
    assert.ok(user.kind === 'USER' && user.user === 'app:app');
    assert.match(failure('USER'), /USER requires exactly one argument/);
    const workdir = one('WORKDIR /srv/my app');
    assert.ok(workdir.kind === 'WORKDIR' && workdir.path === '/srv/my app');
    const stop = one('STOPSIGNAL SIGQUIT');
    assert.ok(stop.kind === 'STOPSIGNAL' && stop.signal === 'SIGQUIT');
    const json = one('VOLUME ["/data", "/logs"]');
    const list = one('VOLUME /data /logs');
    assert.ok(json.kind === 'VOLUME' && list.kind === 'VOLUME');
    assert.deepEqual(json.volumes, ['/data', '/logs']);
    assert.deepEqual(list.volumes, ['/data', '/logs']);
    assert.match(failure('VOLUME [""]'), /VOLUME specified can not be an empty string/);
    const maintainer = one('MAINTAINER Jane <jane@example.com>');
    assert.ok(maintainer.kind === 'MAINTAINER' && maintainer.maintainer === 'Jane <jane@example.com>');
  });

  test('ARG: with and without defaults, several at once', () => {
    const arg = one('ARG VERSION=1.0 DEBUG NAME="a b" EMPTY=');
    assert.ok(arg.kind === 'ARG');
    assert.deepEqual(arg.args, [
      { key: 'VERSION', value: '1.0' },
      { key: 'DEBUG' },
      { key: 'NAME', value: '"a b"' },
      { key: 'EMPTY', value: '' },
    ]);
    assert.match(failure('ARG =x'), /ARG names can not be blank/);
  });

  test('SHELL must be JSON', () => {
    const shell = one('SHELL ["/bin/bash", "-o", "pipefail", "-c"]');
    assert.ok(shell.kind === 'SHELL');
    assert.deepEqual(shell.shell, ['/bin/bash', '-o', 'pipefail', '-c']);
    assert.equal(
      failure('SHELL /bin/bash -c'),
      'dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form',
    );
  });

  test('ONBUILD: nested instruction, forbidden triggers, parseTrigger', () => {
    const onbuild = one('ONBUILD COPY --chown=app . /app/src');
    assert.ok(onbuild.kind === 'ONBUILD');
    assert.equal(onbuild.expression, 'COPY --chown=app . /app/src');
    const trigger = parseTrigger(onbuild.expression);
    assert.ok(trigger.kind === 'COPY');
    assert.deepEqual([trigger.chown, trigger.sources, trigger.dest], ['app', ['.'], '/app/src']);
    assert.match(failure('ONBUILD ONBUILD RUN x'), /Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/);
    assert.match(failure('ONBUILD FROM x'), /FROM isn't allowed as an ONBUILD trigger/);
    assert.match(failure('onbuild maintainer me'), /MAINTAINER isn't allowed as an ONBUILD trigger/);
    assert.match(failure('ONBUILD'), /ONBUILD requires at least one argument/);
  });

  test('HEALTHCHECK: NONE, options then CMD, exec form, errors', () => {
    const none = one('HEALTHCHECK NONE');
    assert.ok(none.kind === 'HEALTHCHECK');
    assert.deepEqual(none.health.test, ['NONE']);
    const full = one(
      'HEALTHCHECK --interval=30s --timeout=3s --start-period=1m30s --start-interval=500ms --retries=5 CMD ["curl", "-f", "http://localhost/"]',
    );
    assert.ok(full.kind === 'HEALTHCHECK');
    assert.deepEqual(full.health, {
      test: ['CMD', 'curl', '-f', 'http://localhost/'],
      interval: 30e9,
      timeout: 3e9,
      startPeriod: 90e9,
      startInterval: 500e6,
      retries: 5,
    });
    const shell = one('HEALTHCHECK CMD wget -q -O- localhost || exit 1');
    assert.ok(shell.kind === 'HEALTHCHECK');
    assert.deepEqual(shell.health.test, ['CMD-SHELL', 'wget -q -O- localhost || exit 1']);
    assert.match(failure('HEALTHCHECK NONE extra'), /HEALTHCHECK NONE takes no arguments/);
    assert.match(failure('HEALTHCHECK CMD'), /Missing command after HEALTHCHECK CMD/);
    assert.match(failure('HEALTHCHECK RUN x'), /Unknown type "RUN" in HEALTHCHECK \(try CMD\)/);
    assert.match(
      failure('HEALTHCHECK --interval=100us CMD x'),
      /Interval "interval" cannot be less than 1ms/,
    );
    assert.match(failure('HEALTHCHECK --timeout=abc CMD x'), /time: invalid duration "abc"/);
    assert.match(failure('HEALTHCHECK --retries=-1 CMD x'), /--retries cannot be negative \(-1\)/);
    assert.match(failure('HEALTHCHECK --retries=x CMD x'), /strconv.ParseInt: parsing "x": invalid syntax/);
    assert.match(
      failure('HEALTHCHECK --intervall=1s CMD x'),
      /unknown flag: --intervall \(did you mean interval\?\)/,
    );
  });
});

describe('RUN --mount specs', () => {
  test('defaults: bind read-only, cache and tmpfs writable', () => {
    assert.deepEqual(parseMountSpec('target=/src'), {
      type: 'bind',
      target: '/src',
      readOnly: true,
      required: false,
    });
    assert.equal(parseMountSpec('type=bind,target=/src,rw').readOnly, false);
    assert.equal(parseMountSpec('type=cache,target=/c').readOnly, false);
    assert.equal(parseMountSpec('type=cache,target=/c,ro').readOnly, true);
    assert.equal(parseMountSpec('type=tmpfs,dst=/t,size=64m').sizeLimit, 64 * 2 ** 20);
  });

  test('all keys, aliases and numeric fields', () => {
    assert.deepEqual(
      parseMountSpec(
        'type=cache,id=apt,destination=/var/cache/apt,from=base,src=/cache,sharing=private,mode=0700,uid=1000,gid=1000,readonly=false',
      ),
      {
        type: 'cache',
        id: 'apt',
        target: '/var/cache/apt',
        from: 'base',
        source: '/cache',
        sharing: 'private',
        mode: 0o700,
        uid: 1000,
        gid: 1000,
        readOnly: false,
        required: false,
      },
    );
    assert.deepEqual(parseMountSpec('type=secret,id=aws,env=AWS_KEY,required=true'), {
      type: 'secret',
      id: 'aws',
      env: 'AWS_KEY',
      required: true,
      readOnly: true,
    });
  });

  test('validation errors as BuildKit words them', () => {
    const err = (spec: string): string => {
      try {
        parseMountSpec(spec);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    assert.equal(err('type=volume,target=/x'), 'unsupported mount type "volume"');
    assert.equal(err('type=cahce,target=/x'), 'unsupported mount type "cahce" (did you mean cache?)');
    assert.equal(err('type=cache,target=/x,sharing=global'), 'unsupported sharing value "global"');
    assert.equal(err('type=bind,target=/x,sharing=locked'), 'invalid cache sharing set for bind mount');
    assert.equal(err('type=bind,target=/x,mode=0755'), 'mode not allowed for "bind" type mounts');
    assert.equal(err('type=cache,target=/x,uid=abc'), 'invalid value abc for uid');
    assert.equal(err('type=cache,target=/x,mode=999'), 'invalid value 999 for mode');
    assert.equal(err('type=bind,target=/x,size=1g'), "unexpected key 'size' for mount type 'bind'");
    assert.equal(err('type=bind,required,target=/x'), "unexpected key 'required' for mount type 'bind'");
    assert.equal(err('type=secret'), 'invalid secret mount. one of source, target required');
    assert.equal(err('type=secret,id=a,source=b'), "both source and id can't be set");
    assert.equal(err('type=secret,id=a,from=x'), 'secret mount should not have a from');
    assert.equal(err('type=bind,targte=/x'), "unexpected key 'targte' in 'targte=/x' (did you mean target?)");
    assert.equal(err('type=bind,target=/x,bogus'), "invalid field 'bogus' must be a key=value pair");
    assert.equal(err('type=bind,ro=maybe,target=/x'), 'invalid value for ro: maybe');
  });

  test('CSV quoting in mount specs', () => {
    assert.deepEqual(csvFields('type=bind,"target=/a,b",ro'), ['type=bind', 'target=/a,b', 'ro']);
    assert.deepEqual(csvFields('"say ""hi"""'), ['say "hi"']);
    assert.throws(() => csvFields('a"b'), /bare " in non-quoted-field/);
    assert.equal(ramInBytes('1.5GiB'), 1.5 * 2 ** 30);
    assert.equal(ramInBytes('512'), 512);
    assert.equal(ramInBytes('lots'), undefined);
  });
});

describe('Go durations', () => {
  test('parses what time.ParseDuration parses', () => {
    assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
    assert.equal(parseGoDuration('250ms'), 250e6);
    assert.equal(parseGoDuration('1.5µs'), 1500);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('-2s'), -2e9);
    assert.throws(() => parseGoDuration('5'), /time: missing unit in duration "5"/);
    assert.throws(() => parseGoDuration('5d'), /time: unknown unit "d" in duration "5d"/);
    assert.throws(() => parseGoDuration(''), /time: invalid duration ""/);
  });
});
