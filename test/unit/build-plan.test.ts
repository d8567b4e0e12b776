import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DockerfileError } from '../../src/build/dockerfile/errors.js';
import { parseStages, type Instruction } from '../../src/build/dockerfile/instructions.js';
import { expandInstruction } from '../../src/build/dockerfile/expand.js';
import {
  planBuild,
  runHistoryCommand,
  type BuildPlan,
  type PlanOptions,
  type StageScope,
} from '../../src/build/plan.js';

const lines = (...l: string[]): string => l.join('\n') + '\n';
const amd64 = { buildPlatform: 'linux/amd64' };

function plan(text: string, options: PlanOptions = {}): BuildPlan {
  return planBuild(parseStages(text), { ...amd64, ...options });
}

function planError(text: string, options: PlanOptions = {}): string {
  try {
    plan(text, options);
  } catch (err) {
    assert.ok(err instanceof DockerfileError, String(err));
    return err.message;
  }
  assert.fail('expected an error');
}

/**
 * Walks one stage the way a builder does: ARG declares, ENV sets (after
 * expansion), other instructions expand. Returns each instruction expanded.
 */
function walk(
  p: BuildPlan,
  index: number,
  imageEnv: string[] = [],
  parent?: StageScope,
): { scope: StageScope; expanded: Instruction[] } {
  const stage = p.allStages[index];
  const scope = p.newScope(stage, imageEnv, parent);
  const expanded: Instruction[] = [];
  for (const instruction of stage.stage.instructions) {
    if (instruction.kind === 'ARG') {
      scope.declare(instruction);
      expanded.push(instruction);
      continue;
    }
    const done = expandInstruction(instruction, scope.lookup, p.escapeToken);
    if (done.kind === 'ENV') for (const kv of done.env) scope.setEnv(kv.key, kv.value);
    expanded.push(done);
  }
  return { scope, expanded };
}

const GO_MULTISTAGE = lines(
  '# syntax=docker/dockerfile:1',
  'ARG GO_VERSION=1.22',
  'FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS build',
  'ARG TARGETOS TARGETARCH',
  'WORKDIR /src',
  'COPY go.mod go.sum ./',
  'RUN --mount=type=cache,target=/go/pkg/mod go mod download',
  'COPY . .',
  'RUN --mount=type=cache,target=/root/.cache/go-build \\',
  '    GOOS=$TARGETOS GOARCH=$TARGETARCH CGO_ENABLED=0 go build -o /out/server ./cmd/server',
  '',
  'FROM alpine:3.19 AS certs',
  'RUN apk add --no-cache ca-certificates',
  '',
  'FROM scratch',
  'COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/',
  'COPY --from=build /out/server /server',
  'USER 65534',
  'ENTRYPOINT ["/server"]',
);

const NODE_MULTISTAGE = lines(
  'FROM node:20-alpine AS deps',
  'WORKDIR /app',
  'COPY package.json package-lock.json ./',
  'RUN npm ci',
  'FROM node:20-alpine AS builder',
  'WORKDIR /app',
  'COPY --from=deps /app/node_modules ./node_modules',
  'COPY . .',
  'ENV NEXT_TELEMETRY_DISABLED=1',
  'RUN npm run build',
  'FROM node:20-alpine AS test',
  'COPY --from=builder /app /app',
  'RUN npm test',
  'FROM node:20-alpine AS runner',
  'WORKDIR /app',
  'ENV NODE_ENV=production',
  'RUN addgroup -S app && adduser -S app -G app',
  'COPY --from=builder --chown=app:app /app/.next ./.next',
  'COPY --from=builder /app/public ./public',
  'USER app',
  'EXPOSE 3000',
  'CMD ["node", "server.js"]',
);

