/**
 * berth's lazy command tree: help listings are the same whether a command is
 * loaded or not, the command line loads exactly the command it names, and
 * start-up never imports other commands' modules, grpc or tar-stream.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import { CliContext } from '../../src/cli/context.js';
import { buildProgram, commandWords } from '../../src/cli/program.js';
import { BERTH } from '../helpers/daemon.js';

const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
const ctx = new CliContext(() => ({}), discard, discard);

/** A command's help listing: one "term  description" line per subcommand. */
function listing(command: Command): string[] {
  const help = command.createHelp();
  return help
    .visibleCommands(command)
    .map((sub) => `${help.subcommandTerm(sub)}  ${help.subcommandDescription(sub)}`);
}

function sub(command: Command, name: string): Command {
  const found = command.commands.find((c) => c.name() === name);
  assert.ok(found, `no ${name} under ${command.name()}`);
  return found;
}

/** Loaded commands have their options; stubs have none (every loaded command here takes some or has arguments). */
const isLoaded = (command: Command): boolean =>
  command.options.length > 0 || command.registeredArguments.length > 0 || command.commands.length > 0;

describe('help listings', () => {
  test('every top-level command is listed exactly as it is once loaded', async () => {
    const unloaded = await buildProgram(ctx, []);
    const stubs = listing(unloaded);
    for (const [index, command] of unloaded.commands.entries()) {
      assert.ok(!isLoaded(command), `${command.name()} was loaded without being named`);
      const loaded = await buildProgram(ctx, [command.name()]);
      const real = sub(loaded, command.name());
      assert.ok(isLoaded(real), `${command.name()} was not loaded`);
      assert.equal(listing(loaded)[index], stubs[index]);
      assert.deepEqual(real.aliases(), command.aliases(), command.name());
    }
  });

  test('every subcommand of every group is listed exactly as it is once loaded', async () => {
    for (const groupName of ['system', 'volume', 'network', 'image', 'container', 'builder']) {
      const group = sub(await buildProgram(ctx, [groupName]), groupName);
      const stubs = listing(group);
      assert.ok(group.commands.length > 0);
      for (const [index, command] of group.commands.entries()) {
        assert.ok(!isLoaded(command), `${groupName} ${command.name()} was loaded without being named`);
        const loadedGroup = sub(await buildProgram(ctx, [groupName, command.name()]), groupName);
        const real = sub(loadedGroup, command.name());
        assert.ok(isLoaded(real), `${groupName} ${command.name()} was not loaded`);
        assert.equal(listing(loadedGroup)[index], stubs[index]);
        assert.deepEqual(real.aliases(), command.aliases(), `${groupName} ${command.name()}`);
      }
    }
  });
});

describe('command selection', () => {
  test('the words after the global options name the command', () => {
    assert.deepEqual(commandWords(['-H', 'ps', 'version']), ['version']);
    assert.deepEqual(commandWords(['--host=unix:///x', '-D', 'ps', '-a']), ['ps', '-a']);
    assert.deepEqual(commandWords(['-Hunix:///x', 'run', '--rm', 'busybox']), ['run', '--rm', 'busybox']);
    assert.deepEqual(commandWords(['-l', 'debug', 'container', 'ls', '-q']), ['container', 'ls', '-q']);
    assert.deepEqual(commandWords(['run', '-l', 'a=b', 'busybox']), ['run', '-l', 'a=b', 'busybox']);
  });

  test('no command when the global options are wrong or ask for help', () => {
    assert.deepEqual(commandWords([]), []);
    assert.deepEqual(commandWords(['--bogus', 'ps']), []);
    assert.deepEqual(commandWords(['-H']), []);
    assert.deepEqual(commandWords(['--help', 'ps']), []);
  });

  test('only the named command is loaded, by name or alias, inside its group too', async () => {
    const program = await buildProgram(ctx, ['ps', '-a']);
    assert.ok(isLoaded(sub(program, 'ps')));
    assert.ok(!isLoaded(sub(program, 'run')));

    const container = sub(await buildProgram(ctx, ['container', 'list']), 'container');
    assert.ok(isLoaded(sub(container, 'ls')));
    assert.ok(!isLoaded(sub(container, 'rm')));

    const viaHelp = sub(await buildProgram(ctx, ['image', 'help', 'rm']), 'image');
    assert.ok(isLoaded(sub(viaHelp, 'rm')));
    assert.ok(!isLoaded(sub(viaHelp, 'ls')));
  });

  test('a loaded command parses its own flags', async () => {
    let seen: unknown;
    const program = await buildProgram(ctx, ['volume', 'ls', '-q', '--filter', 'dangling=true']);
    sub(sub(program, 'volume'), 'ls').action((flags: unknown) => {
      seen = flags;
    });
    await program.parseAsync(['volume', 'ls', '-q', '--filter', 'dangling=true'], { from: 'user' });
    assert.deepEqual(seen, { quiet: true, filter: ['dangling=true'] });
  });
});

