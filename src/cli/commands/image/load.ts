import { createReadStream, existsSync } from 'node:fs';
import { Command } from 'commander';
import { CliError, type CliContext } from '../../context.js';
import { outputIsTerminal, showJsonStream } from './stream.js';

export function loadCommand(ctx: CliContext): Command {
  return new Command('load')
    .description('Load an image from a tar archive or STDIN')
    .usage('[OPTIONS]')
    .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
    .option('-q, --quiet', 'Suppress the load output')
    .action(async (options: { input?: string; quiet?: boolean }) => {
      let input: NodeJS.ReadableStream;
      if (options.input) {
        if (!existsSync(options.input))
          throw new CliError(`open ${options.input}: no such file or directory`);
        input = createReadStream(options.input);
      } else {
        if (process.stdin.isTTY) throw new CliError('requested load from stdin, but stdin is empty');
        input = process.stdin;
      }
      // Like docker: without a terminal, only the final lines are wanted.
      const quiet = options.quiet || !outputIsTerminal(ctx);
      const res = await ctx.client().request('POST', '/images/load', {
        query: { quiet: quiet ? '1' : '0' },
        stream: input as import('node:stream').Readable,
        headers: { 'Content-Type': 'application/x-tar' },
      });
      await showJsonStream(ctx, res.body);
    });
}
