import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContextDigester } from '../../src/build/context/digest.js';
import {
  ContextFilter,
  dockerignoreCandidates,
  loadDockerignore,
  parseDockerignore,
  PatternMatcher,
  walkContext,
} from '../../src/build/context/dockerignore.js';
import { cleanPath, containsWildcards, globMatch, validateGlob } from '../../src/build/context/glob.js';

const tmpDirs: string[] = [];
function tmp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-build-ctx-'));
  tmpDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

/** Creates files from a map of relative path -> content (a trailing `/` makes a directory). */
function populate(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    if (rel.endsWith('/')) mkdirSync(abs, { recursive: true });
    else {
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, content);
    }
  }
}

describe('Go glob matching (filepath.Match)', () => {
  test('stars, question marks, classes, escapes', () => {
    const cases: [string, string, boolean][] = [
      ['*.go', 'main.go', true],
      ['*.go', 'dir/main.go', false],
      ['*', '.hidden', true],
      ['a?c', 'abc', true],
      ['a?c', 'a/c', false],
      ['[a-c]x', 'bx', true],
      ['[^a-c]x', 'bx', false],
      ['[^a-c]x', 'dx', true],
      ['\\*', '*', true],
      ['\\*', 'a', false],
      ['[\\]]', ']', true],
      ['file[0-9].txt', 'file7.txt', true],
      ['dir/*/x', 'dir/a/x', true],
    ];
    for (const [pattern, name, expected] of cases)
      assert.equal(globMatch(pattern, name), expected, `${pattern} ~ ${name}`);
  });

  test('malformed patterns are Docker\'s "syntax error in pattern"', () => {
    for (const bad of ['[', '[a-', '[]a]', '[-a]', 'a\\', '[a-]'])
      assert.throws(() => validateGlob(bad), /syntax error in pattern/, bad);
    validateGlob('[a-z]*.?');
  });

  test('wildcard detection honours escapes; paths clean like Go', () => {
    assert.equal(containsWildcards('src/*.ts'), true);
    assert.equal(containsWildcards('literal\\*name'), false);
    assert.equal(containsWildcards('a[1]'), true);
    assert.equal(cleanPath('a//b/./c/..'), 'a/b');
    assert.equal(cleanPath('/../x'), '/x');
    assert.equal(cleanPath('../x'), '../x');
    assert.equal(cleanPath(''), '.');
  });
});

