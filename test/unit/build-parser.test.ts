import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DockerfileError } from '../../src/build/dockerfile/errors.js';
import { parseStages, type Instruction } from '../../src/build/dockerfile/instructions.js';
import { parseDockerfile } from '../../src/build/dockerfile/parser.js';

const lines = (...l: string[]): string => l.join('\n') + '\n';

function instructions(text: string): Instruction[] {
  return parseStages(text).stages.flatMap((s) => s.instructions);
}

function parseError(text: string): DockerfileError {
  try {
    parseStages(text);
  } catch (err) {
    assert.ok(err instanceof DockerfileError, `not a DockerfileError: ${String(err)}`);
    assert.equal(err.kind, 'InvalidParameter');
    return err;
  }
  assert.fail('expected a parse error');
}

describe('Dockerfile parser: lines', () => {
  test('joins continuation lines, dropping comments and empty lines inside them', () => {
    const parsed = parseDockerfile(
      lines(
        'FROM busybox',
        'RUN echo a \\',
        '  # comment inside',
        '',
        '  && echo b \\',
        '  && echo c',
        'CMD x',
      ),
    );
    const run = parsed.nodes[1];
    assert.deepEqual(run.args, ['echo a   && echo b   && echo c']);
    assert.equal(run.startLine, 2);
    assert.equal(run.endLine, 6);
    assert.equal(parsed.nodes[2].startLine, 7);
    assert.deepEqual(parsed.warnings, [
      'Empty continuation line found in: RUN echo a   && echo b   && echo c',
    ]);
  });

  test('an escaped escape at the end of a line ends the line', () => {
    // A continuation needs a non-escape character before the final escape.
    const parsed = parseDockerfile(lines('FROM a', 'RUN echo x\\\\', 'RUN y'));
    assert.equal(parsed.nodes.length, 3);
    assert.deepEqual(parsed.nodes[1].args, ['echo x\\\\']);
  });

  test('handles CRLF line endings, a BOM and trailing whitespace after the escape', () => {
    const parsed = parseDockerfile('\uFEFFFROM alpine\r\nRUN a \\  \r\n b\r\n');
    assert.deepEqual(
      parsed.nodes.map((n) => n.args),
      [['alpine'], ['a  b']],
    );
  });

  test('# syntax and # escape directives only at the top', () => {
    const parsed = parseDockerfile(
      lines('# syntax=docker/dockerfile:1.7', '# escape=`', 'FROM mcr/windows', 'RUN dir `', '  c:\\'),
    );
    assert.equal(parsed.escapeToken, '`');
    assert.deepEqual(
      parsed.directives.map((d) => [d.name, d.value, d.line]),
      [
        ['syntax', 'docker/dockerfile:1.7', 1],
        ['escape', '`', 2],
      ],
    );
    assert.deepEqual(parsed.nodes[1].args, ['dir   c:\\']);

    const late = parseDockerfile(lines('# a comment', '# escape=`', 'FROM x', 'RUN a `', 'RUN b'));
    assert.equal(late.escapeToken, '\\', 'a directive after another comment is just a comment');
    assert.equal(late.nodes.length, 3);

    const afterInstruction = parseDockerfile(lines('FROM x', '# escape=`'));
    assert.equal(afterInstruction.escapeToken, '\\');
  });

  test('directive errors', () => {
    assert.match(
      parseError(lines('# escape=x', 'FROM a')).message,
      /invalid escape token 'x' does not match ` or \\/,
    );
    assert.match(
      parseError(lines('# escape=`', '# escape=\\', 'FROM a')).message,
      /^dockerfile parse error on line 2: only one escape parser directive can be used$/,
    );
  });

  test('comments directly above an instruction are kept', () => {
    const parsed = parseDockerfile(lines('# first', '#', '# the base', 'FROM a AS b'));
    assert.deepEqual(parsed.nodes[0].comments, ['the base']);
  });

  test('instruction keywords are case-insensitive and keep their spelling', () => {
    const [stage] = parseStages(lines('from alpine as Build', 'run echo', 'Cmd ["a"]')).stages;
    assert.equal(stage.name, 'build');
    assert.equal(stage.keyword, 'from');
    assert.deepEqual(
      stage.instructions.map((i) => [i.kind, i.keyword]),
      [
        ['RUN', 'run'],
        ['CMD', 'Cmd'],
      ],
    );
  });

  test('an empty file or comments only is an error', () => {
    assert.equal(parseError('').message, 'file with no instructions');
    assert.equal(parseError(lines('# only', '   ', '# comments')).message, 'file with no instructions');
  });

  test('unknown instructions carry their line number and a suggestion', () => {
    assert.equal(
      parseError(lines('FROM a', 'RUN x', 'FOO bar')).message,
      'dockerfile parse error on line 3: unknown instruction: FOO (did you mean FROM?)',
    );
    assert.equal(
      parseError(lines('FROM a', 'RUNN x')).message,
      'dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)',
    );
    const err = parseError(lines('FROM a', 'XYZZYQ x'));
    assert.equal(err.line, 2);
    assert.equal(err.reason, 'unknown instruction: XYZZYQ');
  });

  test('an instruction before the first FROM (other than ARG) is an error', () => {
    assert.equal(
      parseError(lines('ARG A', 'RUN x', 'FROM a')).message,
      'dockerfile parse error on line 2: no build stage in current context',
    );
  });
});

