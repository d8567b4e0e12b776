import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envFromList, ShellLex, shellPatternToRegExp } from '../../src/build/dockerfile/lex.js';

const env = envFromList(['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL=']);
const lex = new ShellLex('\\');

/** [input, expected] where expected undefined means an error; behaviour as Docker's shell lexer. */
const WORD_CASES: [string, string | undefined][] = [
  ['hello', 'hello'],
  ["he'll'o", 'hello'],
  ["he'llo", undefined],
  ["he\\'llo", "he'llo"],
  ["he\\\\'llo", undefined],
  ['abc\\tdef', 'abctdef'],
  ['"abc\\tdef"', 'abc\\tdef'],
  ['"abc\\\\tdef"', 'abc\\tdef'],
  ["'abc\\tdef'", 'abc\\tdef'],
  ['hello\\', 'hello'],
  ['hello\\\\', 'hello\\'],
  ['"hello', undefined],
  ['"hello\\"', undefined],
  ['"hel\'lo"', "hel'lo"],
  ["'hello", undefined],
  ["'hello\\'", 'hello\\'],
  ['"\'\'"', "''"],
  ['$.', '$.'],
  ['he$1x', 'hex'],
  ['he$.x', 'he$.x'],
  ['he$pwd.', 'he.'],
  ['he$PWD', 'he/home'],
  ['he\\$PWD', 'he$PWD'],
  ['he\\\\$PWD', 'he\\/home'],
  ['"he\\$PWD"', 'he$PWD'],
  ['"he\\\\$PWD"', 'he\\/home'],
  ['\\${}', '${}'],
  ['he\\${}xx', 'he${}xx'],
  ['${}', undefined],
  ['he${}xx', undefined],
  ['he${hi}xx', 'hexx'],
  ['he${PWD}', 'he/home'],
  ['he${.}', undefined],
  ['he${XXX:-000}xx', 'he000xx'],
  ['he${PWD:-000}xx', 'he/homexx'],
  ['he${XXX:-$PWD}xx', 'he/homexx'],
  ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
  ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
  ['he${XXX:YYY}', undefined],
  ['he${XXX?}', undefined],
  ['he${XXX:?}', undefined],
  ['he${PWD?}', 'he/home'],
  ['he${NULL?}', 'he'],
  ['he${NULL:?}', undefined],
  ['he${XXX:+${PWD}}xx', 'hexx'],
  ['he${PWD:+${XXX}}xx', 'hexx'],
  ['he${PWD:+${SHELL}}xx', 'hebashxx'],
  ['he${XXX:+000}xx', 'hexx'],
  ['he${PWD:+000}xx', 'he000xx'],
  ["'he${XX}'", 'he${XX}'],
  ['"he${PWD}"', 'he/home'],
  ['"he\'$PWD\'"', "he'/home'"],
  ["'$PWD'", '$PWD'],
  ["'\\$PWD'", '\\$PWD'],
  ['he${PWD', undefined],
  ['he${PWD:=000}xx', undefined],
  ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
  ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
  ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
  ['안녕$KOREAN', '안녕한국어'],
  ["안'녕'하세요", '안녕하세요'],
  ['${aaa}}', '}'],
  ['${aaa:-bbb}}', 'bbb}'],
  ['${aaa:-bbb', undefined],
  ['${aaa:-bbb {foo}', 'bbb {foo'],
  ['${:-bbb}', undefined],
  ['${1:-bbb}', 'bbb'],
  ['$999aaa', 'aaa'],
  ['${@:-bbb}aaa', 'bbbaaa'],
  ['$@@@', '@@'],
  ['${#:+bbb}', ''],
  ['$0', ''],
];

describe('shell lexer (Docker word processing)', () => {
  test('processes words like Docker, including errors', () => {
    for (const [input, expected] of WORD_CASES) {
      if (expected === undefined) {
        assert.throws(() => lex.processWord(input, env), Error, `expected an error for ${input}`);
      } else {
        assert.equal(lex.processWord(input, env), expected, `input ${input}`);
      }
    }
  });

  test('splits words after substitution, keeping quoted spaces', () => {
    const wenv = envFromList(['space=abc  def', 'leading=  ab c', 'trailing=ab c   ', 'hi=hi']);
    const cases: [string, string[]][] = [
      ['hello${hi}bye', ['hellohibye']],
      ['hello${space}bye', ['helloabc', 'defbye']],
      ['hello"${space}"bye', ['helloabc  defbye']],
      ['hello "${space}"bye', ['hello', 'abc  defbye']],
      ['hello${leading}def', ['hello', 'ab', 'cdef']],
      ['hello"${leading}" def', ['hello  ab c', 'def']],
      ['hello${trailing}d', ['helloab', 'c', 'd']],
      ['hel"lo${trailing}"', ['helloab c   ']],
      ['hello" there  "', ['hello there  ']],
      ['hello there     ', ['hello', 'there']],
      ['hello\\ there', ['hello there']],
      ['hello\\" there', ['hello"', 'there']],
      ['hello"\\\\there"', ['hello\\there']],
      ["hello'\\\\there'", ['hello\\\\there']],
      ["hello'$there'", ['hello$there']],
    ];
    for (const [input, expected] of cases) assert.deepEqual(lex.processWords(input, wenv), expected, input);
    assert.throws(() => lex.processWords('hello" there', wenv));
  });

  test('the ? modifier reports its message', () => {
    assert.throws(
      () => lex.processWord('${VAR:?message here$ARG}', envFromList(['ARG=x'])),
      /VAR: message herex/,
    );
    assert.throws(() => lex.processWord('${VAR?}', envFromList([])), /VAR: is not allowed to be unset/);
    assert.equal(lex.processWord('${VAR?msg}', envFromList(['VAR='])), '');
  });

  test('prefix, suffix and replacement substitutions', () => {
    const e = envFromList(['F=archive.tar.gz', 'P=/usr/local/bin']);
    assert.equal(lex.processWord('${F%.*}', e), 'archive.tar');
    assert.equal(lex.processWord('${F%%.*}', e), 'archive');
    assert.equal(lex.processWord('${F#*.}', e), 'tar.gz');
    assert.equal(lex.processWord('${F##*.}', e), 'gz');
    assert.equal(lex.processWord('${P/\\//:}', e), ':usr/local/bin');
    assert.equal(lex.processWord('${P//\\//:}', e), ':usr:local:bin');
    assert.throws(() => lex.processWord('${F:#x}', e), /unsupported modifier \(:#\)/);
  });

  test('shell patterns convert to the same regular expressions as Docker', () => {
    assert.equal(shellPatternToRegExp('*', true, true).source, '^.*');
    assert.equal(shellPatternToRegExp('?', true, true).source, '^.');
    assert.equal(shellPatternToRegExp('\\*', true, true).source, '^\\*');
    assert.throws(() => shellPatternToRegExp('\\x', true, true));
  });

  test('the backtick escape token and raw modes', () => {
    const tick = new ShellLex('`');
    assert.equal(tick.processWord('C:\\path`$HOME', envFromList(['HOME=/h'])), 'C:\\path$HOME');
    const raw = new ShellLex('\\', { rawQuotes: true, skipUnsetEnv: true });
    assert.equal(raw.processWord('"$UNSET" ${A:-b} $SET', envFromList(['SET=v'])), '"$UNSET" ${A:-b} v');
  });

  test('reports matched and unmatched variables', () => {
    const result = lex.process('$A ${B:-x} $C', envFromList(['A=1', 'C=3']));
    assert.deepEqual([...result.matched].sort(), ['A', 'C']);
    assert.deepEqual([...result.unmatched], ['B']);
  });
});
