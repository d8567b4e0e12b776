import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  commandLine,
  expandInstruction,
  exposedPorts,
  expandFrom,
} from '../../src/build/dockerfile/expand.js';
import { parseStages, type Instruction } from '../../src/build/dockerfile/instructions.js';
import { envFromList } from '../../src/build/dockerfile/lex.js';

const lines = (...l: string[]): string => l.join('\n') + '\n';
const env = envFromList(['APP=/srv/app', 'USER_ID=1000', 'NAME=my app', 'PORTS=80 443/udp', 'TAG=v1']);

function expanded(line: string, header = ''): Instruction {
  const df = parseStages((header ? header + '\n' : '') + lines('FROM base', line));
  return expandInstruction(df.stages[0].instructions[0], env, df.escapeToken);
}

describe('expansion of instructions', () => {
  test('COPY/ADD expand sources, destination, --chown and --chmod but never --from', () => {
    const copy = expanded('COPY --from=$TAG --chown=$USER_ID:$USER_ID ${APP}/bin/* $APP/');
    assert.ok(copy.kind === 'COPY');
    assert.deepEqual(
      [copy.from, copy.chown, copy.sources, copy.dest],
      ['$TAG', '1000:1000', ['/srv/app/bin/*'], '/srv/app/'],
    );
    // Substrings are not part of Docker's expansion language.
    assert.throws(
      () => expanded('ADD --chmod=0${USER_ID:0:1}44 a b'),
      /unsupported modifier \(:0\) in substitution/,
    );
    assert.throws(
      () => expanded('ADD --chmod=${BAD a b'),
      /dockerfile parse error on line 2: failed to process "\$\{BAD": syntax error: missing '}'/,
    );
  });

  test('heredoc sources expand unless the delimiter was quoted; quotes are kept in the body', () => {
    const open = expanded('COPY <<EOF /cfg\nname="$NAME" path=\'${APP}\'\nEOF');
    assert.ok(open.kind === 'COPY');
    assert.equal(open.contents[0].data, 'name="my app" path=\'/srv/app\'\n');
    const quoted = expanded("COPY <<'EOF' /cfg\nname=$NAME\nEOF");
    assert.ok(quoted.kind === 'COPY');
    assert.equal(quoted.contents[0].data, 'name=$NAME\n');
  });

  test('ENV and LABEL expand keys and values and remove quotes', () => {
    const envI = expanded('ENV HOME_DIR="$APP/home" GREETING=hello\\ world');
    assert.ok(envI.kind === 'ENV');
    assert.deepEqual(
      envI.env.map((e) => [e.key, e.value]),
      [
        ['HOME_DIR', '/srv/app/home'],
        ['GREETING', 'hello world'],
      ],
    );
    const label = expanded('LABEL "org.opencontainers.image.version"=$TAG description="${NAME}"');
    assert.ok(label.kind === 'LABEL');
    assert.deepEqual(
      label.labels.map((l) => [l.key, l.value]),
      [
        ['org.opencontainers.image.version', 'v1'],
        ['description', 'my app'],
      ],
    );
    const legacy = expanded('ENV GREETING hello "$NAME"');
    assert.ok(legacy.kind === 'ENV');
    assert.equal(legacy.env[0].value, 'hello my app');
  });

  test('WORKDIR, USER, STOPSIGNAL, VOLUME expand; EXPOSE splits words', () => {
    const workdir = expanded('WORKDIR $APP/src');
    assert.ok(workdir.kind === 'WORKDIR' && workdir.path === '/srv/app/src');
    const user = expanded('USER ${USER_ID}:${GID:-0}');
    assert.ok(user.kind === 'USER' && user.user === '1000:0');
    const volume = expanded('VOLUME $APP/data /logs');
    assert.ok(volume.kind === 'VOLUME');
    assert.deepEqual(volume.volumes, ['/srv/app/data', '/logs']);
    const expose = expanded('EXPOSE $PORTS 8080');
    assert.ok(expose.kind === 'EXPOSE');
    assert.deepEqual(expose.ports, ['80', '443/udp', '8080']);
    const stop = expanded('STOPSIGNAL ${SIG:-SIGTERM}');
    assert.ok(stop.kind === 'STOPSIGNAL' && stop.signal === 'SIGTERM');
  });

  test('RUN, CMD, ENTRYPOINT, HEALTHCHECK, SHELL and ONBUILD are left to the shell or the child build', () => {
    for (const line of [
      'RUN echo $APP',
      'CMD echo $APP',
      'ENTRYPOINT ["$APP"]',
      'HEALTHCHECK CMD curl $APP',
      'ONBUILD COPY $APP /x',
    ]) {
      const before = parseStages(lines('FROM base', line)).stages[0].instructions[0];
      assert.deepEqual(expandInstruction(before, env, '\\'), before, line);
    }
  });

  test('RUN mounts are resolved with the variables in scope', () => {
    const run = expanded('RUN --mount=type=cache,target=$APP/cache,uid=$USER_ID make');
    assert.ok(run.kind === 'RUN');
    assert.deepEqual(run.mounts, [
      { type: 'cache', target: '/srv/app/cache', uid: 1000, readOnly: false, required: false },
    ]);
    assert.equal(run.mounts[0].unresolved, undefined);
  });

  test('the backtick escape token applies to expansion', () => {
    const workdir = expanded('WORKDIR C:\\app`$TAG', '# escape=`');
    assert.ok(workdir.kind === 'WORKDIR');
    assert.equal(workdir.path, 'C:\\app$TAG');
  });

  test('FROM expands with the global scope only', () => {
    const df = parseStages(lines('FROM --platform=${P} img:${TAG:-latest} AS x'));
    const from = expandFrom(df.stages[0], envFromList(['P=linux/arm64']), '\\');
    assert.deepEqual([from.baseName, from.platform, [...from.used]], ['img:latest', 'linux/arm64', ['P']]);
    assert.throws(
      () => expandFrom(df.stages[0], envFromList(['P=']), '\\'),
      /empty platform value from expression \$\{P\}/,
    );
  });
});

