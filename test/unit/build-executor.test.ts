/**
 * The builder's pure parts: Go renderings in history, image configs and
 * IDs per step, the ordered output of parallel stages, destination rules,
 * and the CLI's --output/--secret parsing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { goDuration, goList, goQuote, goQuoteList, truncateId } from '../../src/build/executor/gofmt.js';
import {
  childImage,
  copyRunConfig,
  initialRunConfig,
  scratchImage,
  topChainId,
  withId,
} from '../../src/build/executor/image.js';
import { OrderedOutput } from '../../src/build/executor/output.js';
import { normalizeDest } from '../../src/build/executor/stage.js';
import { nextChainId } from '../../src/build/executor/rootfs.js';
import { mountTarget } from '../../src/build/executor/mounts.js';
import { parseOutput, parseSecret } from '../../src/cli/commands/build/build.js';
import type { JSONMessage } from '../../src/types/image.js';

describe('Go renderings', () => {
  test('strconv.Quote, %q and %v of string slices', () => {
    assert.equal(goQuote('a "b" \\ c\n\t\x01é'), '"a \\"b\\" \\\\ c\\n\\t\\x01é"');
    assert.equal(goQuoteList(['/bin/sh', '-c', 'echo hi']), '["/bin/sh" "-c" "echo hi"]');
    assert.equal(goQuoteList(null), '[]');
    assert.equal(goList(['/data', '/logs']), '[/data /logs]');
  });

  test('time.Duration strings', () => {
    assert.equal(goDuration(0), '0s');
    assert.equal(goDuration(30e9), '30s');
    assert.equal(goDuration(90e9), '1m30s');
    assert.equal(goDuration(3600e9 + 1e9), '1h0m1s');
    assert.equal(goDuration(1.5e9), '1.5s');
    assert.equal(goDuration(5e6), '5ms');
    assert.equal(goDuration(500), '500ns');
  });

  test('short IDs', () => {
    assert.equal(truncateId('sha256:0123456789abcdef0123'), '0123456789ab');
    assert.equal(truncateId(''), '');
  });
});

describe('images per step', () => {
  const base = withId(
    {
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['A=1'], Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: ['sha256:aa'] },
      history: [{ created: '2024-01-01T00:00:00Z', created_by: 'base' }],
    },
    [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'sha256:aa', size: 1 }],
  );

  test('the run config starts from the image with the default PATH added', () => {
    const config = initialRunConfig(base);
    assert.deepEqual(config.Env, [
      'A=1',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    assert.deepEqual(config.Cmd, ['sh']);
    assert.equal(config.Image, base.id);
    assert.equal(initialRunConfig(scratchImage({ os: 'linux', architecture: 'arm64' })).Image, '');
  });

  test('a config-only step adds an empty-layer history entry; a layer step extends rootfs', () => {
    const config = initialRunConfig(base);
    config.Labels = { b: '2', a: '1' };
    const meta = childImage({
      parent: base,
      runConfig: config,
      createdBy: '/bin/sh -c #(nop)  LABEL',
      created: 'T1',
    });
    assert.deepEqual(meta.config.rootfs.diff_ids, ['sha256:aa']);
    assert.deepEqual(meta.config.history?.at(-1), {
      created: 'T1',
      created_by: '/bin/sh -c #(nop)  LABEL',
      empty_layer: true,
    });
    // Labels are serialised sorted, as Go marshals maps.
    assert.deepEqual(Object.keys(meta.config.config?.Labels ?? {}), ['a', 'b']);
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'sha256:bb', size: 2 };
    const run = childImage({
      parent: meta,
      runConfig: config,
      createdBy: 'RUN',
      created: 'T2',
      layer,
      author: 'me',
    });
    assert.deepEqual(run.config.rootfs.diff_ids, ['sha256:aa', 'sha256:bb']);
    assert.equal(run.layers.length, 2);
    assert.equal(run.config.author, 'me');
    assert.equal(topChainId(run), nextChainId('sha256:aa', 'sha256:bb'));
    // Same input, same ID; the ID is the digest of the stored config.
    assert.equal(
      childImage({ parent: meta, runConfig: config, createdBy: 'RUN', created: 'T2', layer, author: 'me' })
        .id,
      run.id,
    );
    assert.equal(withId(JSON.parse(JSON.stringify(run.config)), run.layers).id, run.id);
  });

  test('copyRunConfig keeps Docker field order and drops empty optional fields', () => {
    const config = copyRunConfig({ ...initialRunConfig(base), ExposedPorts: {}, Shell: [] });
    assert.equal(Object.keys(config).indexOf('ExposedPorts'), -1);
    assert.equal(Object.keys(config).indexOf('Shell'), -1);
    assert.deepEqual(Object.keys(config).slice(0, 3), ['Hostname', 'Domainname', 'User']);
  });
});

describe('ordered output of parallel stages', () => {
  test('the earliest unfinished stage is live, later ones are held and released in order', () => {
    const seen: string[] = [];
    const output = new OrderedOutput((m: JSONMessage) => seen.push(m.stream ?? ''));
    const [a, b, c] = output.open(['a', 'b', 'c']);
    b.stream('b1');
    c.stream('c1');
    a.stream('a1');
    assert.deepEqual(seen, ['a1']);
    output.finish(2);
    assert.deepEqual(seen, ['a1']);
    output.finish(0);
    assert.deepEqual(seen, ['a1', 'b1']);
    b.stream('b2');
    assert.deepEqual(seen, ['a1', 'b1', 'b2']);
    output.finish(1);
    assert.deepEqual(seen, ['a1', 'b1', 'b2', 'c1']);
  });

  test('live mode sends every stage at once, tagged with its name', () => {
    const seen: JSONMessage[] = [];
    const output = new OrderedOutput((m) => seen.push(m), { live: true });
    const [, b] = output.open(['first', 'second']);
    b.stream('now');
    assert.deepEqual(seen, [{ stream: 'now', stage: 'second' }]);
  });

  test('after a failure everything held goes out', () => {
    const seen: string[] = [];
    const output = new OrderedOutput((m) => seen.push(m.stream ?? ''));
    const [, b] = output.open(['a', 'b']);
    b.stderr('err');
    output.flushAll();
    assert.deepEqual(seen, ['\u001b[91merr\u001b[0m']);
  });
});

describe('paths', () => {
  test('COPY destinations below WORKDIR keep their trailing slash', () => {
    assert.equal(normalizeDest('/app', '.'), '/app');
    assert.equal(normalizeDest('/app', 'sub/'), '/app/sub/');
    assert.equal(normalizeDest('', 'x'), '/x');
    assert.equal(normalizeDest('/app', '/abs'), '/abs');
  });

  test('mount targets', () => {
    assert.equal(mountTarget('cache', '/src'), '/src/cache');
    assert.equal(mountTarget('/a/../b', '/src'), '/b');
    assert.throws(() => mountTarget(undefined, '/'), /mount target must be specified/);
  });
});

describe('berth build options', () => {
  test('--output forms', () => {
    assert.deepEqual(parseOutput('type=local,dest=out'), { type: 'local', dest: 'out' });
    assert.deepEqual(parseOutput('type=tar,dest=a.tar'), { type: 'tar', dest: 'a.tar' });
    assert.deepEqual(parseOutput('dir'), { type: 'local', dest: 'dir' });
    assert.throws(() => parseOutput('type=oci,dest=x'), /not supported/);
    assert.throws(() => parseOutput('type=tar'), /dest is required/);
  });

  test('--secret from the environment', () => {
    process.env.BERTH_TEST_SECRET = 'value';
    assert.deepEqual(parseSecret('id=tok,env=BERTH_TEST_SECRET'), { id: 'tok', value: Buffer.from('value') });
    assert.throws(() => parseSecret('id=nothing-like-this'), /not set/);
    delete process.env.BERTH_TEST_SECRET;
  });
});