describe('Dockerfile parser: heredocs', () => {
  test('RUN <<EOF keeps the body with newlines', () => {
    const [run] = instructions(lines('FROM a', 'RUN <<EOF', 'echo one', '  echo two', 'EOF', 'CMD x'));
    assert.equal(run.kind, 'RUN');
    if (run.kind !== 'RUN') return;
    assert.deepEqual(run.command, ['<<EOF']);
    assert.deepEqual(run.files, [
      { name: 'EOF', data: 'echo one\n  echo two\n', chomp: false, expand: true },
    ]);
    assert.equal(run.line, 2);
    assert.equal(run.endLine, 5);
  });

  test('<<- strips leading tabs for the terminator and marks the body for chomping', () => {
    const [run] = instructions(lines('FROM a', 'RUN <<-EOT', '\techo hi', '\tEOT'));
    assert.ok(run.kind === 'RUN');
    assert.deepEqual(run.files, [{ name: 'EOT', data: '\techo hi\n', chomp: true, expand: true }]);
  });

  test('quoted delimiters disable expansion', () => {
    for (const word of ['"EOF"', "'EOF'", 'E"O"F']) {
      const [run] = instructions(lines('FROM a', `RUN <<${word}`, 'echo $HOME', 'EOF'));
      assert.ok(run.kind === 'RUN');
      assert.equal(run.files[0].name, 'EOF');
      assert.equal(run.files[0].expand, false, word);
    }
  });

  test('several heredocs on one line, with file descriptors', () => {
    const [run] = instructions(
      lines('FROM a', 'RUN 3<<A cat /dev/fd/3 > /a && <<B cat > /b', 'alpha', 'A', 'beta', 'B', 'RUN next'),
    );
    assert.ok(run.kind === 'RUN');
    assert.deepEqual(
      run.files.map((f) => [f.name, f.data]),
      [
        ['A', 'alpha\n'],
        ['B', 'beta\n'],
      ],
    );
    assert.equal(
      parseDockerfile(lines('FROM a', 'RUN 3<<A cat', 'x', 'A')).nodes[1].heredocs[0].fileDescriptor,
      3,
    );
  });

  test('COPY <<EOF /dst makes inline sources; tabs chomped for <<-', () => {
    const [copy, copy2] = instructions(
      lines(
        'FROM a',
        'COPY <<EOF /etc/app.conf',
        'key=$VALUE',
        'EOF',
        'COPY <<-"X" <<Y /dir/',
        '\ta',
        '\tX',
        'b',
        'Y',
      ),
    );
    assert.ok(copy.kind === 'COPY' && copy2.kind === 'COPY');
    assert.deepEqual(copy.sources, []);
    assert.deepEqual(copy.contents, [{ path: 'EOF', data: 'key=$VALUE\n', expand: true }]);
    assert.equal(copy.dest, '/etc/app.conf');
    assert.deepEqual(copy2.contents, [
      { path: 'X', data: 'a\n', expand: false },
      { path: 'Y', data: 'b\n', expand: true },
    ]);
  });

  test('exec form and other instructions do not read heredocs', () => {
    const parsed = parseDockerfile(lines('FROM a', 'RUN ["sh", "-c", "cat <<EOF"]', 'ENV A=<<EOF', 'CMD x'));
    assert.equal(parsed.nodes.length, 4);
    assert.deepEqual(parsed.nodes[1].heredocs, []);
  });

  test('a heredoc without its terminator is an error', () => {
    assert.equal(
      parseError(lines('FROM a', 'RUN <<EOF', 'echo', 'EOX')).message,
      'dockerfile parse error on line 2: unterminated heredoc',
    );
  });

  test('a heredoc as COPY destination is refused', () => {
    assert.match(
      parseError(lines('FROM a', 'COPY a <<EOF', 'x', 'EOF')).message,
      /COPY cannot accept a heredoc as a destination/,
    );
  });

  test('ONBUILD RUN with a heredoc keeps the body in the trigger', () => {
    const [onbuild] = instructions(lines('FROM a', 'ONBUILD RUN <<EOF', 'echo hi', 'EOF'));
    assert.ok(onbuild.kind === 'ONBUILD');
    assert.equal(onbuild.expression, 'RUN <<EOF\necho hi\nEOF');
  });
});

