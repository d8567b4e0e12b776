import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import type { NetworkDisconnectRequest } from '../../../types/network.js';

export function networkDisconnectCommand(ctx: CliContext): Command {
  return new Command('disconnect')
    .description('Disconnect a container from a network')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<NETWORK>')
    .argument('<CONTAINER>')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action(async (network: string, container: string, flags: { force?: boolean }) => {
      const body: NetworkDisconnectRequest = { Container: container, Force: Boolean(flags.force) };
      await ctx.client().request('POST', `/networks/${encodeURIComponent(network)}/disconnect`, { body });
    });
}
