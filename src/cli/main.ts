/** The `berth` command: builds the program for this command line, runs it, exits with docker's status. */
import type { Command } from 'commander';
import type { GlobalOptions } from './client/connection.js';
import { CliContext } from './context.js';
import { buildProgram, reportError } from './program.js';

/** `berth ps | head` closes stdout early; like docker, stop quietly rather than crash on EPIPE. */
function exitOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

async function main(): Promise<void> {
  exitOnClosedStdout();
  let program: Command | undefined;
  const ctx = new CliContext(() => (program?.opts() ?? {}) as GlobalOptions);
  const args = process.argv.slice(2);
  let status = 0;
  try {
    program = await buildProgram(ctx, args);
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    status = reportError(err, ctx);
  } finally {
    ctx.close();
  }
  process.exitCode = status;
}

void main();
