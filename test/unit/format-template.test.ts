import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dockerFuncs,
  GO_TYPE,
  headerFuncs,
  parseTemplate,
  TemplateError,
  TemplateFuncError,
  withArity,
  type ExecuteOptions,
  type FuncMap,
} from '../../src/cli/format/template.js';

function render(text: string, data: unknown, funcs?: FuncMap, options?: ExecuteOptions): string {
  return parseTemplate(text, { funcs }).execute(data, funcs, options);
}

function failure(text: string, data: unknown = {}, options?: ExecuteOptions): string {
  try {
    render(text, data, undefined, options);
  } catch (err) {
    assert.ok(err instanceof TemplateError);
    return err.message;
  }
  assert.fail(`expected ${text} to fail`);
}

// The same data and templates were run through `docker inspect --format` of
// docker CLI 28.2.2 (against a stub daemon serving this object); the expected
// values are its output, and its errors without the "template parsing error: "
// prefix. docker inspect reads data as typed structs, falling back to raw maps
// with missingkey=error, which MissingKey 'inspect' emulates.
const inspectData = {
  Id: 'f00dfeed0123456789',
  Name: '/web',
  Args: ['-c', 'echo hi'],
  Path: 'sh',
  State: { Status: 'running', Running: true, Pid: 42, ExitCode: 0 },
  Config: {
    Labels: { 'com.b': 'two', 'com.a': 'one', 'x_y-z': '3' },
    Env: ['A=1', 'B=2'],
    Image: 'busybox',
    Cmd: ['sh'],
  },
  HostConfig: { Memory: 536870912, CpuShares: 0 },
};

