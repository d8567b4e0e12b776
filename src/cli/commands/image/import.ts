import { createReadStream, existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Command } from 'commander';
import { parseNormalizedNamed } from '../../../registry/reference.js';
import { CliError, type CliContext } from '../../context.js';
import { collect } from '../options.js';
import { showJsonStream } from './stream.js';

interface ImportOptions {
  change: string[];
  message?: string;
  platform?: string;
}

export function importCommand(ctx: CliContext): Command {
  return new Command('import')
    .description('Import the contents from a tarball to create a filesystem image')
    .usage('[OPTIONS] file|URL|- [REPOSITORY[:TAG]]')
    .argument('<source>')
    .argument('[repository]')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect, [])
    .option('-m, --message <string>', 'Set commit message for imported image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .action(async (source: string, repository: string | undefined, options: ImportOptions) => {
      if (repository) {
        try {
          parseNormalizedNamed(repository);
        } catch (err) {
          throw new CliError((err as Error).message);
        }
      }
      let body: Readable | undefined;
      let fromSrc = '-';
      if (source === '-') body = process.stdin;
      else if (/^https?:\/\//.test(source)) fromSrc = source;
      else {
        if (!existsSync(source)) throw new CliError(`open ${source}: no such file or directory`);
        body = createReadStream(source);
      }
      const query: Record<string, string | undefined> = {
        fromSrc,
        repo: repository ?? '',
        tag: '',
        message: options.message ?? '',
        platform: options.platform,
      };
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
      for (const change of options.change) params.append('changes', change);
      const res = await ctx.client().request('POST', `/images/create?${params.toString()}`, {
        stream: body,
        headers: body ? { 'Content-Type': 'application/x-tar' } : {},
      });
      await showJsonStream(ctx, res.body);
    });
}
