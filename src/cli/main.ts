import { Command, CommanderError } from 'commander';
import { errorMessage } from '../common/errors.js';
import { ConnectionError, DaemonError } from './client/api-client.js';
import type { GlobalOptions } from './client/connection.js';
import { registerCommands } from './commands/index.js';
import { CliContext, CliError, ExitStatus } from './context.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('berth')
    .description('A self-sufficient runtime for containers')
    .usage('[OPTIONS] COMMAND')
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
    .option('-v, --version', 'Print version information and quit')
    .enablePositionalOptions()
    .showSuggestionAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out.write(s),
      writeErr: (s) => ctx.err.write(s),
      outputError: () => undefined,
    });
  registerCommands(program, ctx);
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
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
      return 0;
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

async function main(): Promise<void> {
  const ctx: CliContext = new CliContext(() => program.opts() as GlobalOptions);
  const program = buildProgram(ctx);
  let status = 0;
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    status = reportError(err, ctx);
  } finally {
    ctx.close();
  }
  process.exitCode = status;
}

void main();
