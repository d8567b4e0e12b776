import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DOCKER_TABLE, tabwrite, TabWriter, type TabWriterOptions } from '../../src/cli/format/tabwriter.js';
import { charWidth, stringWidth } from '../../src/cli/format/width.js';

const rightDebug = (padding: number, padchar: string): TabWriterOptions => ({
  minwidth: 0,
  tabwidth: 0,
  padding,
  padchar,
  alignRight: true,
  debug: true,
});

describe('tabwriter: Go text/tabwriter semantics', () => {
  test('tab padding to tab stops', () => {
    const text = 'a\tb\tc\td\t.\n123\t12345\t1234567\t123456789\t.\n\n';
    assert.equal(
      tabwrite(text, { minwidth: 0, tabwidth: 8, padding: 0, padchar: '\t' }),
      'a\tb\tc\td\t\t.\n123\t12345\t1234567\t123456789\t.\n\n',
    );
  });

  test('right alignment with a minimal width', () => {
    const text = 'a\tb\tc\td\t.\n123\t12345\t1234567\t123456789\t.\n\n';
    assert.equal(
      tabwrite(text, { minwidth: 5, tabwidth: 0, padding: 1, padchar: ' ', alignRight: true }),
      '    a     b       c         d.\n  123 12345 1234567 123456789.\n\n',
    );
  });

  test('elastic columns: cells in the same position may belong to different columns', () => {
    assert.equal(
      tabwrite('a\tb\tc\naa\tbb\tcc\naaa\t\naaaa\tdddd\teeee\n', rightDebug(1, '.')),
      '....a|..b|c\n...aa|.bb|cc\n..aaa|\n.aaaa|.dddd|eeee\n',
    );
  });

  test('a line without trailing tab leaves its last cell unaligned', () => {
    assert.equal(
      tabwrite(
        'a\tb\taligned\t\naa\tbb\taligned\t\naaa\tbbb\tunaligned\naaaa\tbbbb\taligned\t\n',
        rightDebug(3, '-'),
      ),
      '------a|------b|---aligned|\n-----aa|-----bb|---aligned|\n----aaa|----bbb|unaligned\n---aaaa|---bbbb|---aligned|\n',
    );
  });

  test('a line without tabs ends an aligned block', () => {
    assert.equal(
      tabwrite('a\tb\nlong line without tabs\nccccccccccccc\td\n'),
      'a         b\nlong line without tabs\nccccccccccccc   d\n',
    );
  });

  test('docker table settings: minimum width 10, padding 3', () => {
    assert.deepEqual(DOCKER_TABLE, { minwidth: 10, tabwidth: 1, padding: 3, padchar: ' ' });
    assert.equal(
      tabwrite([
        ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
        ['0123456789ab', 'bridge', 'bridge', 'local'],
        ['ba9876543210', 'host', 'host', 'local'],
      ]),
      'NETWORK ID     NAME      DRIVER    SCOPE\n0123456789ab   bridge    bridge    local\nba9876543210   host      host      local\n',
    );
  });

  test('wide characters count two columns, combining marks none', () => {
    assert.equal(
      tabwrite([
        ['日本', 'x'],
        ['abcdefghij', 'y'],
      ]),
      '日本' + ' '.repeat(9) + 'x\nabcdefghij   y\n',
    );
    assert.equal(
      tabwrite([['e\u0301', 'x']], { minwidth: 0, tabwidth: 1, padding: 1, padchar: '.' }),
      'e\u0301.x\n',
    );
  });

  test('input may arrive in pieces; flush emits the rest', () => {
    const writer = new TabWriter();
    writer.write('ID\tNA');
    writer.write('ME\n1\tone\n2\ttw');
    writer.write('o');
    assert.equal(writer.flush(), 'ID        NAME\n1         one\n2         two');
    assert.equal(writer.flush(), '');
  });

  test('empty soft cells can be discarded', () => {
    const options = { minwidth: 0, tabwidth: 0, padding: 1, padchar: '.' };
    assert.equal(tabwrite('a\v\vb\nc\v\vd\n', options), 'a..b\nc..d\n');
    assert.equal(tabwrite('a\v\vb\nc\v\vd\n', { ...options, discardEmptyColumns: true }), 'a.b\nc.d\n');
  });

  test('rejects negative settings', () => {
    assert.throws(() => new TabWriter({ minwidth: -1, tabwidth: 0, padding: 0, padchar: ' ' }), RangeError);
  });
});

describe('display width', () => {
  test('stringWidth and charWidth', () => {
    assert.equal(stringWidth('abc'), 3);
    assert.equal(stringWidth('日本語'), 6);
    assert.equal(stringWidth('🐳x'), 3);
    assert.equal(stringWidth('a\u200bb'), 2);
    assert.equal(charWidth('日'), 2);
    assert.equal(charWidth('\u0301'), 1);
  });
});
