import { Command } from 'commander';
import { familiarName, parseNormalizedNamed, withDefaultTag } from '../../../registry/reference.js';
import { CliError, type CliContext } from '../../context.js';

export function tagCommand(ctx: CliContext): Command {
  return new Command('tag')
    .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .usage('SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]')
    .argument('<source>')
    .argument('<target>')
    .action(async (source: string, target: string) => {
      let ref;
      try {
        ref = parseNormalizedNamed(target);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      if (ref.digest !== undefined) throw new CliError('refusing to create a tag with a digest reference');
      ref = withDefaultTag(ref);
      await ctx
        .client()
        .request('POST', `/images/${source}/tag`, { query: { repo: familiarName(ref), tag: ref.tag } });
    });
}
