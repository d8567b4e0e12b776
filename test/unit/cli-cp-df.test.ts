import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  prepareArchiveCopy,
  rebaseArchive,
  splitCpArg,
  splitPathDirEntry,
} from '../../src/cli/commands/container/cp.js';
import { summaryRows } from '../../src/cli/commands/system/df.js';
import { pruneWarning } from '../../src/cli/commands/system/prune.js';
import { CliError } from '../../src/cli/context.js';
import { diskUsage, parseDiskUsageTypes } from '../../src/engine/system/df.js';
import type { ContainerSummary } from '../../src/types/container.js';
import type { ImageSummary } from '../../src/types/image.js';
import type { SystemDataUsage } from '../../src/types/system.js';
import { listTar, makeTar } from '../helpers/archive.js';

describe('cp arguments and destinations', () => {
  test('container:path versus local paths', () => {
    assert.deepEqual(splitCpArg('web:/etc/hosts'), { container: 'web', path: '/etc/hosts' });
    assert.deepEqual(splitCpArg('./a:b'), { path: './a:b' });
    assert.deepEqual(splitCpArg('/abs:path'), { path: '/abs:path' });
    assert.deepEqual(splitCpArg('-'), { path: '-' });
    assert.deepEqual(splitCpArg('web:'), { container: 'web', path: '' });
  });

  test("docker's SplitPathDirEntry", () => {
    assert.deepEqual(splitPathDirEntry('/a/b'), { dir: '/a', base: 'b' });
    assert.deepEqual(splitPathDirEntry('/a/b/'), { dir: '/a', base: 'b' });
    assert.deepEqual(splitPathDirEntry('/a/b/.'), { dir: '/a/b', base: '.' });
    assert.deepEqual(splitPathDirEntry('/'), { dir: '/', base: '/' });
  });

  test("docker's PrepareArchiveCopy", () => {
    const file = { path: '/src/f', exists: true, isDir: false };
    const dir = { path: '/src/d', exists: true, isDir: true };
    const contents = { path: '/src/d/.', exists: true, isDir: true };
    assert.deepEqual(prepareArchiveCopy(file, { path: '/dst', exists: true, isDir: true }), {
      dstDir: '/dst',
    });
    assert.deepEqual(prepareArchiveCopy(file, { path: '/dst/g', exists: true, isDir: false }), {
      dstDir: '/dst',
      rebase: { from: 'f', to: 'g' },
    });
    assert.deepEqual(prepareArchiveCopy(file, { path: '/dst/new', exists: false, isDir: false }), {
      dstDir: '/dst',
      rebase: { from: 'f', to: 'new' },
    });
    assert.throws(
      () => prepareArchiveCopy(file, { path: '/dst/new/', exists: false, isDir: false }),
      (err) => err instanceof CliError && err.message === 'no such directory',
    );
    assert.throws(() => prepareArchiveCopy(dir, { path: '/dst/g', exists: true, isDir: false }), CliError);
    assert.deepEqual(prepareArchiveCopy(dir, { path: '/dst/new', exists: false, isDir: false }), {
      dstDir: '/dst',
      rebase: { from: 'd', to: 'new' },
    });
    assert.deepEqual(prepareArchiveCopy(contents, { path: '/dst/new', exists: false, isDir: false }), {
      dstDir: '/dst',
      rebase: { from: '.', to: 'new' },
    });
    assert.deepEqual(
      prepareArchiveCopy({ ...file, rebaseName: 'link' }, { path: '/dst/x', exists: false, isDir: false }),
      {
        dstDir: '/dst',
        rebase: { from: 'link', to: 'x' },
      },
    );
  });

  test('rebasing renames the top entry and hard link targets only', async () => {
    const input = await makeTar([
      { name: 'd/', type: 'directory' },
      { name: 'd/f', body: 'x' },
      { name: 'd/h', type: 'link', linkname: 'd/f' },
      { name: 'dd/g', body: 'y' },
    ]);
    const entries = await listTar(rebaseArchive(Readable.from([input]), 'd', 'new'));
    assert.deepEqual(
      entries.map((e) => `${e.header.name}${e.header.linkname ? ` -> ${e.header.linkname}` : ''}`),
      ['new/', 'new/f', 'new/h -> new/f', 'dd/g'],
    );
  });
});

describe('system df and prune', () => {
  const image = (id: string, size: number): ImageSummary => ({
    Id: id,
    ParentId: '',
    RepoTags: [],
    RepoDigests: [],
    Created: 0,
    Size: size,
    SharedSize: -1,
    Labels: {},
    Containers: -1,
  });

  test('image shared sizes, layer totals and container counts from cached sources', async () => {
    const layers: Record<string, number> = { base: 1000, a: 200, b: 300 };
    const usage = await diskUsage({
      images: async () => [
        { summary: image('sha256:a', 1200), chainIds: ['base', 'a'] },
        { summary: image('sha256:b', 1300), chainIds: ['base', 'b'] },
      ],
      layerSize: async (chainId) => layers[chainId],
      containers: async () => [
        { Id: 'c', ImageID: 'sha256:a', SizeRw: 50, State: 'exited' } as ContainerSummary,
      ],
      imageContainerCounts: () => new Map([['sha256:a', 1]]),
      volumes: async () => [],
    });
    assert.equal(usage.LayersSize, 1500);
    assert.deepEqual(
      usage.Images!.map((i) => [i.Id, i.SharedSize, i.Containers]),
      [
        ['sha256:a', 1000, 1],
        ['sha256:b', 1000, 0],
      ],
    );
    assert.equal(usage.Containers![0].SizeRootFs, 1250);
    assert.deepEqual(usage.BuildCache, []);
    const onlyVolumes = await diskUsage(
      {
        images: async () => assert.fail('images not asked for'),
        layerSize: async () => 0,
        containers: async () => [],
        imageContainerCounts: () => new Map(),
        volumes: async () => [],
      },
      parseDiskUsageTypes(['volume']),
    );
    assert.equal(onlyVolumes.Images, null);
    assert.deepEqual(onlyVolumes.Volumes, []);
    assert.throws(() => parseDiskUsageTypes(['bogus']), /unknown object type: bogus/);
  });

  test('the summary rows docker prints', () => {
    const du: SystemDataUsage = {
      LayersSize: 2_000_000,
      Images: [{ ...image('a', 2_000_000), SharedSize: 0, Containers: 1 }],
      Containers: [
        { SizeRw: 1000, State: 'running' } as ContainerSummary,
        { SizeRw: 3000, State: 'exited' } as ContainerSummary,
      ],
      Volumes: [
        {
          Name: 'v',
          Driver: 'local',
          Mountpoint: '',
          Scope: 'local',
          Labels: null,
          Options: null,
          UsageData: { Size: 500, RefCount: 0 },
        },
      ],
      BuildCache: [],
    };
    assert.deepEqual(
      summaryRows(du).map((r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable]),
      [
        ['Images', '1', '1', '2MB', '0B (0%)'],
        ['Containers', '2', '1', '4kB', '3kB (75%)'],
        ['Local Volumes', '1', '0', '500B', '500B (100%)'],
        ['Build Cache', '0', '0', '0B', '0B'],
      ],
    );
  });

  test('the prune warning lists what will go', () => {
    assert.equal(
      pruneWarning({ all: true, volumes: true }),
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all anonymous volumes not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n\nAre you sure you want to continue?',
    );
  });
});
