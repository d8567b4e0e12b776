import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeAny, packAny, timestampToDate } from '../../src/containerd/any.js';
import { grpcCode, toEngineError } from '../../src/containerd/errors.js';
import { createFifoSet, openFifoSet, removeFifoSet } from '../../src/containerd/fifo.js';
import {
  TYPE_URLS,
  decodeRuncOptions,
  linuxResourcesAny,
  runcOptionsAny,
  specAny,
  specFromAny,
} from '../../src/containerd/runtime.js';
import { containerdConfig, containerdPaths } from '../../src/containerd/supervisor.js';
import { chainIds } from '../../src/containerd/unpack.js';
import { EngineError } from '../../src/common/errors.js';

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details });
}

describe('containerd payloads', () => {
  test('chain IDs: the first is the diffID, then sha256 of "<parent> <diffID>"', () => {
    const [a, b, c] = [sha256('a'), sha256('b'), sha256('c')];
    const ab = sha256(`${a} ${b}`);
    assert.deepEqual(chainIds([]), []);
    assert.deepEqual(chainIds([a]), [a]);
    assert.deepEqual(chainIds([a, b, c]), [a, ab, sha256(`${ab} ${c}`)]);
  });

  test('timestamps: unset and Go zero time are undefined', () => {
    assert.equal(timestampToDate(null), undefined);
    assert.equal(timestampToDate({ seconds: '-62135596800', nanos: 0 }), undefined);
    assert.deepEqual(
      timestampToDate({ seconds: '1700000000', nanos: 500_000_000 }),
      new Date(1_700_000_000_500),
    );
  });

  test('runc options encode with containerd field numbers (binary_name 6, root 7)', () => {
    const any = runcOptionsAny({ root: '/x', binaryName: 'crun' });
    assert.equal(any.typeUrl, 'containerd.runc.v1.Options');
    assert.deepEqual(
      any.value,
      Buffer.from([0x32, 4, ...Buffer.from('crun'), 0x3a, 2, ...Buffer.from('/x')]),
    );
    const decoded = decodeRuncOptions(any);
    assert.equal(decoded.root, '/x');
    assert.equal(decoded.binaryName, 'crun');
    assert.equal(decoded.systemdCgroup, false);
  });

  test('event payloads decode with defaults and Dates', () => {
    const any = packAny('containerd.events.TaskExit', {
      containerId: 'c1',
      id: 'c1',
      pid: 42,
      exitedAt: { seconds: 1_700_000_000, nanos: 0 },
    });
    assert.deepEqual(decodeAny({ typeUrl: 'containerd.events.TaskExit', value: any.value }), {
      containerId: 'c1',
      id: 'c1',
      pid: 42,
      exitStatus: 0,
      exitedAt: new Date(1_700_000_000_000),
    });
  });

  test('cgroup metrics keep full uint64 precision as bigint', () => {
    const any = packAny('io.containerd.cgroups.v1.Metrics', {
      memory: { usage: { limit: '9223372036854771712', usage: 765952 } },
    });
    const metrics = decodeAny(any) as {
      memory: { usage: { limit: bigint; usage: bigint } };
      hugetlb: unknown[];
    };
    assert.equal(metrics.memory.usage.limit, 9223372036854771712n);
    assert.equal(metrics.memory.usage.usage, 765952n);
    assert.deepEqual(metrics.hugetlb, []);
    const v2 = decodeAny(packAny('io.containerd.cgroups.v2.Metrics', { cpu: { usageUsec: 12 } })) as {
      cpu: { usageUsec: bigint; userUsec: bigint };
    };
    assert.equal(v2.cpu.usageUsec, 12n);
    assert.equal(v2.cpu.userUsec, 0n);
  });

  test('OCI objects travel as JSON Anys', () => {
    const spec = { ociVersion: '1.0.2', process: { args: ['true'] } };
    const any = specAny(spec);
    assert.equal(any.typeUrl, 'types.containerd.io/opencontainers/runtime-spec/1/Spec');
    assert.deepEqual(specFromAny(any), spec);
    assert.equal(linuxResourcesAny({}).typeUrl, TYPE_URLS.linuxResources);
    assert.throws(() => specFromAny(linuxResourcesAny({})), EngineError);
  });

  test('gRPC statuses map to engine error kinds with containerd message', () => {
    const cases: [number, string][] = [
      [5, 'NotFound'],
      [6, 'Conflict'],
      [3, 'InvalidParameter'],
      [9, 'Conflict'],
      [14, 'Unavailable'],
      [2, 'System'],
      [4, 'System'],
    ];
    for (const [code, kind] of cases) {
      const err = toEngineError(grpcError(code, `container "x": thing ${code}`));
      assert.equal(err.kind, kind);
      assert.equal(err.message, `container "x": thing ${code}`);
      assert.equal(grpcCode(err), code);
    }
  });
});