describe('.dockerignore', () => {
  test('reading: comments, blank lines, cleaning, leading slash, exclusions', () => {
    assert.deepEqual(
      parseDockerignore(
        '\uFEFF# comment\n\n  *.log  \n/build/\n!/build/keep\n ./a/../b\n  # not a comment\r\n',
      ),
      ['*.log', 'build', '!build/keep', 'b', '# not a comment'],
    );
  });

  test('matching follows moby/patternmatcher', () => {
    const cases: [string[], string, boolean][] = [
      [['*.md'], 'README.md', true],
      [['*.md'], 'docs/README.md', false],
      [['**/*.md'], 'docs/deep/README.md', true],
      [['**/*.md'], 'README.md', true],
      [['*.md', '!README.md'], 'README.md', false],
      [['*.md', '!README.md'], 'CHANGES.md', true],
      [['node_modules'], 'node_modules/x/y.js', true],
      [['**/node_modules'], 'pkg/node_modules/x.js', true],
      [['a/**/b'], 'a/x/y/b', true],
      [['a/**/b'], 'a/b', true],
      [['a/**/b'], 'a/x/y/b/c', true],
      [['foo/**'], 'foo/bar', true],
      [['foo/**'], 'foo', false],
      [['Dockerfile'], 'dockerfile', false],
      [['*', '!src'], 'src/main.go', false],
      [['*', '!src', 'src/*.tmp'], 'src/x.tmp', true],
      [['temp?'], 'temp1', true],
      [['temp?'], 'temp10', false],
      [['**'], 'anything/at/all', true],
      [['.git'], '.gitignore', false],
    ];
    for (const [patterns, file, expected] of cases) {
      assert.equal(
        new PatternMatcher(patterns).matches(file),
        expected,
        `${JSON.stringify(patterns)} ${file}`,
      );
    }
    assert.throws(() => new PatternMatcher(['!']), /illegal exclusion pattern: "!"/);
    assert.throws(() => new PatternMatcher(['[']), /syntax error in pattern/);
  });

  test('the context walk does not enter an excluded directory unless a ! pattern starts with it', () => {
    const reinclude = ContextFilter.fromPatterns(['docs', '!docs/keep.md']);
    assert.equal(reinclude.includes('docs/keep.md'), true);
    assert.equal(reinclude.includes('docs/other.md'), false);
    assert.equal(reinclude.includes('docs'), false);
    // Docker skips "docs" entirely here: `!**/keep.md` does not start with "docs/".
    const wildcard = ContextFilter.fromPatterns(['docs', '!**/keep.md']);
    assert.equal(wildcard.includes('docs/keep.md'), false);
    assert.equal(wildcard.includes('keep.md'), true);
    assert.equal(ContextFilter.fromPatterns([]).includes('anything'), true);
  });

  test('walkContext lists what Docker would send', async () => {
    const root = tmp();
    populate(root, {
      Dockerfile: 'FROM x',
      'src/main.go': 'package main',
      'src/main_test.go': 'package main',
      'node_modules/left-pad/index.js': '',
      'docs/keep.md': '',
      'docs/drop.md': '',
      '.git/HEAD': '',
    });
    const filter = ContextFilter.fromPatterns([
      '.git',
      'node_modules',
      '**/*_test.go',
      'docs',
      '!docs/keep.md',
    ]);
    const listed = (await walkContext(root, filter)).map((e) => e.path);
    assert.deepEqual(listed, ['Dockerfile', 'docs/keep.md', 'src', 'src/main.go']);
  });

  test('the Dockerfile-specific ignore file wins over .dockerignore', async () => {
    const root = tmp();
    populate(root, {
      '.dockerignore': 'general\n',
      'build/app.Dockerfile': 'FROM x',
      'build/app.Dockerfile.dockerignore': 'specific\n',
    });
    assert.deepEqual(dockerignoreCandidates('build/app.Dockerfile'), [
      'build/app.Dockerfile.dockerignore',
      '.dockerignore',
    ]);
    const specific = await loadDockerignore(root, 'build/app.Dockerfile');
    assert.deepEqual(specific.patterns, ['specific']);
    assert.equal(specific.file, path.join(root, 'build/app.Dockerfile.dockerignore'));
    const general = await loadDockerignore(root, 'Dockerfile');
    assert.deepEqual(general.patterns, ['general']);
    const none = await loadDockerignore(tmp());
    assert.deepEqual([none.file, none.patterns, none.filter.includes('x')], [undefined, [], true]);
  });

  test('a .dockerignore symlink cannot read a host file', async () => {
    const root = tmp();
    const outside = path.join(tmp(), 'secret');
    writeFileSync(outside, 'secret-pattern\n');
    symlinkSync(outside, path.join(root, '.dockerignore'));
    const loaded = await loadDockerignore(root);
    assert.deepEqual(loaded.patterns, []);
  });
});

