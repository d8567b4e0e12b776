import { Command, CommanderError } from 'commander';
import { errorMessage } from '../common/errors.js';
import { ConnectionError, DaemonError } from './client/api-client.js';
import { registerCommands } from './commands/index.js';
import { lazyHelp } from './commands/lazy.js';
import { collect } from './commands/options.js';
import { CliContext, CliError, ExitStatus } from './context.js';

/** The docker CLI's global options, which come before the command name. */
function addGlobalOptions(command: Command): Command {
  return command
    .option('--config <string>', 'Location of client config files')
    .option('-D, --debug', 'Enable debug mode')
    .option('-H, --host <list>', 'Daemon socket to connect to', collect)
    .option(
      '-l, --log-level <string>',
      'Set the logging level ("debug", "info", "warn", "error", "fatal")',
      'info',
    )
    .option('--tls', 'Use TLS; implied by --tlsverify')
    .option('--tlscacert <string>', 'Trust certs signed only by this CA')
    .option('--tlscert <string>', 'Path to TLS certificate file')
    .option('--tlskey <string>', 'Path to TLS key file')
    .option('--tlsverify', 'Use TLS and verify the remote')
    .option('-v, --version', 'Print version information and quit');
}

/**
 * The command-line words from the command name on: what follows the global
 * options, found by commander itself so that option values (`-H ps`) are
 * never taken for a command. Empty when there is no command or the global
 * options are wrong (the real parse then reports it).
 */
export function commandWords(args: readonly string[]): string[] {
  const scanner = addGlobalOptions(new Command())
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
  try {
    return scanner.parseOptions([...args]).operands;
  } catch {
    return [];
  }
}

/** The `berth` program for the command-line arguments `args` (without node and script). */
export async function buildProgram(ctx: CliContext, args: readonly string[]): Promise<Command> {
  const program = addGlobalOptions(new Command('berth'))
    .description('A self-sufficient runtime for containers')
    .usage('[OPTIONS] COMMAND')
    .enablePositionalOptions()
    .showSuggestionAfterError(false)
    .exitOverride()
    .configureHelp(lazyHelp)
    .configureOutput({
      writeOut: (s) => ctx.out.write(s),
      writeErr: (s) => ctx.err.write(s),
      outputError: () => undefined,
    });
  await registerCommands(program, ctx, commandWords(args));
  program.action(async () => {
    if (program.opts().version) {
      const { printShortVersion } = await import('./commands/system/version.js');
      printShortVersion(ctx);
      return;
    }
    program.outputHelp();
  });
  return program;
}

/** Maps an error to docker's one-line message and exit status. */
export function reportError(err: unknown, ctx: CliContext): number {
  if (err instanceof ExitStatus) return err.exitCode;
  if (err instanceof CommanderError) {
    // A group without a subcommand has shown its help on stderr; docker exits 0 there too.
    const helpShown = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code);
    if (helpShown || err.exitCode === 0) return 0;
    const message = err.message.replace(/^error: /, '');
    ctx.err.write(`${message}\n`);
    return 125;
  }
  if (err instanceof DaemonError) {
    ctx.err.write(`Error response from daemon: ${err.message}\n`);
    return 1;
  }
  if (err instanceof ConnectionError || err instanceof CliError) {
    ctx.err.write(`${err.message}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
  ctx.err.write(`${errorMessage(err)}\n`);
  return 1;
}
