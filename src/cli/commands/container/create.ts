import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { createContainer } from './common.js';
import {
  addCreateFlags,
  attachChoice,
  createRequest,
  pullPolicy,
  type CreateFlags,
} from './create-options.js';

export function createCommand(ctx: CliContext): Command {
  const command = new Command('create')
    .description('Create a new container')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions();
  addCreateFlags(command);
  return command.action(async (image: string, args: string[], flags: CreateFlags) => {
    const attach = flags.attach?.length
      ? attachChoice(flags, false)
      : { stdin: flags.interactive === true, stdout: true, stderr: true };
    const request = createRequest(flags, image, args, attach);
    const id = await createContainer(ctx, request, {
      name: flags.name,
      platform: flags.platform,
      pull: pullPolicy(flags.pull),
      quiet: flags.quiet,
      cidfile: flags.cidfile,
    });
    ctx.write(`${id}\n`);
  });
}