describe('context digests for COPY/ADD sources', () => {
  let root: string;
  let outside: string;

  before(() => {
    root = tmp();
    outside = tmp();
    writeFileSync(path.join(outside, 'host-secret'), 'do not read');
    populate(root, {
      'go.mod': 'module x\n',
      'go.sum': 'sum\n',
      'main.go': 'package main\n',
      'cmd/server/main.go': 'package main // server\n',
      'cmd/cli/main.go': 'package main // cli\n',
      'static/': '',
      'static/a.css': 'a{}',
      'static/sub/b.css': 'b{}',
      'README.md': '# readme\n',
      'notes.txt': 'notes',
    });
    symlinkSync('static/a.css', path.join(root, 'link.css'));
    symlinkSync('/etc/passwd', path.join(root, 'abs-link'));
    symlinkSync('../../../../../../' + path.join(outside, 'host-secret'), path.join(root, 'escape-link'));
  });

  test('literal sources, directories and wildcards resolve like Docker', async () => {
    const digester = new ContextDigester(root);
    assert.deepEqual(
      (await digester.resolve('go.*')).map((m) => m.path),
      ['go.mod', 'go.sum'],
    );
    assert.deepEqual(
      (await digester.resolve('cmd/*/main.go')).map((m) => m.path),
      ['cmd/cli/main.go', 'cmd/server/main.go'],
    );
    assert.deepEqual(await digester.resolve('/static/'), [
      { source: '/static/', path: 'static', type: 'dir' },
    ]);
    assert.deepEqual(await digester.resolve('.'), [{ source: '.', path: '', type: 'dir' }]);
    assert.deepEqual(await digester.resolve('link.css'), [
      { source: 'link.css', path: 'static/a.css', type: 'file' },
    ]);
    assert.deepEqual(await digester.resolve('link.css', false), [
      { source: 'link.css', path: 'link.css', type: 'symlink' },
    ]);
  });

  test("missing sources fail with Docker's messages", async () => {
    const digester = new ContextDigester(root);
    await assert.rejects(
      digester.resolve('nope.txt'),
      /file not found in build context or excluded by .dockerignore: stat nope.txt: file does not exist/,
    );
    await assert.rejects(digester.resolve('*.rs'), /no source files were specified/);
  });

  test('symlinks and .. cannot reach outside the context', async () => {
    const digester = new ContextDigester(root);
    await assert.rejects(
      digester.resolve('abs-link'),
      /file not found/,
      'an absolute link resolves inside the context',
    );
    await assert.rejects(digester.resolve('escape-link'), /file not found/);
    assert.deepEqual(
      (await digester.resolve('../../../../go.mod')).map((m) => m.path),
      ['go.mod'],
    );
  });

  test('the digest is stable, ignores mtimes, and changes with content, mode, owner and names', async () => {
    const sources = ['go.mod', 'static', 'cmd/*/main.go'];
    const first = await new ContextDigester(root).digest(sources);
    assert.match(first.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(first.perSource.length, 3);
    assert.equal(
      (await new ContextDigester(root).digest(sources)).digest,
      first.digest,
      'stable across digesters',
    );

    utimesSync(path.join(root, 'static/a.css'), new Date(1000), new Date(1000));
    assert.equal(
      (await new ContextDigester(root).digest(sources)).digest,
      first.digest,
      'mtime is not part of the key',
    );

    const changed = async (mutate: () => void, undo: () => void, what: string): Promise<void> => {
      mutate();
      const after = await new ContextDigester(root).digest(sources);
      assert.notEqual(after.digest, first.digest, what);
      assert.equal(after.perSource[0], first.perSource[0], `${what}: go.mod's key is untouched`);
      undo();
      assert.equal((await new ContextDigester(root).digest(sources)).digest, first.digest, `${what}: undone`);
    };
    const css = path.join(root, 'static/sub/b.css');
    await changed(
      () => writeFileSync(css, 'B{}'),
      () => writeFileSync(css, 'b{}'),
      'content',
    );
    await changed(
      () => chmodSync(css, 0o600),
      () => chmodSync(css, 0o644),
      'mode',
    );
    await changed(
      () => chownSync(css, 1234, 1234),
      () => chownSync(css, 0, 0),
      'owner',
    );
    await changed(
      () => writeFileSync(path.join(root, 'static/new.css'), ''),
      () => rmSync(path.join(root, 'static/new.css')),
      'a new file in a copied directory',
    );
    const unrelated = await new ContextDigester(root).digest(['go.mod']);
    writeFileSync(path.join(root, 'notes.txt'), 'changed');
    assert.equal(
      (await new ContextDigester(root).digest(['go.mod'])).digest,
      unrelated.digest,
      'unrelated files do not matter',
    );
  });

  test('.dockerignore and COPY --exclude leave files out of the key', async () => {
    const all = await new ContextDigester(root).digest(['static']);
    const filtered = new ContextDigester(root, { filter: ContextFilter.fromPatterns(['static/sub']) });
    const withoutSub = await filtered.digest(['static']);
    assert.notEqual(withoutSub.digest, all.digest);
    await assert.rejects(filtered.resolve('static/sub/b.css'), /file not found/);
    const excluded = await new ContextDigester(root).digest(['static'], { excludes: ['sub'] });
    assert.equal(excluded.perSource[0].length, 71);
    assert.notEqual(excluded.digest, all.digest);
    const noMd = await new ContextDigester(root).digest(['*.md', '*.txt'], { excludes: ['*.txt'] });
    assert.deepEqual(
      noMd.matches.map((m) => m.path),
      ['README.md'],
    );
  });

  test('file hashes are reused within one digester', async () => {
    const digester = new ContextDigester(root, { concurrency: 2 });
    const [a, b] = await Promise.all([digester.digest(['.']), digester.digest(['.'])]);
    assert.equal(a.digest, b.digest);
  });
});