describe('command lines', () => {
  const run = (line: string): Instruction => parseStages(lines('FROM a', line)).stages[0].instructions[0];

  test('shell form gets the shell, exec form does not', () => {
    const shellForm = run('RUN apt-get update && apt-get install -y curl');
    assert.ok(shellForm.kind === 'RUN');
    assert.deepEqual(commandLine(shellForm).args, [
      '/bin/sh',
      '-c',
      'apt-get update && apt-get install -y curl',
    ]);
    assert.deepEqual(commandLine(shellForm, ['/bin/bash', '-eo', 'pipefail', '-c']).args, [
      '/bin/bash',
      '-eo',
      'pipefail',
      '-c',
      'apt-get update && apt-get install -y curl',
    ]);
    const exec = run('RUN ["echo", "hi"]');
    assert.ok(exec.kind === 'RUN');
    assert.deepEqual(commandLine(exec).args, ['echo', 'hi']);
  });

  test('a lone heredoc runs its body; a #! body becomes an executable script', () => {
    const plain = run('RUN <<EOF\napk add git\ngit --version\nEOF');
    assert.ok(plain.kind === 'RUN');
    assert.deepEqual(commandLine(plain), {
      args: ['/bin/sh', '-c', 'apk add git\ngit --version\n'],
      scripts: [],
    });
    const script = run('RUN <<-EOF\n\t#!/usr/bin/env python3\n\tprint("hi")\n\tEOF');
    assert.ok(script.kind === 'RUN');
    assert.deepEqual(commandLine(script), {
      args: ['/bin/sh', '-c', '/dev/pipes/EOF'],
      scripts: [{ path: '/dev/pipes/EOF', data: '#!/usr/bin/env python3\nprint("hi")\n', mode: 0o755 }],
    });
  });

  test('heredocs inside a longer command go to the shell verbatim', () => {
    const r = run('RUN cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB');
    assert.ok(r.kind === 'RUN');
    assert.deepEqual(commandLine(r).args, ['/bin/sh', '-c', 'cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB']);
  });
});

describe('exposed ports', () => {
  test('normalises as Docker does', () => {
    assert.deepEqual(exposedPorts(['80', '443/UDP', '7000-7002/tcp', '53/sctp']), [
      '80/tcp',
      '443/udp',
      '7000/tcp',
      '7001/tcp',
      '7002/tcp',
      '53/sctp',
    ]);
    assert.throws(() => exposedPorts(['80/icmp']), /invalid proto: icmp/);
    assert.throws(() => exposedPorts(['http']), /invalid containerPort: http/);
    assert.throws(() => exposedPorts(['70000']), /invalid containerPort: 70000/);
    assert.throws(() => exposedPorts(['9-3']), /invalid containerPort: 9-3/);
  });
});
