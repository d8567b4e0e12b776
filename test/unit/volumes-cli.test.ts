import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCreateRequest } from '../../src/api/router/volume/routes.js';
import { renderVolumes } from '../../src/cli/commands/volume/ls.js';
import { pruneReport } from '../../src/cli/commands/volume/prune.js';
import { filtersJSON, keyValueMap } from '../../src/cli/commands/options.js';
import { inspectJSON, naturalCompare, volumeForDisplay } from '../../src/cli/commands/volume/shared.js';
import type { Volume } from '../../src/types/volume.js';

const volume = (name: string, extra: Partial<Volume> = {}): Volume => ({
  CreatedAt: '2024-01-02T03:04:05Z',
  Driver: 'local',
  Labels: null,
  Mountpoint: `/var/lib/berth/volumes/${name}/_data`,
  Name: name,
  Options: null,
  Scope: 'local',
  ...extra,
});

describe('volume CLI output', () => {
  test('ls: the default table, sorted naturally', () => {
    const out = renderVolumes([volume('vol10'), volume('vol9'), volume('a')], undefined);
    assert.equal(out, 'DRIVER    VOLUME NAME\nlocal     a\nlocal     vol9\nlocal     vol10\n');
  });

  test('ls: -q, custom templates, table templates and json', () => {
    const vols = [volume('b', { Labels: { x: '1' }, UsageData: { Size: 2000, RefCount: 2 } }), volume('a')];
    assert.equal(renderVolumes(vols, undefined, true), 'a\nb\n');
    // A custom format wins over -q, as in docker.
    assert.equal(renderVolumes(vols, '{{.Name}}:{{.Driver}}', true), 'a:local\nb:local\n');
    assert.equal(
      renderVolumes(vols, 'table {{.Name}}\t{{.Labels}}\t{{.Links}}\t{{.Size}}'),
      'VOLUME NAME   LABELS    LINKS     SIZE\na                       N/A       N/A\nb             x=1       2         2kB\n',
    );
    assert.equal(
      renderVolumes(vols, '{{.Label "x"}}|{{.Mountpoint}}'),
      '|/var/lib/berth/volumes/a/_data\n1|/var/lib/berth/volumes/b/_data\n',
    );
    const json = renderVolumes([volume('a')], 'json');
    assert.deepEqual(JSON.parse(json), {
      Availability: 'N/A',
      Driver: 'local',
      Group: 'N/A',
      Labels: '',
      Links: 'N/A',
      Mountpoint: '/var/lib/berth/volumes/a/_data',
      Name: 'a',
      Scope: 'local',
      Size: 'N/A',
      Status: 'N/A',
    });
    assert.throws(() => renderVolumes(vols, '{{.Nope}}'), /template parsing error/);
  });

  test('inspect: Go field order, sorted maps, four-space indent, HTML escaped like Go', () => {
    const shown = volumeForDisplay(
      volume('x', { Options: { type: 'tmpfs', device: 'tmpfs' }, Labels: { z: '<b>', a: '&' } }),
    );
    assert.deepEqual(Object.keys(shown), [
      'CreatedAt',
      'Driver',
      'Labels',
      'Mountpoint',
      'Name',
      'Options',
      'Scope',
    ]);
    assert.deepEqual(Object.keys(shown.Options as object), ['device', 'type']);
    const text = inspectJSON([shown]);
    assert.match(text, /^\[\n {4}\{\n {8}"CreatedAt": "2024-01-02T03:04:05Z",\n/);
    assert.match(text, /"a": "\\u0026",\n {12}"z": "\\u003cb\\u003e"/);
    assert.equal(inspectJSON([]), '[]\n');
  });

  test('prune report', () => {
    assert.equal(
      pruneReport({ VolumesDeleted: ['foo', 'bar'], SpaceReclaimed: 2000 }),
      'Deleted Volumes:\nfoo\nbar\n\nTotal reclaimed space: 2kB\n',
    );
    assert.equal(pruneReport({ VolumesDeleted: [], SpaceReclaimed: 0 }), 'Total reclaimed space: 0B\n');
    assert.equal(pruneReport({ VolumesDeleted: null, SpaceReclaimed: 0 }), 'Total reclaimed space: 0B\n');
  });

  test('option helpers', () => {
    assert.deepEqual(keyValueMap(['a=b', 'c', 'd=e=f']), { a: 'b', c: '', d: 'e=f' });
    assert.equal(filtersJSON([]), undefined);
    assert.deepEqual(JSON.parse(filtersJSON(['label=a', 'label=b=c', 'dangling=true'])!), {
      label: { a: true, 'b=c': true },
      dangling: { true: true },
    });
    assert.throws(() => filtersJSON(['oops']), /bad format of filter/);
    assert.ok(naturalCompare('v2', 'v10') < 0);
    assert.ok(naturalCompare('a', 'b') < 0);
    assert.equal(naturalCompare('x', 'x'), 0);
  });
});

describe('volume create body', () => {
  test('accepts Docker shapes and refuses mistyped fields', () => {
    assert.deepEqual(parseCreateRequest(undefined), {});
    assert.deepEqual(
      parseCreateRequest({ Name: 'v', Driver: 'local', DriverOpts: { type: 'tmpfs' }, Labels: null }),
      {
        Name: 'v',
        Driver: 'local',
        DriverOpts: { type: 'tmpfs' },
        Labels: null,
      },
    );
    assert.throws(() => parseCreateRequest({ Name: 5 }), /Name must be a string/);
    assert.throws(() => parseCreateRequest({ Labels: { a: 1 } }), /Labels must be an object of strings/);
    assert.throws(() => parseCreateRequest([]), /expected an object/);
  });
});
