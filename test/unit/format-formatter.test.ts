import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseFormat,
  formatItems,
  headerContext,
  isTableFormat,
  marshalContext,
  renderList,
  templateText,
  type RenderListOptions,
} from '../../src/cli/format/formatter.js';
import { TemplateError } from '../../src/cli/format/template.js';
import { quote } from '../../src/cli/format/gofmt.js';
import { ellipsis, truncateId } from '../../src/cli/format/units.js';

// Two containers as the API lists them, and context objects shaped like
// docker/cli's ContainerContext for the fields these tests use.
const containers = [
  {
    Id: 'aaaaaaaaaaaa1111111111111111',
    Names: ['/web'],
    Image: 'busybox',
    Command: "sh -c 'while true; do sleep 1; done'",
    State: 'running',
    Status: 'Up 5 minutes',
    Labels: { 'com.example.x': 'yes', b: '2' } as Record<string, string>,
  },
  {
    Id: 'cccccccccccc2222222222222222',
    Names: ['/日本語の名前'],
    Image: 'alpine:latest',
    Command: 'echo',
    State: 'exited',
    Status: 'Exited (0) 2 hours ago',
    Labels: {} as Record<string, string>,
  },
];

const contexts = containers.map((c) => ({
  ID: truncateId(c.Id),
  Names: c.Names[0].slice(1),
  Image: c.Image,
  Command: quote(ellipsis(c.Command, 20)),
  State: c.State,
  Status: c.Status,
  Labels: Object.entries(c.Labels)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(','),
  Label: (name: string) => c.Labels[name] ?? '',
}));

const options: RenderListOptions = {
  defaultTable: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Status}}\t{{.Names}}',
  headers: {
    ID: 'CONTAINER ID',
    Names: 'NAMES',
    Image: 'IMAGE',
    Command: 'COMMAND',
    State: 'STATE',
    Status: 'STATUS',
    Labels: 'LABELS',
  },
  typeName: '*formatter.ContainerContext',
};

// Output of `docker ps -a --format FORMAT` (docker CLI 28.2.2) for the
// containers above, served by a stub daemon.
const dockerPsGolden: Record<string, string> = {
  'table {{.Names}}\\t{{.ID}}\\t{{.State}}':
    'NAMES          CONTAINER ID   STATE\nweb            aaaaaaaaaaaa   running\n日本語の名前   cccccccccccc   exited\n',
  'table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.Status}}\\t{{.Names}}':
    'CONTAINER ID   IMAGE           COMMAND                  STATUS                   NAMES\naaaaaaaaaaaa   busybox         "sh -c \'while true; …"   Up 5 minutes             web\ncccccccccccc   alpine:latest   "echo"                   Exited (0) 2 hours ago   日本語の名前\n',
  'table {{.Names}}\\t{{.Label "com.example.x"}}\\t{{.Labels}}':
    'NAMES          x         LABELS\nweb            yes       b=2,com.example.x=yes\n日本語の名前             \n',
  '{{.ID}}: {{.Names}}': 'aaaaaaaaaaaa: web\ncccccccccccc: 日本語の名前\n',
  'table {{upper .Names}}\\t{{json .State}}':
    'NAMES          STATE\nWEB            "running"\n日本語の名前   "exited"\n',
  'table {{.ID}}': 'CONTAINER ID\naaaaaaaaaaaa\ncccccccccccc\n',
  '  table   {{.ID}}  ': 'table   aaaaaaaaaaaa\ntable   cccccccccccc\n',
  'table {{.Names}}\\t{{.Status}}\\n{{.ID}}':
    'NAMES     STATUS\nCONTAINER ID\nweb       Up 5 minutes\naaaaaaaaaaaa\n日本語の名前   Exited (0) 2 hours ago\ncccccccccccc\n',
  'table {{.ID}}\\t{{if eq .State "running"}}up{{end}}\\t{{.Names}}':
    'CONTAINER ID             NAMES\naaaaaaaaaaaa   up        web\ncccccccccccc             日本語の名前\n',
};