/** Prints every module URL the process loads, one per line, on stderr. */
const TRACE_LOADER =
  'data:text/javascript,' +
  encodeURIComponent(
    "export async function load(url, context, next) { process.stderr.write('MODULE ' + url + '\\n'); return next(url, context); }",
  );

function berthModules(args: string[]): { modules: string[]; status: number | null; stderr: string } {
  const result = spawnSync(
    process.execPath,
    ['--no-warnings', '--experimental-loader', TRACE_LOADER, BERTH, ...args],
    { encoding: 'utf8' },
  );
  const lines = result.stderr.split('\n');
  return {
    modules: lines.filter((l) => l.startsWith('MODULE ')).map((l) => l.slice('MODULE '.length)),
    stderr: lines.filter((l) => !l.startsWith('MODULE ')).join('\n'),
    status: result.status,
  };
}

/** What no start-up should pay for: the daemon's gRPC stack, tar streams, server code. */
const HEAVY = /@grpc|protobufjs|tar-stream|\/dist\/src\/(daemon|api\/router)\//;
const commandModules = (modules: string[]): string[] =>
  modules
    .filter((m) => m.includes('/dist/src/cli/commands/'))
    .map((m) => m.replace(/.*\/dist\/src\/cli\/commands\//, ''))
    .filter((m) => !/(^|\/)index\.js$|^lazy\.js$|^options\.js$/.test(m));

describe('start-up', () => {
  test('--help loads no command implementation', () => {
    const { modules, status } = berthModules(['--help']);
    assert.equal(status, 0);
    assert.deepEqual(commandModules(modules), []);
    assert.deepEqual(
      modules.filter((m) => HEAVY.test(m)),
      [],
    );
  });

  test('ps loads ps and no other command, and nothing of grpc, tar-stream or the engine', () => {
    const { modules, status, stderr } = berthModules(['-H', 'unix:///nonexistent.sock', 'ps']);
    assert.equal(status, 1);
    assert.match(stderr, /Cannot connect to the berth daemon at unix:\/\/\/nonexistent\.sock/);
    assert.deepEqual(
      commandModules(modules).filter((m) => !m.startsWith('container/')),
      [],
    );
    assert.ok(commandModules(modules).includes('container/ps.js'));
    assert.ok(!commandModules(modules).includes('container/run.js'));
    assert.deepEqual(
      modules.filter((m) => HEAVY.test(m) || m.includes('/dist/src/engine/')),
      [],
    );
  });

  test('run --rm loads neither grpc nor tar-stream', () => {
    const { modules, status } = berthModules(['-H', 'unix:///nonexistent.sock', 'run', '--rm', 'busybox']);
    assert.equal(status, 125);
    assert.ok(commandModules(modules).includes('container/run.js'));
    assert.deepEqual(
      modules.filter((m) => HEAVY.test(m)),
      [],
    );
  });

  test('a group without a subcommand shows its help on stderr and exits 0, as docker does', () => {
    const result = spawnSync(process.execPath, [BERTH, 'network'], { encoding: 'utf8' });
    assert.equal(result.status, 0);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^Usage: berth network COMMAND/);
    assert.match(result.stderr, /ls\|list \[options\] +List networks/);
  });

  test('a reader that closes stdout early ends the CLI quietly', async () => {
    const child = spawn(process.execPath, [BERTH, '-H', 'unix:///nonexistent.sock', 'version'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
    assert.ok(status === 0 || status === 1, `status ${status}`);
  });
});
