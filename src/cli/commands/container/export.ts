import { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError, type CliContext } from '../../context.js';

export function exportCommand(ctx: CliContext): Command {
  return new Command('export')
    .description("Export a container's filesystem as a tar archive")
    .usage('[OPTIONS] CONTAINER')
    .argument('<container>')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(async (container: string, flags: { output?: string }) => {
      if (!flags.output && (ctx.out as NodeJS.WriteStream).isTTY) {
        throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      }
      const res = await ctx.client().request('GET', `/containers/${encodeURIComponent(container)}/export`);
      const out: Writable = flags.output ? createWriteStream(flags.output) : ctx.out;
      if (flags.output) await pipeline(res.body, out);
      else {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
        }
      }
    });
}