describe('Dockerfile parser: flags and forms', () => {
  test('JSON exec form and shell form', () => {
    const [a, b, c] = instructions(
      lines('FROM x', 'CMD ["echo", "a b"]', 'CMD echo "a b"', 'ENTRYPOINT [ "x" ] '),
    );
    assert.ok(a.kind === 'CMD' && b.kind === 'CMD' && c.kind === 'ENTRYPOINT');
    assert.deepEqual([a.command, a.shell], [['echo', 'a b'], false]);
    assert.deepEqual([b.command, b.shell], [['echo "a b"'], true]);
    assert.deepEqual([c.command, c.shell], [['x'], false]);
  });

  test('malformed JSON falls back to the shell form; non-string arrays are errors', () => {
    const [cmd] = instructions(lines('FROM x', "CMD ['single', 'quotes']"));
    assert.ok(cmd.kind === 'CMD');
    assert.deepEqual([cmd.command, cmd.shell], [["['single', 'quotes']"], true]);
    assert.equal(
      parseError(lines('FROM x', 'CMD ["a", 1]')).message,
      'dockerfile parse error on line 2: when using JSON array syntax, arrays must be comprised of strings only',
    );
  });

  test('flags: quoted values, escapes, `--` ends flags, unknown and duplicate flags', () => {
    const [copy] = instructions(lines('FROM x', 'COPY --chown="1000:1000" --chmod=0755 --link a b /dst/'));
    assert.ok(copy.kind === 'COPY');
    assert.deepEqual(
      [copy.chown, copy.chmod, copy.link, copy.sources, copy.dest],
      ['1000:1000', '0755', true, ['a', 'b'], '/dst/'],
    );
    const [copy2] = instructions(lines('FROM x', 'COPY -- --weird-name /dst'));
    assert.ok(copy2.kind === 'COPY');
    assert.deepEqual(copy2.sources, ['--weird-name']);
    assert.equal(
      parseError(lines('FROM x', 'COPY --form=build a b')).message,
      'dockerfile parse error on line 2: unknown flag: --form (did you mean from?)',
    );
    assert.match(
      parseError(lines('FROM x', 'COPY --from=a --from=b a b')).message,
      /duplicate flag specified: --from/,
    );
    assert.match(parseError(lines('FROM x', 'COPY --from a b')).message, /missing a value on flag: --from/);
    assert.match(
      parseError(lines('FROM x', 'COPY --link=maybe a b')).message,
      /expecting boolean value for flag --link, not: maybe/,
    );
    assert.match(parseError(lines('FROM x', 'USER --foo=1 root')).message, /unknown flag: --foo/);
  });

  test('COPY and ADD need a destination', () => {
    assert.equal(
      parseError(lines('FROM x', 'COPY onlyone')).message,
      'dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined',
    );
    assert.match(parseError(lines('FROM x', 'ADD x')).message, /ADD requires at least two arguments/);
  });

  test('COPY/ADD JSON form and ADD options', () => {
    const [copy, add] = instructions(
      lines(
        'FROM x',
        'COPY ["my file", "/dst dir/"]',
        'ADD --checksum=sha256:abc --keep-git-dir=false --unpack https://e/x.tgz /x',
      ),
    );
    assert.ok(copy.kind === 'COPY' && add.kind === 'ADD');
    assert.deepEqual([copy.sources, copy.dest], [['my file'], '/dst dir/']);
    assert.deepEqual(
      [add.checksum, add.keepGitDir, add.unpack, add.link],
      ['sha256:abc', false, true, false],
    );
  });
});
