/** berth's container commands: flag parsing into create requests, stream demultiplexing, ps columns, times. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { Command } from 'commander';
import { startErrorStatus, splitReference } from '../../src/cli/commands/container/common.js';
import {
  addCreateFlags,
  attachChoice,
  createRequest,
  parseGoDuration,
  type CreateFlags,
} from '../../src/cli/commands/container/create-options.js';
import { eventLine } from '../../src/cli/commands/container/events.js';
import { filtersQuery } from '../../src/cli/commands/container/filters.js';
import { apiTimestamp } from '../../src/cli/commands/container/logs.js';
import { ContainerContext, displayPorts } from '../../src/cli/commands/container/ps.js';
import { Demultiplexer } from '../../src/cli/commands/container/stdio.js';
import { frameHeader } from '../../src/api/router/container/streams.js';
import { fixedNanoTime } from '../../src/api/router/container/routes.js';
import type { ContainerSummary } from '../../src/types/container.js';

function parse(argv: string[]): { image: string; args: string[]; flags: CreateFlags } {
  let result: { image: string; args: string[]; flags: CreateFlags } | undefined;
  const program = new Command('berth').enablePositionalOptions().exitOverride();
  const run = new Command('run')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions()
    .exitOverride();
  addCreateFlags(run).action((image: string, args: string[], flags: CreateFlags) => {
    result = { image, args, flags };
  });
  program.addCommand(run);
  program.parse(['node', 'berth', 'run', ...argv]);
  return result!;
}

describe('run/create flags', () => {
  test('options before the image are berth options, after it the command', () => {
    const { image, args, flags } = parse(['-e', 'A=1', '--rm', 'busybox', 'sh', '-c', 'echo -e x', '--rm']);
    assert.equal(image, 'busybox');
    assert.deepEqual(args, ['sh', '-c', 'echo -e x', '--rm']);
    assert.deepEqual(flags.env, ['A=1']);
    assert.equal(flags.rm, true);
  });

  test('flags become the create request Docker would send', () => {
    process.env.BERTH_TEST_PASSED = 'from-env';
    const { image, args, flags } = parse([
      '-it',
      '--name',
      'web',
      '-h',
      'box',
      '-e',
      'X=1',
      '-e',
      'BERTH_TEST_PASSED',
      '-e',
      'BERTH_TEST_UNSET_VAR',
      '-l',
      'a=b',
      '-p',
      '127.0.0.1:8080:80',
      '-p',
      '9000-9001:9000-9001/udp',
      '--expose',
      '7000',
      '-v',
      '/data',
      '-v',
      '/host:/c:ro',
      '--restart',
      'on-failure:3',
      '-m',
      '64m',
      '--memory-swap',
      '-1',
      '--cpus',
      '1.5',
      '--pids-limit',
      '10',
      '--ulimit',
      'nofile=100:200',
      '--tmpfs',
      '/run:size=1m',
      '--cap-add',
      'NET_ADMIN',
      '--read-only',
      '--init',
      '--health-cmd',
      'true',
      '--health-interval',
      '1m30s',
      '--stop-timeout',
      '3',
      '--entrypoint',
      '',
      '--device',
      '/dev/fuse',
      'busybox',
      'sh',
    ]);
    const request = createRequest(flags, image, args, attachChoice(flags, false));
    assert.equal(request.Tty, true);
    assert.equal(request.OpenStdin, true);
    assert.equal(request.StdinOnce, true);
    assert.equal(request.AttachStdin, true);
    assert.deepEqual(request.Env, ['X=1', 'BERTH_TEST_PASSED=from-env']);
    assert.deepEqual(request.Labels, { a: 'b' });
    assert.deepEqual(request.Cmd, ['sh']);
    assert.deepEqual(request.Entrypoint, ['']);
    assert.deepEqual(Object.keys(request.ExposedPorts!).sort(), [
      '7000/tcp',
      '80/tcp',
      '9000/udp',
      '9001/udp',
    ]);
    const hc = request.HostConfig!;
    assert.deepEqual(hc.PortBindings!['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: '8080' }]);
    assert.deepEqual(hc.PortBindings!['9001/udp'], [{ HostIp: '', HostPort: '9001' }]);
    assert.deepEqual(request.Volumes, { '/data': {} });
    assert.deepEqual(hc.Binds, ['/host:/c:ro']);
    assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
    assert.equal(hc.Memory, 64 * 1024 * 1024);
    assert.equal(hc.MemorySwap, -1);
    assert.equal(hc.NanoCpus, 1.5e9);
    assert.equal(hc.PidsLimit, 10);
    assert.deepEqual(hc.Ulimits, [{ Name: 'nofile', Soft: 100, Hard: 200 }]);
    assert.deepEqual(hc.Tmpfs, { '/run': 'size=1m' });
    assert.deepEqual(hc.CapAdd, ['NET_ADMIN']);
    assert.equal(hc.ReadonlyRootfs, true);
    assert.equal(hc.Init, true);
    assert.deepEqual(hc.Devices, [
      { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' },
    ]);
    assert.deepEqual(request.Healthcheck, {
      Test: ['CMD-SHELL', 'true'],
      Interval: 90e9,
      Timeout: 0,
      StartPeriod: 0,
      StartInterval: 0,
      Retries: 0,
    });
    assert.equal(request.StopTimeout, 3);
  });

  test('attach choices and conflicts', () => {
    assert.deepEqual(attachChoice({}, false), { stdin: false, stdout: true, stderr: true });
    assert.deepEqual(attachChoice({ attach: ['STDERR'] }, false), {
      stdin: false,
      stdout: false,
      stderr: true,
    });
    assert.deepEqual(attachChoice({ interactive: true }, true), {
      stdin: false,
      stdout: false,
      stderr: false,
    });
    assert.throws(() => attachChoice({ attach: ['stdout'] }, true), /Conflicting options: -a and -d/);
  });

  test('Go durations', () => {
    assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
    assert.equal(parseGoDuration('250ms'), 250e6);
    assert.throws(() => parseGoDuration('5 minutes'), /invalid duration/);
  });

  test('references and start errors', () => {
    assert.deepEqual(splitReference('busybox'), {
      fromImage: 'busybox',
      tag: 'latest',
      display: 'busybox:latest',
    });
    assert.deepEqual(splitReference('localhost:5000/a/b:v1').tag, 'v1');
    assert.equal(splitReference('localhost:5000/a').tag, 'latest');
    assert.equal(startErrorStatus('exec: "x": executable file not found in $PATH'), 127);
    assert.equal(startErrorStatus('exec: "/etc": permission denied'), 126);
    assert.equal(startErrorStatus('something else'), 125);
    assert.equal(
      filtersQuery(['status=exited', 'label=a=b', 'status=created']),
      '{"status":{"exited":true,"created":true},"label":{"a=b":true}}',
    );
  });
});

describe('streams', () => {
  test('multiplexed frames are split back into stdout and stderr, across chunk borders', () => {
    const out: string[] = [];
    const err: string[] = [];
    const sinkOf = (into: string[]) =>
      new Writable({ write: (c, _e, cb) => (into.push(c.toString()), cb()) });
    const demux = new Demultiplexer(sinkOf(out), sinkOf(err));
    const frames = Buffer.concat([
      frameHeader('stdout', 5),
      Buffer.from('hello'),
      frameHeader('stderr', 3),
      Buffer.from('bad'),
    ]);
    demux.push(frames.subarray(0, 6));
    demux.push(frames.subarray(6, 15));
    demux.push(frames.subarray(15));
    assert.deepEqual(out, ['hello']);
    assert.deepEqual(err, ['bad']);
    assert.deepEqual([...frameHeader('stderr', 258)], [2, 0, 0, 0, 0, 0, 1, 2]);
  });

  test('timestamps as docker logs -t prints them', () => {
    assert.equal(fixedNanoTime('2024-01-01T00:00:00.5Z'), '2024-01-01T00:00:00.500000000Z');
    assert.equal(fixedNanoTime('2024-01-01T00:00:00Z'), '2024-01-01T00:00:00.000000000Z');
    assert.equal(apiTimestamp('10m', Date.parse('2024-01-01T00:10:00Z')), '1704067200.000000000');
    assert.equal(apiTimestamp('2024-01-01T00:00:00Z'), '1704067200.000000000');
    assert.equal(apiTimestamp('1704067200.5'), '1704067200.5');
  });
});

describe('ps and events output', () => {
  const summary: ContainerSummary = {
    Id: 'f'.repeat(64),
    Names: ['/web', '/other/alias'],
    Image: 'busybox',
    ImageID: 'sha256:' + 'a'.repeat(64),
    Command: 'sh -c "while true; do sleep 1; done"',
    Created: 1_704_067_200,
    Ports: [
      { PrivatePort: 443, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    ],
    Labels: { b: '2', a: '1' },
    State: 'running',
    Status: 'Up 2 minutes',
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: { bridge: {} } },
    Mounts: [],
  };

  test('container context fields, truncated and not', () => {
    const short = new ContainerContext(summary, true);
    assert.equal(short.ID(), 'ffffffffffff');
    assert.equal(short.Names(), 'web');
    assert.equal(short.Command(), '"sh -c \\"while true; …"');
    assert.equal(short.Labels(), 'a=1,b=2');
    assert.equal(short.Label('a'), '1');
    assert.equal(short.Networks(), 'bridge');
    assert.equal(short.Size(), '0B');
    const full = new ContainerContext(summary, false);
    assert.equal(full.ID(), 'f'.repeat(64));
    assert.equal(full.Names(), 'web,other/alias');
    assert.equal(displayPorts(summary.Ports), '443/tcp, 0.0.0.0:8080->80/tcp');
  });

  test('events print like docker events', () => {
    const line = eventLine({
      Type: 'container',
      Action: 'die',
      Actor: { ID: 'abc', Attributes: { name: 'web', exitCode: '0', image: 'busybox' } },
      scope: 'local',
      time: 1_704_067_200,
      timeNano: 1_704_067_200_123_456_789,
    });
    assert.match(
      line,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container die abc \(exitCode=0, image=busybox, name=web\)$/,
    );
  });
});