describe('formatter: docker ps parity', () => {
  for (const [format, expected] of Object.entries(dockerPsGolden)) {
    test(format, () => assert.equal(renderList(contexts, format, options), expected));
  }
  test('default table and -q', () => {
    assert.equal(
      renderList(contexts, undefined, options),
      dockerPsGolden[options.defaultTable.replace(/\t/g, '\\t')],
    );
    assert.equal(renderList(contexts, 'table', options), renderList(contexts, undefined, options));
    assert.equal(
      renderList(contexts, undefined, { ...options, quiet: true }),
      'aaaaaaaaaaaa\ncccccccccccc\n',
    );
    // docker ignores a custom format under -q.
    assert.equal(renderList(contexts, 'json', { ...options, quiet: true }), 'aaaaaaaaaaaa\ncccccccccccc\n');
  });
});

describe('formatter', () => {
  test('json: one object per line, exported fields and argument-less methods, keys sorted', () => {
    const out = renderList(contexts.slice(0, 1), 'json', options);
    assert.equal(
      out,
      '{"Command":"\\"sh -c \'while true; …\\"","ID":"aaaaaaaaaaaa","Image":"busybox","Labels":"b=2,com.example.x=yes",' +
        '"Names":"web","State":"running","Status":"Up 5 minutes"}\n',
    );
    assert.equal(renderList(contexts.slice(0, 1), '{{json .}}', options), out);
  });

  test('an empty list still prints the table header', () => {
    assert.equal(renderList([], undefined, options), 'CONTAINER ID   IMAGE     COMMAND   STATUS    NAMES\n');
    assert.equal(renderList([], '{{.ID}}', options), '');
  });

  test('errors are worded like docker and nothing is rendered', () => {
    assert.throws(
      () => renderList(contexts, '{{.Nope}}', options),
      (err: unknown) =>
        err instanceof TemplateError &&
        err.message ===
          'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext',
    );
    assert.throws(
      () => renderList(contexts, '{{.ID', options),
      /^TemplateError: template parsing error: template: :1: unclosed action$/,
    );
  });

  test('a failing header keeps what rendered, as docker ignores header errors', () => {
    // The header context holds strings, so .B.C fails there but not in rows.
    const out = formatItems([{ A: 'a', B: { C: 'c' } }], 'table {{.A}}\t{{.B.C}}', {
      headers: { A: 'COL A', B: 'COL B' },
    });
    assert.equal(out, 'COL A     \na         c\n');
  });

  test('extra functions reach both rows and header', () => {
    const funcs = { shout: (s: string) => s + '!' };
    const out = formatItems([{ A: 'a' }], 'table {{shout .A}}', { headers: { A: 'COL' }, funcs });
    assert.equal(out, 'COL!\na!\n');
  });

  test('format preparation', () => {
    assert.equal(isTableFormat('table {{.ID}}'), true);
    assert.equal(isTableFormat(' table'), false);
    assert.equal(templateText('table {{.A}}\\t{{.B}}\\n'), '{{.A}}\t{{.B}}\n');
    assert.equal(templateText('json'), '{{json .}}');
    assert.equal(templateText('table'), '');
    assert.equal(chooseFormat('', { defaultTable: 'table X' }), 'table X');
    assert.equal(
      chooseFormat('{{.Name}}', { defaultTable: 'table X', quiet: true, quietFormat: '{{.Name}}' }),
      '{{.Name}}',
    );
  });

  test('header context answers .Label like docker', () => {
    const header = headerContext({ ID: 'ID' }) as { Label: (n: string) => string };
    assert.equal(header.Label('com.example.some-label_x'), 'some label x');
  });

  test('marshalContext: class instances with getters and methods', () => {
    class Ctx {
      constructor(private readonly raw: { id: string }) {}
      get ID(): string {
        return this.raw.id;
      }
      Size(): string {
        return '0B';
      }
      Label(name: string): string {
        return name;
      }
    }
    assert.deepEqual(marshalContext(new Ctx({ id: 'x' })), { ID: 'x', Size: '0B' });
    assert.equal(
      renderList([new Ctx({ id: 'x' })], 'json', { defaultTable: '', headers: {} }),
      '{"ID":"x","Size":"0B"}\n',
    );
    assert.equal(
      renderList([new Ctx({ id: 'x' })], 'table {{.ID}}\t{{.Size}}', {
        defaultTable: '',
        headers: { ID: 'ID', Size: 'SIZE' },
      }),
      'ID        SIZE\nx         0B\n',
    );
  });
});