describe('containerd config', () => {
  test('uses berth paths, disables CRI and unused snapshotters, no metrics', () => {
    const paths = containerdPaths('/run/b', '/var/lib/b');
    assert.equal(paths.socket, '/run/b/containerd/containerd.sock');
    const config = containerdConfig(paths, false);
    assert.match(config, /^version = 2$/m);
    assert.match(config, /^root = "\/var\/lib\/b\/containerd\/root"$/m);
    assert.match(config, /^state = "\/run\/b\/containerd\/state"$/m);
    assert.match(config, /^ {2}address = "\/run\/b\/containerd\/containerd\.sock"$/m);
    assert.match(config, /^ {2}address = "\/run\/b\/containerd\/containerd\.sock\.ttrpc"$/m);
    assert.match(config, /"io\.containerd\.grpc\.v1\.cri"/);
    assert.match(config, /"io\.containerd\.snapshotter\.v1\.btrfs"/);
    assert.doesNotMatch(config, /snapshotter\.v1\.overlayfs"/);
    assert.match(config, /\[metrics\]\n {2}address = ""/);
    assert.match(config, /no_prometheus = true/);
    assert.match(config, /path = "\/var\/lib\/b\/containerd\/opt"/);
    assert.match(containerdConfig(paths, true), /level = "debug"/);
  });
});

describe('stdio FIFOs', () => {
  test('carry stdin to and stdout/stderr from another process', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fifo-'));
    const fifos = await createFifoSet(path.join(dir, 'p1'), 'p1', { stdin: true });
    try {
      assert.ok(fs.statSync(fifos.stdout!).isFIFO());
      assert.equal((fs.statSync(fifos.stderr!).mode & 0o777).toString(8), '600');
      const streams = openFifoSet(fifos);
      const read = (s: NodeJS.ReadableStream): Promise<string> =>
        new Promise((resolve) => {
          let text = '';
          s.on('data', (d) => (text += d));
          s.on('end', () => resolve(text));
        });
      const output = Promise.all([read(streams.stdout!), read(streams.stderr!)]);
      const child = spawn('sh', [
        '-c',
        'cat < "$0" > "$1"; echo err > "$2"',
        fifos.stdin!,
        fifos.stdout!,
        fifos.stderr!,
      ]);
      // Data written before the reader opens waits in the pipe (we hold it O_RDWR)...
      streams.stdin!.write('hello fifo\n');
      // ...but closing it before then would drop it: end only once cat has echoed.
      await once(streams.stdout!, 'data');
      streams.stdin!.end();
      assert.deepEqual(await output, ['hello fifo\n', 'err\n']);
      await new Promise((resolve) => child.on('exit', resolve));
      streams.close();
      const terminal = await createFifoSet(path.join(dir, 'p1'), 'p2', { terminal: true });
      assert.equal(terminal.stderr, undefined);
      await removeFifoSet(terminal);
    } finally {
      await removeFifoSet(fifos);
      assert.equal(fs.existsSync(fifos.dir), false);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
