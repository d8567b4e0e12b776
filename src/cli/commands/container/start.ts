import { Command } from 'commander';
import type { ContainerInspect } from '../../../types/container.js';
import { CliError, ExitStatus, type CliContext } from '../../context.js';
import { forEachContainer } from './common.js';
import { attachAndStart } from './run.js';

interface StartFlags {
  attach?: boolean;
  interactive?: boolean;
  detachKeys?: string;
}

export function startCommand(ctx: CliContext): Command {
  return new Command('start')
    .description('Start one or more stopped containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('-i, --interactive', "Attach container's STDIN")
    .action(async (names: string[], flags: StartFlags) => {
      const api = ctx.client();
      if (flags.attach || flags.interactive) {
        if (names.length > 1) throw new CliError('you cannot start and attach multiple containers at once');
        const info = await api.json<ContainerInspect>(
          'GET',
          `/containers/${encodeURIComponent(names[0])}/json`,
        );
        const stdin = flags.interactive === true && info.Config.OpenStdin === true;
        const status = await attachAndStart(ctx, info.Id, {
          attach: { stdin, stdout: true, stderr: true },
          tty: info.Config.Tty === true,
          waitCondition: 'next-exit',
          sigProxy: true,
          detachKeys: flags.detachKeys,
        });
        if (status !== 0) throw new ExitStatus(status);
        return;
      }
      await forEachContainer(ctx, names, async (name) => {
        (await api.request('POST', `/containers/${encodeURIComponent(name)}/start`)).body.resume();
      });
    });
}
