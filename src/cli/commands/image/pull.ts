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

interface PullOptions {
  allTags?: boolean;
  platform?: string;
  quiet?: boolean;
}

/** docker's pull query: the familiar name, and the tag or digest unless all tags are wanted. */
export function pullQuery(image: string, all: boolean): { fromImage: string; tag?: string } {
  const ref = all ? parseNormalizedNamed(image) : withDefaultTag(parseNormalizedNamed(image));
  const name = familiarName(ref);
  if (all) return { fromImage: name };
  return { fromImage: name, tag: ref.digest ?? ref.tag };
}

export function pullCommand(ctx: CliContext): Command {
  return new Command('pull')
    .description('Download an image from a registry')
    .usage('[OPTIONS] NAME[:TAG|@DIGEST]')
    .argument('<image>')
    .option('-a, --all-tags', 'Download all tagged images in the repository')
    .option(
      '--platform <string>',
      'Set platform if server is multi-platform capable',
      process.env.DOCKER_DEFAULT_PLATFORM,
    )
    .option('-q, --quiet', 'Suppress verbose output')
    .addOption(new Option('--disable-content-trust', 'Skip image verification').default(true).hideHelp())
    .action(async (image: string, options: PullOptions) => {
      let ref;
      try {
        ref = parseNormalizedNamed(image);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      if (options.allTags && (ref.tag !== undefined || ref.digest !== undefined)) {
        throw new CliError("tag can't be used with --all-tags/-a");
      }
      if (!options.allTags && ref.tag === undefined && ref.digest === undefined && !options.quiet) {
        ctx.write('Using default tag: latest\n');
      }
      const query = {
        ...pullQuery(image, Boolean(options.allTags)),
        platform: options.platform?.toLowerCase(),
      };
      const res = await ctx
        .client()
        .request('POST', '/images/create', { query, headers: registryAuthHeader(ctx, image) });
      await showJsonStream(ctx, res.body, { quiet: options.quiet });
      const shown = options.allTags ? ref : withDefaultTag(ref);
      ctx.write(`${referenceString(shown)}\n`);
    });
}
