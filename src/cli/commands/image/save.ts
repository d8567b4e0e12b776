import { createWriteStream, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { CliError, type CliContext } from '../../context.js';
import { outputIsTerminal } from './stream.js';

export function saveCommand(ctx: CliContext): Command {
  return new Command('save')
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<images...>')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(async (images: string[], options: { output?: string }) => {
      if (!options.output && outputIsTerminal(ctx)) {
        throw new CliError('Cowardly refusing to save to a terminal. Use the -o flag or redirect');
      }
      const params = new URLSearchParams();
      for (const image of images) params.append('names', image);
      const res = await ctx.client().request('GET', `/images/get?${params.toString()}`);
      if (!options.output) {
        await pipeline(res.body, ctx.out);
        return;
      }
      // Like docker: a temporary file next to the target, renamed when complete.
      const temp = path.join(path.dirname(options.output), `.docker_temp_${process.pid}`);
      try {
        await pipeline(res.body, createWriteStream(temp, { mode: 0o600 }));
        renameSync(temp, options.output);
      } catch (err) {
        rmSync(temp, { force: true });
        throw new CliError(`failed to save image: ${(err as Error).message}`);
      }
    });
}
