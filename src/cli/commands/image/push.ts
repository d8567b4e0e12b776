import { Command, Option } from 'commander';
import {
  familiarName,
  parseNormalizedNamed,
  referenceString,
  withDefaultTag,
} from '../../../registry/reference.js';
import { CliError, type CliContext } from '../../context.js';
import { registryAuthHeader } from './auth.js';
import { showJsonStream } from './stream.js';

interface PushOptions {
  allTags?: boolean;
  quiet?: boolean;
}

export function pushCommand(ctx: CliContext): Command {
  return new Command('push')
    .description('Upload an image to a registry')
    .usage('[OPTIONS] NAME[:TAG]')
    .argument('<image>')
    .option('-a, --all-tags', 'Push all tags of an image to the repository')
    .option('-q, --quiet', 'Suppress verbose output')
    .addOption(new Option('--disable-content-trust', 'Skip image signing').default(true).hideHelp())
    .action(async (image: string, options: PushOptions) => {
      let ref;
      try {
        ref = parseNormalizedNamed(image);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const nameOnly = ref.tag === undefined && ref.digest === undefined;
      if (options.allTags && !nameOnly) throw new CliError("tag can't be used with --all-tags/-a");
      if (!options.allTags && nameOnly) {
        ref = withDefaultTag(ref);
        if (!options.quiet) ctx.write('Using default tag: latest\n');
      }
      const path = `/images/${familiarName(ref)}/push`;
      const res = await ctx.client().request('POST', path, {
        query: { tag: ref.tag ?? '' },
        headers: registryAuthHeader(ctx, image),
      });
      await showJsonStream(ctx, res.body, { quiet: options.quiet });
      if (options.quiet) ctx.write(`${referenceString(ref)}\n`);
    });
}