const dockerGolden: [string, string | { error: string }][] = [
  ['{{.Name}}', '/web'],
  ['{{.State.Pid}}', '42'],
  ['{{.Config.Env}}', '[A=1 B=2]'],
  ['{{.Config.Labels}}', 'map[com.a:one com.b:two x_y-z:3]'],
  ['{{json .Config.Labels}}', '{"com.a":"one","com.b":"two","x_y-z":"3"}'],
  ['{{json .Config.Env}}', '["A=1","B=2"]'],
  ['{{index .Config.Labels "com.a"}}', 'one'],
  ['{{index .Config.Labels "nope"}}', ''],
  ['{{.Config.Labels.nope}}', '<no value>'],
  ['{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}', 'com.a=one;com.b=two;x_y-z=3;'],
  ['{{range .Config.Env}}[{{.}}]{{end}}', '[A=1][B=2]'],
  ['{{join .Config.Env ","}}', 'A=1,B=2'],
  ['{{len .Config.Env}} {{len .Name}} {{len .Config.Labels}}', '2 4 3'],
  [
    '{{printf "%5.2f|%-4d|%q|%x|%v|%s" 1.5 3 "web" "web" .Config.Env .Config.Env}}',
    ' 1.50|3   |"web"|776562|[A=1 B=2]|[A=1 B=2]',
  ],
  ['{{printf "%d" "x"}}', '%!d(string=x)'],
  ['{{printf "%d %d" 1}}', '1 %!d(MISSING)'],
  ['{{printf "%d" 1 2}}', '1%!(EXTRA int=2)'],
  [
    '{{printf "%8.3e|%g|%G|%+d|%05d|%x|%X|%o|%b|%c|%U|%t" 1234.5678 0.00001 1e21 5 -42 255 255 8 5 65 65 true}}',
    '1.235e+03|1e-05|1E+21|+5|-0042|ff|FF|10|101|A|U+0041|true',
  ],
  [
    '{{printf "%6.2f|%-8s|%8s|%.2s|%q" 3.14159 "ab" "ab" "abcdef" .Config.Env}}',
    '  3.14|ab      |      ab|ab|["A=1" "B=2"]',
  ],
  ['{{printf "%x %X % x %#x" "hi" "hi" "hi" 255}}', '6869 6869 68 69 0xff'],
  ['{{printf "%05s|%-05d|%+.1e|% d" "ab" 3 12345.678 5}}', '000ab|3    |+1.2e+04| 5'],
  ['{{printf "%!" }}', '%!!(MISSING)'],
  ['{{printf "%" }}', '%!(NOVERB)'],
  ['{{printf "%z" 1}}', '%!z(int=1)'],
  ['{{printf "%*d|%-*d|%.*f" 5 1 4 2 2 3.14159}}', '    1|2   |3.14'],
  ['{{print 1 2 "a" "b" 3 true}}', '1 2ab3 true'],
  ['{{println 1 "a"}}', '1 a\n'],
  ['{{if eq .State.Pid 42}}yes{{else}}no{{end}}', 'yes'],
  ['{{if eq .State.Status "running" "paused"}}up{{end}}', 'up'],
  ['{{if and .State.Running (gt .State.Pid 1)}}ok{{end}}', 'ok'],
  ['{{or "" .Name}} {{and 1 0}} {{not .State.Running}}', '/web 0 false'],
  ['{{with .State}}{{.Status}}{{end}}', 'running'],
  [
    '{{with .Nope}}x{{else}}none{{end}}',
    { error: 'template: :1:7: executing "" at <.Nope>: map has no entry for key "Nope"' },
  ],
  ['{{.Nope}}', { error: 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"' }],
  [
    '{{.State.Nope}}',
    { error: 'template: :1:8: executing "" at <.State.Nope>: map has no entry for key "Nope"' },
  ],
  [
    '{{.Name.X}}',
    { error: 'template: :1:7: executing "" at <.Name.X>: can\'t evaluate field X in type interface {}' },
  ],
  ['{{$x := .State.Pid}}{{$x}}', '42'],
  ['{{- " trimmed " -}}', ' trimmed '],
  ['a  {{- .Name -}}  b', 'a/webb'],
  ['{{/* comment */}}c', 'c'],
  ['{{upper .Name}} {{lower "ABC"}} {{title "hello world-foo bar_baz"}}', '/WEB abc Hello World-Foo Bar_baz'],
  ['{{split .Name "e"}}', '[/w b]'],
  ['{{split "abc" ""}}', '[a b c]'],
  ['{{truncate .Name 2}}|{{pad .Name 1 2}}|{{pad "" 1 2}}|', '/w| /web  ||'],
  ['{{slice .Name 1 3}} {{slice .Config.Env 1}} {{index .Name 1}}', 'we [B=2] 119'],
  ['{{range 3}}{{.}}{{end}}', '012'],
  ['{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}', '0:A=1 1:B=2 '],
  ['{{range .Config.Env}}{{if eq . "B=2"}}{{break}}{{end}}{{.}}{{end}}', 'A=1'],
  ['{{range .Config.Env}}{{if eq . "A=1"}}{{continue}}{{end}}{{.}}{{end}}', 'B=2'],
  ['{{nosuch}}', { error: 'template: :1: function "nosuch" not defined' }],
  ['{{.Name', { error: 'template: :1: unclosed action' }],
  ['{{if .Name}}', { error: 'template: :1: unexpected EOF' }],
  ['{{end}}', { error: 'template: :1: unexpected {{end}}' }],
  ['{{else}}', { error: 'template: :1: unexpected {{else}}' }],
  ['{{.Name | }}', '/web'],
  ['{{3 | 4}}', { error: 'template: :1: non executable command in pipeline stage 2' }],
  ['{{$y}}', { error: 'template: :1: undefined variable "$y"' }],
  ['{{len 3}}', { error: 'template: :1:2: executing "" at <len 3>: error calling len: len of type int' }],
  [
    '{{index .Config.Env 5}}',
    {
      error:
        'template: :1:2: executing "" at <index .Config.Env 5>: error calling index: index out of range: 5',
    },
  ],
  [
    '{{lt 1 "a"}}',
    {
      error:
        'template: :1:2: executing "" at <lt 1 "a">: error calling lt: incompatible types for comparison',
    },
  ],
  ['{{upper 3}}', { error: 'template: :1:8: executing "" at <3>: expected string; found 3' }],
  ['{{json .Nope}}', { error: 'template: :1:7: executing "" at <.Nope>: map has no entry for key "Nope"' }],
  ['{{"\\t\\u00e9\\x41"}}|{{`raw\\n`}}|{{\'a\'}}', '\téA|raw\\n|97'],
  ['{{0x1F}} {{1e3}} {{-2}} {{1.50}} {{0o17}} {{1_000}}', '31 1000 -2 1.5 15 1000'],
  ['{{.Config.Labels.com.a}}', '<no value>'],
  ['{{eq .Nope "x"}}', { error: 'template: :1:5: executing "" at <.Nope>: map has no entry for key "Nope"' }],
  [
    '{{html "<a&b>"}} {{urlquery "a b&c/d"}} {{js "a\\"b<c\'d"}}',
    '&lt;a&amp;b&gt; a+b%26c%2Fd a\\"b\\u003Cc\\\'d',
  ],
  ['{{len}}', { error: 'template: :1:2: executing "" at <len>: wrong number of args for len: want 1 got 0' }],
  [
    '{{printf}}',
    {
      error:
        'template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0',
    },
  ],
  [
    '{{json}}',
    { error: 'template: :1:2: executing "" at <json>: wrong number of args for json: want 1 got 0' },
  ],
  ['{{3-}}', { error: 'template: :1: bad number syntax: "3-"' }],
  [
    '{{"a" | .Name}}',
    { error: 'template: :1:8: executing "" at <.Name>: Name is not a method but has arguments' },
  ],
  [
    '{{.Name 3}}',
    { error: 'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments' },
  ],
  ['{{(index .Config.Env 0)}}', 'A=1'],
  ['{{define "T"}}[{{.}}]{{end}}{{template "T" .Name}}', '[/web]'],
  ['{{block "B" .State.Pid}}<{{.}}>{{end}}', '<42>'],
  ['{{- /* c */ -}}  x', 'x'],
  ['a {{- /* c */}} b', 'a b'],
  ['{{.Name -}}\n  next', '/webnext'],
  [
    'line1\n{{.Nope.X.Y}}\n{{.Name.X}}',
    { error: 'template: :2:7: executing "" at <.Nope.X.Y>: map has no entry for key "Nope"' },
  ],
  ['{{if .Name}}\n{{.Name}}\n{{end}}', '\n/web\n'],
  ['{{.Name}} {{"unterminated}}', { error: 'template: :1: unterminated quoted string' }],
  [
    '{{.Name}} {{$x := 1}}{{$x.Foo}}',
    { error: 'template: :1:25: executing "" at <$x.Foo>: can\'t evaluate field Foo in type int' },
  ],
  [
    '{{(index .Config.Env 0).Foo}}',
    { error: 'template: :1:21: executing "" at <0>: can\'t evaluate field Foo in type string' },
  ],
  [
    '{{(.State).Pid}} {{(.State).Nope}}',
    { error: 'template: :1:20: executing "" at <.State>: map has no entry for key "Nope"' },
  ],
  ['{{.State.Pid | printf "%03d"}}', '042'],
  ['{{.Config.Env | len}}', '2'],
  ['{{if gt (len .Config.Env) 1}}many{{end}}', 'many'],
  ['{{if lt .Name "/x"}}lt{{end}} {{if ge .State.Pid 42}}ge{{end}}', 'lt ge'],
  [
    '{{range $i, $v := .Config.Labels}}{{$i}}{{end}}{{$i}}',
    { error: 'template: :1: undefined variable "$i"' },
  ],
  ['{{$x := 1}}{{range .Config.Env}}{{$x = 2}}{{end}}{{$x}}', '2'],
  [
    '{{range .Nope}}x{{else}}empty{{end}}',
    { error: 'template: :1:8: executing "" at <.Nope>: map has no entry for key "Nope"' },
  ],
  ['{{range .Config.Labels}}{{.}},{{end}}', 'one,two,3,'],
  ['{{range $v := .Config.Env}}{{$v}}{{end}}', 'A=1B=2'],
  [
    '{{range $x, $y := 3}}{{end}}',
    { error: 'template: :1:18: executing "" at <3>: can\'t use 3 to iterate over more than one variable' },
  ],
  [
    '{{range .Name}}{{end}}',
    { error: 'template: :1:8: executing "" at <.Name>: range can\'t iterate over /web' },
  ],
  ['{{with $x := .State}}{{$x.Pid}}{{end}}', '42'],
  ['{{with .State.Pid}}{{.}}{{else with .Name}}n{{end}}', '42'],
  ['{{if .State.Running}}a{{else if .Nope}}b{{end}}', 'a'],
  ['{{.State.Running | not}}', 'false'],
  ['{{eq "a" "a"}} {{ne "a" "b"}}', 'true true'],
  [
    '{{eq true true}} {{eq .Config.Env .Config.Env}}',
    {
      error:
        'template: :1:19: executing "" at <eq .Config.Env .Config.Env>: error calling eq: non-comparable type [A=1 B=2]: []interface {}',
    },
  ],
  [
    '{{index .Config.Labels 1}}',
    {
      error:
        'template: :1:2: executing "" at <index .Config.Labels 1>: error calling index: value has type int; should be string',
    },
  ],
  [
    '{{slice .Name 3 1}}',
    {
      error:
        'template: :1:2: executing "" at <slice .Name 3 1>: error calling slice: invalid slice index: 3 > 1',
    },
  ],
  [
    '{{slice .Name 1 2 3}}',
    {
      error:
        'template: :1:2: executing "" at <slice .Name 1 2 3>: error calling slice: cannot 3-index slice a string',
    },
  ],
  ['{{printf "%d" .Config.Env}}', '[%!d(string=A=1) %!d(string=B=2)]'],
  ['{{printf "%.3s|%5.1q|%x" "abcdef" "abcdef" .Config.Env}}', 'abc|  "a"|[413d31 423d32]'],
  ['{{printf "%c%c" 0x65e5 0x672c}}', '日本'],
  ['{{printf "%q" "tab\\there\\nnl é \\u00a0 \\x01"}}', '"tab\\there\\nnl é \\u00a0 \\x01"'],
  ['{{printf "%+q" "é"}}', '"\\u00e9"'],
  ['{{printf "%#q" "raw"}}', '`raw`'],
  [
    '{{printf "%e %E %.0f %.0f %.0f %.1f" 0.0 1e-10 0.5 1.5 2.5 0.05}}',
    '0.000000e+00 1.000000E-10 0 2 2 0.1',
  ],
  ['{{printf "%g %g %g %.3g %.10g" 100.0 1e20 1e-7 1234.0 1.0}}', '100 1e+20 1e-07 1.23e+03 1'],
  ['{{printf "%08.3f|%-8.2f|%+.2f|% .2f" -3.14159 2.5 1.0 1.0}}', '-003.142|2.50    |+1.00| 1.00'],
  ['{{printf "%6.2v|%.2v" 3.14159 "abc"}}', '   3.1|ab'],
  ['{{printf "%v|%d|%s" nil nil nil}}', '<nil>|%!d(<nil>)|%!s(<nil>)'],
  ['{{printf "%t %v" 1 true}}', '%!t(int=1) true'],
  ['{{printf "%5t|%-7v|" true false}}', ' true|false  |'],
  ['{{printf "%x %X %o %#o %b" -255 -255 -8 8 -5}}', '-ff -FF -10 010 -101'],
  ['{{printf "%U %#U" 0x1F600 0x41}}', "U+1F600 U+0041 'A'"],
  ['{{printf "%q %+q" 0x41 0x65e5}}', "'A' '\\u65e5'"],
  ['{{json "a<b>&c"}}', '"a<b>&c"'],
  ['{{json "\\u2028"}}', '"\\u2028"'],
  ['{{json 1.5}} {{json 100}} {{json true}} {{json nil}}', '1.5 100 true null'],
  ['{{upper "é"}} {{title "élan vital"}} {{lower "ÀB"}}', 'É Élan Vital àb'],
  ['{{truncate "héllo" 2}}', 'h�'],
  [
    '{{pad .Name -1 0}}',
    {
      error:
        'template: :1:2: executing "" at <pad .Name -1 0>: error calling pad: strings: negative Repeat count',
    },
  ],
  ['{{split .Name 3}}', { error: 'template: :1:14: executing "" at <3>: expected string; found 3' }],
  [
    '{{.Config.Env.Foo}}',
    {
      error:
        'template: :1:9: executing "" at <.Config.Env.Foo>: can\'t evaluate field Foo in type interface {}',
    },
  ],
  [
    '{{.State.Pid.Foo}}',
    {
      error:
        'template: :1:8: executing "" at <.State.Pid.Foo>: can\'t evaluate field Foo in type interface {}',
    },
  ],
  ['{{.Args}} {{.Path}}', '[-c echo hi] sh'],
  ['{{ .Name }}{{\t.Name\t}}', '/web/web'],
  ['{{.Name}}}}', '/web}}'],
  ['{{{{.Name}}', { error: 'template: :1: unexpected "{" in command' }],
  ['{{.Name}', { error: "template: :1: bad character U+007D '}'" }],
  ['{{ .Name | printf "%s-%s" "x" }}', 'x-/web'],
  [
    '{{template "nope"}}',
    { error: 'template: :1:11: executing "" at <{{template "nope"}}>: template "nope" not defined' },
  ],
  [
    '{{define "a"}}A{{end}}{{define "a"}}B{{end}}{{template "a"}}',
    { error: 'template: :1: template: multiple definition of template "a"' },
  ],
  ['{{break}}', { error: 'template: :1: {{break}} outside {{range}}' }],
  ['{{range .Config.Env}}{{break 1}}{{end}}', { error: 'template: :1: unexpected "1" in {{break}}' }],
  ['{{if 1}}{{else}}{{else}}{{end}}', { error: 'template: :1: expected end; found {{else}}' }],
  ['{{with}}', { error: 'template: :1: missing value for with' }],
  ['{{range}}', { error: 'template: :1: missing value for range' }],
  [
    '{{.Name | .State}}',
    { error: 'template: :1:10: executing "" at <.State>: State is not a method but has arguments' },
  ],
  ['{{nil}}', { error: 'template: :1:2: executing "" at <nil>: nil is not a command' }],
  ['{{nil | printf "%v"}}', { error: 'template: :1:2: executing "" at <nil>: nil is not a command' }],
  ['{{printf "%v" nil}}', '<nil>'],
  ['{{.Name.}}', { error: 'template: :1: unexpected <.> in operand' }],
  ['{{.Name..X}}', { error: 'template: :1: unexpected <.> in operand' }],
  ['{{$.Name}}', '/web'],
  ['{{$x := .Name}}{{$x := 1}}{{$x}}', '1'],
  ['{{$x = 1}}', { error: 'template: :1:7: executing "" at <1>: undefined variable: $x' }],
  ['{{@}}', { error: 'template: :1: unexpected "@" in command' }],
  ['{{.Name #}}', { error: 'template: :1: unexpected "#" in operand' }],
  ['{{1 2}}', { error: 'template: :1:2: executing "" at <1>: can\'t give argument to non-function 1' }],
  [
    '{{"a" "b"}}',
    { error: 'template: :1:2: executing "" at <"a">: can\'t give argument to non-function "a"' },
  ],
  [
    '{{.State.Pid 1}}',
    { error: 'template: :1:8: executing "" at <.State.Pid>: Pid is not a method but has arguments' },
  ],
  ['{{len .State}}', '4'],
  [
    '{{index .Config.Labels "com.a" "x"}}',
    {
      error:
        'template: :1:2: executing "" at <index .Config.Labels "com.a" "x">: error calling index: cannot index slice/array with type string',
    },
  ],
  [
    '{{index nil 1}}',
    { error: 'template: :1:2: executing "" at <index nil 1>: error calling index: index of untyped nil' },
  ],
  ['{{html .Config.Env}} {{urlquery 1 2}} {{js 1}}', '[A=1 B=2] 1+2 1'],
  ['{{print}}{{println}}', '\n'],
  [
    '{{print nil}} {{print .Nope}}',
    { error: 'template: :1:22: executing "" at <.Nope>: map has no entry for key "Nope"' },
  ],
  [
    '{{printf "%s %s" .Nope .Name}}',
    { error: 'template: :1:17: executing "" at <.Nope>: map has no entry for key "Nope"' },
  ],
  [
    '{{.Nope | printf "%v"}}',
    { error: 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"' },
  ],
  [
    '{{if .Nope}}x{{end}}',
    { error: 'template: :1:5: executing "" at <.Nope>: map has no entry for key "Nope"' },
  ],
  ['{{len .Nope}}', { error: 'template: :1:6: executing "" at <.Nope>: map has no entry for key "Nope"' }],
];

describe('template: docker inspect parity', () => {
  for (const [text, expected] of dockerGolden) {
    test(JSON.stringify(text), () => {
      if (typeof expected === 'string') {
        assert.equal(render(text, inspectData, undefined, { missingKey: 'inspect' }), expected);
      } else {
        assert.equal(failure(text, inspectData, { missingKey: 'inspect' }), expected.error);
      }
    });
  }
});

describe('template: data model', () => {
  test('missing map keys print <no value>, nil values too', () => {
    assert.equal(render('{{.A}}|{{.B}}|{{.B.C}}', { B: undefined }), '<no value>|<no value>|<no value>');
    assert.equal(render('{{.A}}', { A: null }), '<no value>');
    assert.equal(render('{{printf "%v" .A}}', { A: null }), '<nil>');
  });

  test('missingKey error and inspect modes', () => {
    assert.equal(
      failure('{{.A}}', {}, { missingKey: 'error' }),
      'template: :1:2: executing "" at <.A>: map has no entry for key "A"',
    );
    // Go places a field chain at its last link.
    assert.equal(
      failure('{{.A.B}}', {}, { missingKey: 'error' }),
      'template: :1:4: executing "" at <.A.B>: map has no entry for key "A"',
    );
    // inspect: labels-like maps keep Go's map behaviour, struct-like objects fail.
    assert.equal(
      render('{{.Labels.x}}', { Labels: { 'a.b': '1' } }, undefined, { missingKey: 'inspect' }),
      '<no value>',
    );
    assert.equal(render('{{.Labels.x}}', { Labels: {} }, undefined, { missingKey: 'inspect' }), '<no value>');
    assert.match(
      failure('{{.Nope}}', { Id: 'x' }, { missingKey: 'inspect' }),
      /map has no entry for key "Nope"/,
    );
  });

  test('objects marked with GO_TYPE behave as structs', () => {
    const ctx = { ID: 'abc', [GO_TYPE]: '*formatter.ContainerContext' };
    assert.equal(render('{{.ID}}', ctx), 'abc');
    assert.equal(
      failure('{{.Nope}}', ctx),
      'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext',
    );
    assert.equal(render('{{if .}}yes{{end}}', { [GO_TYPE]: 'T' }), 'yes');
  });

  test('function properties are methods: called with the arguments given', () => {
    const data = {
      Labels: { a: '1' },
      Label(this: { Labels: Record<string, string> }, name: string) {
        return this.Labels[name] ?? '';
      },
      Names: () => ['x', 'y'],
    };
    assert.equal(render('{{.Label "a"}}|{{.Label "b"}}|{{.Names}}|{{index .Names 1}}', data), '1||[x y]|y');
    assert.equal(render('{{"a" | .Label}}', data), '1');
  });

  test('class instances: getters and methods on the prototype', () => {
    class Ctx {
      constructor(private readonly id: string) {}
      get ID(): string {
        return this.id.slice(0, 3);
      }
      Upper(): string {
        return this.id.toUpperCase();
      }
    }
    assert.equal(render('{{.ID}} {{.Upper}}', new Ctx('abcdef')), 'abc ABCDEF');
    assert.equal(render('{{.constructor}}', new Ctx('x')), '<no value>');
  });

  test('Maps are Go maps: sorted iteration, key lookup', () => {
    const m = new Map<string, unknown>([
      ['b', 2],
      ['a', 1],
    ]);
    assert.equal(
      render('{{range $k, $v := .}}{{$k}}{{$v}}{{end}} {{.a}} {{len .}} {{.}}', m),
      'a1b2 1 2 map[a:1 b:2]',
    );
  });

  test('numbers: integers print as ints, fractions like Go floats', () => {
    assert.equal(render('{{.}}', 1e21), '1000000000000000000000');
    assert.equal(render('{{.}}', 0.1), '0.1');
    assert.equal(render('{{.}}', 1234567.5), '1.2345675e+06');
    assert.equal(render('{{.}}', 1e-7), '1e-07');
  });

  test('range over an integer, else branch, break and continue', () => {
    assert.equal(
      render(
        '{{range $i := 4}}{{if eq $i 1}}{{continue}}{{end}}{{if eq $i 3}}{{break}}{{end}}{{$i}}{{end}}',
        null,
      ),
      '02',
    );
    assert.equal(render('{{range .}}x{{else}}empty{{end}}', []), 'empty');
    assert.equal(render('{{range .}}x{{else}}empty{{end}}', 0), 'empty');
    assert.equal(render('{{range $i, $v := .}}{{$i}}={{$v}} {{end}}', ['a', 'b']), '0=a 1=b ');
  });

  test('variables: scoping, assignment, $', () => {
    assert.equal(render('{{$x := 1}}{{range .}}{{$x = .}}{{end}}{{$x}}', [5, 6]), '6');
    assert.equal(render('{{with $x := .A}}{{$x}}{{$.B}}{{end}}', { A: 'a', B: 'b' }), 'ab');
    assert.equal(failure('{{with $x := 1}}{{end}}{{$x}}'), 'template: :1: undefined variable "$x"');
  });

  test('whitespace trimming across newlines', () => {
    assert.equal(render('a \n\t {{- .}} \n b', 'X'), 'aX \n b');
    assert.equal(render('a {{. -}} \n\t b', 'X'), 'a Xb');
    assert.equal(render('{{- /* note */ -}}\n x', null), 'x');
  });

  test('parse errors report the line', () => {
    assert.equal(failure('a\nb\n{{.X'), 'template: :3: unclosed action');
    assert.equal(
      failure('{{if .X}}\n{{else}}\n{{else}}{{end}}'),
      'template: :3: expected end; found {{else}}',
    );
    assert.equal(failure('{{range .}}{{end}}{{break}}'), 'template: :1: {{break}} outside {{range}}');
    assert.equal(failure('{{"abc}}'), 'template: :1: unterminated quoted string');
    assert.equal(failure('{{.A | 3}}'), 'template: :1: non executable command in pipeline stage 2');
    assert.equal(failure('{{(1}}'), 'template: :1: unclosed left paren');
    assert.equal(failure('{{1)}}'), 'template: :1: unexpected ")" in command');
    assert.equal(failure('{{/* x }}'), 'template: :1: unclosed comment');
  });

  test('exec errors carry what was rendered before them', () => {
    try {
      render('abc {{.X.Y}} def', { X: null });
      assert.fail('expected failure');
    } catch (err) {
      assert.ok(err instanceof TemplateError);
      assert.equal(err.phase, 'exec');
      assert.equal(err.output, 'abc ');
      assert.equal(
        err.message,
        'template: :1:8: executing "" at <.X.Y>: nil pointer evaluating interface {}.Y',
      );
    }
  });

  test('error positions count bytes, as Go does', () => {
    assert.equal(
      failure('é{{.A.B}}', { A: 1 }),
      'template: :1:6: executing "" at <.A.B>: can\'t evaluate field B in type int',
    );
  });
});

describe('template: functions', () => {
  test('docker functions', () => {
    assert.equal(
      render('{{json .}}', { b: 1, a: [true, null], c: '<&>' }),
      '{"a":[true,null],"b":1,"c":"<&>"}',
    );
    assert.equal(render('{{json .}}', { Zeta: 1, Alpha: 2 }), '{"Zeta":1,"Alpha":2}');
    assert.equal(render('{{join . ","}}', [1, 'a', null]), '1,a,<nil>');
    assert.equal(render('{{join . ","}}', null), '');
    assert.equal(render('{{join . ","}}', { x: 'b', y: 'a' }), 'a,b');
    assert.equal(render('{{split . ","}}', 'a,,b'), '[a  b]');
    assert.equal(
      render('{{lower .}}|{{upper .}}|{{title .}}', 'hEllo wOrld'),
      'hello world|HELLO WORLD|HEllo WOrld',
    );
    assert.equal(render('[{{pad . 2 1}}][{{pad "" 2 1}}]', 'x'), '[  x ][]');
    assert.equal(render('{{truncate . 3}}|{{truncate . 10}}', 'abcdef'), 'abc|abcdef');
    assert.match(failure('{{join . ","}}', 5), /error calling join: expected slice, got int/);
  });

  test('header functions leave column titles unchanged', () => {
    const header = { Names: 'NAMES', Labels: 'LABELS' };
    const text =
      '{{upper .Names}} {{json .Labels}} {{join .Names ","}} {{split .Names ","}} {{truncate .Names 2}}';
    assert.equal(render(text, header, headerFuncs), 'NAMES LABELS NAMES NAMES NAMES');
    assert.equal(Object.keys(dockerFuncs).sort().join(), 'join,json,lower,pad,split,title,truncate,upper');
  });

  test('user functions: declared at parse time, checked arity, errors', () => {
    const funcs: FuncMap = {
      double: withArity((n: number) => n * 2, 1),
      fail: () => {
        throw new Error('nope');
      },
      strict: () => {
        throw new TemplateFuncError('wrong type for value; expected string; got int', 0, 'string');
      },
    };
    assert.equal(render('{{double 21}} {{21 | double}}', null, funcs), '42 42');
    assert.equal(
      failure2('{{double}}', funcs),
      'template: :1:2: executing "" at <double>: wrong number of args for double: want 1 got 0',
    );
    assert.equal(
      failure2('{{fail 1}}', funcs),
      'template: :1:2: executing "" at <fail 1>: error calling fail: nope',
    );
    assert.equal(
      failure2('{{strict 7}}', funcs),
      'template: :1:9: executing "" at <7>: expected string; found 7',
    );
    assert.throws(() => parseTemplate('{{double 1}}'), /function "double" not defined/);
  });

  test('and/or short-circuit', () => {
    const funcs: FuncMap = {
      boom: () => {
        throw new Error('evaluated');
      },
    };
    assert.equal(render('{{and 0 boom}} {{or 1 boom}} {{and 1 2}} {{or 0 ""}}', null, funcs), '0 1 2 ');
  });

  test('comparisons', () => {
    assert.equal(
      render('{{eq . 1 2 3}} {{ne "a" "b"}} {{lt "a" "b"}} {{ge 2 2}} {{gt 1.5 1}}', 3),
      'true true true true true',
    );
    assert.match(failure('{{lt true false}}'), /error calling lt: invalid type for comparison/);
    assert.match(failure('{{eq .}}', 1), /error calling eq: missing argument for comparison/);
    assert.equal(render('{{eq .A .B}}', { A: null }), 'true');
  });

  test('index, slice, len', () => {
    assert.equal(render('{{index . 1 0}}', [[1], [2, 3]]), '2');
    assert.equal(render('{{index . "a" "b"}}', { a: { b: 'x' } }), 'x');
    assert.equal(render('[{{index .L "missing"}}]', { L: { a: 'x' } }), '[]');
    assert.equal(render('[{{index .L "missing"}}]', { L: { a: 1 } }), '[<no value>]');
    assert.equal(render('[{{index .L "x"}}]', { L: null }), '[]');
    assert.equal(render('{{slice . 1 3}} {{slice . 3}} {{len .}}', 'héllo'), '\u00e9 llo 6');
    assert.match(failure('{{slice . 2 1}}', 'abc'), /invalid slice index: 2 > 1/);
    assert.match(failure('{{index . "x"}}', [1]), /cannot index slice\/array with type string/);
  });

  test('print family', () => {
    assert.equal(render('{{print "a" 1 2 "b"}}', null), 'a1 2b');
    assert.equal(render('{{println "a" 1}}', null), 'a 1\n');
    assert.equal(
      render('{{printf "%-5s|%5.1f|%03d|%q|%v" "ab" 2.25 7 "x" .}}', { k: [1, 'a'] }),
      'ab   |  2.2|007|"x"|map[k:[1 a]]',
    );
    assert.equal(
      render('{{html .}} {{urlquery .}} {{js .}}', '<a b="c">'),
      '&lt;a b=&#34;c&#34;&gt; %3Ca+b%3D%22c%22%3E \\u003Ca b\\u003D\\"c\\"\\u003E',
    );
  });

  test('call and defined templates', () => {
    // Function-valued properties are methods; call takes functions that functions return.
    const funcs: FuncMap = { multiplier: () => (a: number, b: number) => a * b };
    assert.equal(render('{{call multiplier 2 3}}', null, funcs), '6');
    assert.equal(
      render('{{define "row"}}<{{.}}>{{end}}{{range .}}{{template "row" .}}{{end}}', [1, 2]),
      '<1><2>',
    );
    assert.match(failure('{{template "nope"}}'), /template "nope" not defined/);
  });
});

function failure2(text: string, funcs: FuncMap): string {
  try {
    render(text, null, funcs);
  } catch (err) {
    assert.ok(err instanceof TemplateError);
    return err.message;
  }
  assert.fail(`expected ${text} to fail`);
}
