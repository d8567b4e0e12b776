import { Command } from 'commander';
import type { ContainerConfig } from '../../../types/container.js';
import type { CliContext } from '../../context.js';
import { splitReference } from './common.js';

interface CommitFlags {
  author?: string;
  change?: string[];
  message?: string;
  pause?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function commitCommand(ctx: CliContext): Command {
  return new Command('commit')
    .description("Create a new image from a container's changes")
    .usage('[OPTIONS] CONTAINER [REPOSITORY[:TAG]]')
    .argument('<container>')
    .argument('[reference]')
    .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Commit message')
    .option('-p, --pause', 'Pause container during commit', true)
    .option('--no-pause', 'Do not pause the container during commit')
    .action(async (container: string, reference: string | undefined, flags: CommitFlags) => {
      let repo: string | undefined;
      let tag: string | undefined;
      if (reference) {
        const split = splitReference(reference);
        repo = split.fromImage;
        tag = reference.includes('@') || split.display !== reference ? undefined : split.tag;
      }
      const result = await ctx.client().json<{ Id: string }>('POST', '/commit', {
        query: {
          container,
          repo,
          tag,
          comment: flags.message,
          author: flags.author,
          pause: flags.pause === false ? 0 : undefined,
          changes: flags.change?.length ? flags.change.join('\n') : undefined,
        },
        body: {} as ContainerConfig,
      });
      ctx.write(`${result.Id}\n`);
    });
}