describe('build plan: stages', () => {
  test('a Go cross-compiling build: global ARG in FROM, BUILDPLATFORM, TARGETARCH', () => {
    const p = plan(GO_MULTISTAGE, { platform: 'linux/arm64' });
    assert.deepEqual(
      p.stages.map((s) => s.displayName),
      ['build', 'certs', 'stage-2'],
    );
    assert.deepEqual(
      p.levels.map((l) => l.map((s) => s.displayName)),
      [['build', 'certs'], ['stage-2']],
    );
    const build = p.allStages[0];
    assert.equal(build.baseName, 'golang:1.22-alpine');
    assert.deepEqual(build.platform, { os: 'linux', architecture: 'amd64' });
    assert.equal(build.explicitPlatform, true);
    assert.deepEqual(p.allStages[1].platform, { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(p.target.base, { kind: 'scratch' });
    assert.deepEqual(p.target.dependsOn, [0, 1]);

    const { expanded, scope } = walk(p, 0);
    assert.deepEqual(scope.declaredArgs(), [
      { key: 'TARGETOS', value: 'linux' },
      { key: 'TARGETARCH', value: 'arm64' },
    ]);
    assert.deepEqual(scope.historyArgs(), ['TARGETARCH=arm64', 'TARGETOS=linux']);
    const run = expanded[5];
    assert.ok(run.kind === 'RUN');
    assert.equal(run.mounts[0].target, '/root/.cache/go-build');
    assert.deepEqual(p.unusedBuildArgs, []);
  });

  test('a Node build: unused stages are not built; --target picks a stage', () => {
    const p = plan(NODE_MULTISTAGE);
    assert.deepEqual(
      p.stages.map((s) => s.displayName),
      ['deps', 'builder', 'runner'],
      'the test stage is not needed by runner',
    );
    assert.deepEqual(p.allStages[2].dependsOn, [1]);
    const testTarget = plan(NODE_MULTISTAGE, { target: 'test' });
    assert.deepEqual(
      testTarget.stages.map((s) => s.displayName),
      ['deps', 'builder', 'test'],
    );
    assert.equal(testTarget.target.displayName, 'test');
    assert.deepEqual(
      plan(NODE_MULTISTAGE, { target: 'DEPS' }).stages.map((s) => s.displayName),
      ['deps'],
      'target names are case-insensitive',
    );
  });

  test("an unknown target is Docker's error", () => {
    assert.equal(planError(NODE_MULTISTAGE, { target: 'prod' }), 'target stage "prod" could not be found');
  });

  test('stage references: FROM a stage, --from by index and name, images, mounts', () => {
    const p = plan(
      lines(
        'FROM alpine AS base',
        'RUN echo base',
        'FROM base AS child',
        'COPY --from=0 /etc/os-release /a',
        'COPY --from=nginx:latest /etc/nginx/nginx.conf /b',
        'RUN --mount=type=bind,from=other,target=/o --mount=type=cache,target=/c true',
        'FROM busybox AS other',
        'FROM child',
      ),
    );
    const child = p.allStages[1];
    assert.deepEqual(child.base, { kind: 'stage', index: 0 });
    assert.deepEqual(child.dependsOn, [0, 2], '--from may name a later stage, as with BuildKit');
    assert.deepEqual(child.externalImages, ['nginx:latest']);
    const [copy0, copyImage, run] = child.stage.instructions;
    assert.deepEqual(child.sources.get(copy0), [{ kind: 'stage', index: 0 }]);
    assert.deepEqual(child.sources.get(copyImage), [{ kind: 'image', ref: 'nginx:latest' }]);
    assert.deepEqual(child.sources.get(run), [{ kind: 'stage', index: 2 }, undefined]);
    assert.deepEqual(
      p.levels.map((l) => l.map((s) => s.index)),
      [[0, 2], [1], [3]],
    );
    assert.deepEqual(p.allStages[3].platform, p.allStages[1].platform);
  });

  test('independent stages form one parallel wave', () => {
    const p = plan(
      lines(
        'FROM a AS x',
        'FROM b AS y',
        'FROM c AS z',
        'FROM d',
        'COPY --from=x / /x',
        'COPY --from=y / /y',
        'COPY --from=z / /z',
      ),
    );
    assert.deepEqual(
      p.levels.map((l) => l.map((s) => s.displayName)),
      [['x', 'y', 'z'], ['stage-3']],
    );
  });

  test('cycles, bad indexes, variables in --from, duplicate names, blank base', () => {
    assert.equal(
      planError(lines('FROM a AS one', 'COPY --from=two / /', 'FROM b AS two', 'COPY --from=one / /')),
      'dockerfile parse error on line 1: circular dependency detected on stage: one',
    );
    assert.equal(
      planError(lines('FROM a', 'COPY --from=0 / /')),
      'dockerfile parse error on line 1: circular dependency detected on stage: stage-0',
    );
    assert.equal(
      planError(lines('FROM a', 'COPY --from=5 / /')),
      'dockerfile parse error on line 2: invalid stage index 5',
    );
    assert.match(
      planError(lines('FROM a', 'COPY --from=$X / /')),
      /variable expansion is not supported for --from/,
    );
    assert.equal(
      planError(lines('FROM a AS x', 'FROM b AS X')),
      'dockerfile parse error on line 2: x stage name already used',
    );
    assert.equal(
      planError(lines('ARG IMG', 'FROM $IMG')),
      'dockerfile parse error on line 2: base name ($IMG) should not be blank',
    );
    assert.equal(planError(lines('ARG A=1')), 'dockerfile contains no stages to build');
  });
});

describe('build plan: ARG scoping', () => {
  test('global ARGs are visible to FROM only, unless re-declared without a value', () => {
    const p = plan(
      lines(
        'ARG VERSION=3.19',
        'FROM alpine:$VERSION',
        'RUN echo "[$VERSION]"',
        'ARG VERSION',
        'LABEL v=$VERSION',
      ),
      {
        buildArgs: {},
      },
    );
    assert.equal(p.allStages[0].baseName, 'alpine:3.19');
    const { expanded } = walk(p, 0);
    const label = expanded[2];
    assert.ok(label.kind === 'LABEL');
    assert.equal(label.labels[0].value, '3.19');
  });

  test('a stage-local ARG does not leak into a sibling stage but is inherited by a child stage', () => {
    const p = plan(
      lines(
        'FROM busybox AS parent',
        'ARG FOO=123',
        'FROM parent AS child',
        'LABEL foo=$FOO',
        'FROM busybox AS other',
        'LABEL foo=$FOO',
      ),
    );
    const parent = walk(p, 0);
    const child = walk(p, 1, [], parent.scope).expanded[0];
    const other = walk(p, 2).expanded[0];
    assert.ok(child.kind === 'LABEL' && other.kind === 'LABEL');
    assert.equal(child.labels[0].value, '123');
    assert.equal(other.labels[0].value, '');
  });

  test('--build-arg overrides a default; the default may use earlier variables', () => {
    const text = lines(
      'FROM alpine',
      'ENV BASE=/opt',
      'ARG DIR=$BASE/app',
      'ARG MODE=dev',
      'WORKDIR $DIR/$MODE',
    );
    const defaults = walk(plan(text), 0).expanded[3];
    assert.ok(defaults.kind === 'WORKDIR');
    assert.equal(defaults.path, '/opt/app/dev');
    const overridden = walk(
      plan(text, { buildArgs: { MODE: 'prod', UNUSED: 'x', http_proxy: 'http://p:3128' } }),
      0,
    );
    const workdir = overridden.expanded[3];
    assert.ok(workdir.kind === 'WORKDIR');
    assert.equal(workdir.path, '/opt/app/prod');
    assert.deepEqual(overridden.scope.runEnv(), [
      'BASE=/opt',
      'DIR=/opt/app',
      'MODE=prod',
      'http_proxy=http://p:3128',
    ]);
    assert.deepEqual(
      overridden.scope.historyArgs(),
      ['DIR=/opt/app', 'MODE=prod'],
      'proxy args stay out of history',
    );
  });

  test('ENV wins over an ARG of the same name', () => {
    const { scope, expanded } = walk(plan(lines('FROM a', 'ARG V=arg', 'ENV V=env', 'LABEL v=$V')), 0);
    const label = expanded[2];
    assert.ok(label.kind === 'LABEL');
    assert.equal(label.labels[0].value, 'env');
    assert.deepEqual(scope.runEnv(), ['V=env']);
    assert.deepEqual(scope.historyArgs(), []);
  });

  test('image ENV from the base image is visible and kept first', () => {
    const { scope, expanded } = walk(plan(lines('FROM golang', 'ENV PATH=/app/bin:$PATH')), 0, [
      'PATH=/usr/local/go/bin:/usr/bin',
      'GOPATH=/go',
    ]);
    const env = expanded[0];
    assert.ok(env.kind === 'ENV');
    assert.equal(env.env[0].value, '/app/bin:/usr/local/go/bin:/usr/bin');
    assert.deepEqual(scope.configEnv(), ['PATH=/app/bin:/usr/local/go/bin:/usr/bin', 'GOPATH=/go']);
  });

  test('a declared ARG without any value is unset, so ${X:-default} applies', () => {
    const { scope, expanded } = walk(plan(lines('FROM a', 'ARG X', 'LABEL x=${X:-fallback}')), 0);
    const label = expanded[1];
    assert.ok(label.kind === 'LABEL');
    assert.equal(label.labels[0].value, 'fallback');
    assert.deepEqual(scope.declaredArgs(), [{ key: 'X', value: undefined }]);
    assert.deepEqual(scope.runEnv(), []);
  });

  test('predefined platform args are global and need a declaration inside a stage', () => {
    const p = plan(
      lines(
        'FROM alpine',
        'RUN echo $TARGETPLATFORM',
        'LABEL before=$TARGETARCH',
        'ARG TARGETARCH',
        'LABEL after=$TARGETARCH',
      ),
      {
        platform: 'linux/arm/v7',
      },
    );
    assert.equal(p.globalArgs.get('TARGETPLATFORM'), 'linux/arm/v7');
    assert.equal(p.globalArgs.get('TARGETVARIANT'), 'v7');
    assert.equal(p.globalArgs.get('BUILDPLATFORM'), 'linux/amd64');
    assert.equal(p.globalArgs.get('BUILDARCH'), 'amd64');
    const { expanded } = walk(p, 0);
    const [, before, , after] = expanded;
    assert.ok(before.kind === 'LABEL' && after.kind === 'LABEL');
    assert.equal(before.labels[0].value, '');
    assert.equal(after.labels[0].value, 'arm');
  });

  test('global ARG defaults can use earlier global ARGs and build-arg overrides', () => {
    const p = plan(
      lines('ARG REGISTRY=docker.io', 'ARG IMAGE=$REGISTRY/library/alpine', 'FROM ${IMAGE}:latest'),
      {
        buildArgs: { REGISTRY: 'localhost:5000' },
      },
    );
    assert.equal(p.allStages[0].baseName, 'localhost:5000/library/alpine:latest');
    assert.deepEqual(p.allStages[0].base, { kind: 'image', ref: 'localhost:5000/library/alpine:latest' });
  });

  test("unused build args produce Docker's warning; proxies never do", () => {
    const p = plan(
      lines(
        'ARG USED',
        'FROM a AS first',
        'ARG LOCAL',
        'FROM b AS unused',
        'ARG ONLY_IN_UNUSED',
        'FROM first',
      ),
      {
        buildArgs: { USED: '1', LOCAL: '2', ZED: '3', ALPHA: null, HTTPS_PROXY: 'x', ONLY_IN_UNUSED: '4' },
      },
    );
    assert.deepEqual(p.unusedBuildArgs, ['ALPHA', 'ONLY_IN_UNUSED', 'ZED']);
    assert.equal(
      p.unusedBuildArgsWarning,
      '[Warning] One or more build-args [ALPHA ONLY_IN_UNUSED ZED] were not consumed',
    );
    assert.equal(plan(lines('FROM a'), {}).unusedBuildArgsWarning, undefined);
  });

  test('RUN history records ARGs the way Docker does', () => {
    assert.deepEqual(runHistoryCommand(['/bin/sh', '-c', 'make'], ['A=1', 'B=2']), [
      '|2',
      'A=1',
      'B=2',
      '/bin/sh',
      '-c',
      'make',
    ]);
    assert.deepEqual(runHistoryCommand(['/bin/sh', '-c', 'make'], []), ['/bin/sh', '-c', 'make']);
  });

  test("parser warnings come out in Docker's words", () => {
    const p = plan(lines('FROM a', 'RUN a \\', '', 'b'));
    assert.deepEqual(p.warnings, [
      '[WARNING]: Empty continuation line found in: RUN a b',
      '[WARNING]: Empty continuation lines will become errors in a future release.',
    ]);
  });
});

describe('build plan: more ARG traps and real-world files', () => {
  test('a stage ARG default cannot see an undeclared global ARG; a stage default beats the global one', () => {
    const p = plan(lines('ARG V=global', 'FROM a', 'ARG W=[$V]', 'ARG V=stage', 'LABEL w=$W v=$V'));
    const label = walk(p, 0).expanded[2];
    assert.ok(label.kind === 'LABEL');
    assert.deepEqual(
      label.labels.map((l) => l.value),
      ['[]', 'stage'],
    );
    const overridden = walk(
      plan(lines('ARG V=global', 'FROM a', 'ARG V=stage', 'LABEL v=$V'), { buildArgs: { V: 'cli' } }),
      0,
    );
    const cli = overridden.expanded[1];
    assert.ok(cli.kind === 'LABEL');
    assert.equal(cli.labels[0].value, 'cli');
  });

  test('a Python service with a cache mount, heredoc and healthcheck', () => {
    const p = plan(
      lines(
        'FROM python:3.12-slim AS base',
        'ENV PYTHONDONTWRITEBYTECODE=1 \\',
        '    PYTHONUNBUFFERED=1',
        'WORKDIR /app',
        'FROM base AS deps',
        'COPY requirements.txt .',
        'RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt',
        'FROM deps',
        'COPY <<EOF /app/gunicorn.conf.py',
        'bind = "0.0.0.0:${PORT}"',
        'EOF',
        'ARG PORT=8000',
        'EXPOSE ${PORT}',
        'HEALTHCHECK --interval=10s CMD python -c "import urllib.request as u; u.urlopen(\'http://localhost:8000/health\')"',
        'STOPSIGNAL SIGINT',
        'CMD ["gunicorn", "app:app"]',
      ),
    );
    assert.deepEqual(
      p.levels.map((l) => l.map((s) => s.displayName)),
      [['base'], ['deps'], ['stage-2']],
    );
    const base = walk(p, 0);
    const deps = walk(p, 1, base.scope.configEnv(), base.scope);
    const final = walk(p, 2, deps.scope.configEnv(), deps.scope);
    assert.deepEqual(final.scope.configEnv(), ['PYTHONDONTWRITEBYTECODE=1', 'PYTHONUNBUFFERED=1']);
    const [copy, , expose] = final.expanded;
    assert.ok(copy.kind === 'COPY' && expose.kind === 'EXPOSE');
    assert.equal(copy.contents[0].data, 'bind = "0.0.0.0:"\n', 'PORT is declared after the COPY');
    assert.deepEqual(expose.ports, ['8000']);
  });

  test('an ONBUILD base image Dockerfile parses its triggers', () => {
    const p = plan(
      lines(
        'FROM node:20',
        'WORKDIR /app',
        'ONBUILD COPY package*.json ./',
        'ONBUILD RUN npm ci',
        'ONBUILD COPY . .',
        'CMD ["npm", "start"]',
      ),
    );
    const triggers = p.target.stage.instructions.filter((i) => i.kind === 'ONBUILD');
    assert.deepEqual(
      triggers.map((t) => (t.kind === 'ONBUILD' ? t.expression : '')),
      ['COPY package*.json ./', 'RUN npm ci', 'COPY . .'],
    );
  });

  test('Windows-style Dockerfile with the backtick escape', () => {
    const p = plan(
      lines(
        '# escape=`',
        'FROM mcr.microsoft.com/windows/servercore:ltsc2022',
        'WORKDIR C:\\app',
        'RUN powershell -Command `',
        '    Write-Host hello',
        'COPY . C:\\app\\',
      ),
      { platform: 'linux/amd64' },
    );
    assert.equal(p.escapeToken, '`');
    const { expanded } = walk(p, 0);
    const [workdir, run, copy] = expanded;
    assert.ok(workdir.kind === 'WORKDIR' && run.kind === 'RUN' && copy.kind === 'COPY');
    assert.equal(workdir.path, 'C:\\app');
    assert.deepEqual(run.command, ['powershell -Command     Write-Host hello']);
    assert.equal(copy.dest, 'C:\\app\\');
  });

  test('an invalid --platform in FROM is reported with its line', () => {
    assert.match(
      planError(lines('FROM --platform=linux/a/b/c alpine')),
      /dockerfile parse error on line 1: failed to parse platform linux\/a\/b\/c/,
    );
  });
});
