import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatFloat,
  formatValue,
  goTypeName,
  GO_TYPE,
  looksLikeGoStruct,
  quote,
  quoteRune,
  sprint,
  sprintf,
  sprintln,
} from '../../src/cli/format/gofmt.js';

describe('gofmt: strconv.FormatFloat', () => {
  const cases: [number, 'e' | 'E' | 'f' | 'g' | 'G', number, string][] = [
    [1.005, 'f', 2, '1.00'], // the double is just below 1.005
    [0.5, 'f', 0, '0'], // exact halves round to even
    [1.5, 'f', 0, '2'],
    [2.5, 'f', 0, '2'],
    [1.125, 'g', 3, '1.12'],
    [1.135, 'g', 3, '1.14'],
    [0.0004, 'f', 2, '0.00'],
    [0.009, 'f', 2, '0.01'],
    [123456789, 'e', 3, '1.235e+08'],
    [123456789, 'E', -1, '1.23456789E+08'],
    [1e21, 'g', -1, '1e+21'],
    [100000, 'g', -1, '100000'],
    [1000000, 'g', -1, '1e+06'],
    [0.0001, 'g', -1, '0.0001'],
    [0.00001, 'g', -1, '1e-05'],
    [0.000012345, 'g', 3, '1.23e-05'],
    [999.6, 'g', 3, '1e+03'],
    [100, 'g', 3, '100'],
    [4, 'g', 3, '4'],
    [0, 'g', -1, '0'],
    [0, 'e', 2, '0.00e+00'],
    [-0, 'g', -1, '-0'],
    [1e100, 'g', -1, '1e+100'],
    [5e-324, 'g', -1, '5e-324'],
    [0.1, 'f', 20, '0.10000000000000000555'],
    [NaN, 'g', -1, 'NaN'],
    [Infinity, 'f', 2, '+Inf'],
    [-Infinity, 'g', -1, '-Inf'],
  ];
  for (const [x, fmt, prec, expected] of cases) {
    test(`${x} ${fmt} ${prec}`, () => assert.equal(formatFloat(x, fmt, prec), expected));
  }
});

describe('gofmt: fmt', () => {
  test('%v of the JSON value kinds', () => {
    assert.equal(formatValue('s'), 's');
    assert.equal(formatValue(42), '42');
    assert.equal(formatValue(2.5), '2.5');
    assert.equal(formatValue(true), 'true');
    assert.equal(formatValue(null), '<nil>');
    assert.equal(formatValue(['a', 1, null, ['b']]), '[a 1 <nil> [b]]');
    assert.equal(formatValue({ b: 1, a: { c: [] } }), 'map[a:map[c:[]] b:1]');
    assert.equal(
      formatValue(
        new Map([
          [2, 'x'],
          [10, 'y'],
        ]),
      ),
      'map[2:x 10:y]',
    );
    assert.equal(formatValue({ A: 1, B: 'x', [GO_TYPE]: 'T' }), '{1 x}');
  });

  test('verbs, flags, width and precision', () => {
    assert.equal(
      sprintf('%5.2f|%-4d|%q|%x|%v', 1.5, 3, 'web', 'web', ['A=1', 'B=2']),
      ' 1.50|3   |"web"|776562|[A=1 B=2]',
    );
    assert.equal(sprintf('%08.3f|%-8.2f|%+.2f|% .2f', -3.14159, 2.5, 1, 1), '-003.142|2.50    |+1.00| 1.00');
    assert.equal(sprintf('%x %X %o %#o %#x %b', -255, -255, -8, 8, 255, -5), '-ff -FF -10 010 0xff -101');
    assert.equal(sprintf('%U %#U %c %q', 0x1f600, 0x41, 0x65e5, 0x41), "U+1F600 U+0041 'A' 日 'A'");
    assert.equal(sprintf('%.3s|%5.1q|% x|%#q', 'abcdef', 'abcdef', 'hi', 'raw'), 'abc|  "a"|68 69|`raw`');
    assert.equal(sprintf('%*d|%-*d|%.*f', 5, 1, 4, 2, 2, 3.14159), '    1|2   |3.14');
    assert.equal(sprintf('%6.2v|%.2v|%T', 3.14159, 'abc', 'x'), '   3.1|ab|string');
    assert.equal(sprintf('%d%%', 50), '50%');
  });

  test('error annotations', () => {
    assert.equal(sprintf('%d', 'x'), '%!d(string=x)');
    assert.equal(sprintf('%d %d', 1), '1 %!d(MISSING)');
    assert.equal(sprintf('%d', 1, 'a', null), '1%!(EXTRA string=a, <nil>)');
    assert.equal(sprintf('%!'), '%!!(MISSING)');
    assert.equal(sprintf('%'), '%!(NOVERB)');
    assert.equal(sprintf('%z', 1), '%!z(int=1)');
    assert.equal(sprintf('%d', 1.5), '%!d(float64=1.5)');
    assert.equal(sprintf('%s', null), '%!s(<nil>)');
    assert.equal(sprintf('%*d', 'x', 1), '%!(BADWIDTH)1');
  });

  test('Sprint spacing and Sprintln', () => {
    assert.equal(sprint(1, 2, 'a', 'b', 3, true), '1 2ab3 true');
    assert.equal(sprintln(1, 'a'), '1 a\n');
  });

  test('quoting', () => {
    assert.equal(
      quote('tab\there\nnl é \u00a0 \x01 "q" \\'),
      '"tab\\there\\nnl é \\u00a0 \\x01 \\"q\\" \\\\"',
    );
    assert.equal(quote('☺\u{1F600}', true), '"\\u263a\\U0001f600"');
    assert.equal(quote('\x7f'), '"\\x7f"');
    assert.equal(quoteRune(0x27), "'\\''");
  });

  test('Go type names', () => {
    assert.equal(goTypeName(1), 'int');
    assert.equal(goTypeName(1.5), 'float64');
    assert.equal(goTypeName([]), '[]interface {}');
    assert.equal(goTypeName({}), 'map[string]interface {}');
    assert.equal(goTypeName(undefined), '<nil>');
  });

  test('struct or map: a guess from the keys', () => {
    assert.equal(looksLikeGoStruct({ Id: 1, State: {} }), true);
    assert.equal(looksLikeGoStruct({ 'com.example': 'x' }), false);
    assert.equal(looksLikeGoStruct({ '80/tcp': [] }), false);
    assert.equal(looksLikeGoStruct({}), false);
  });
});
