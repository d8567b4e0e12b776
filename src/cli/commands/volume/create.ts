import { Command, Option } from 'commander';
import type { CliContext } from '../../context.js';
import { CliError } from '../../context.js';
import type { Volume } from '../../../types/volume.js';
import { collect, keyValueMap } from '../options.js';

interface CreateOptions {
  driver: string;
  label: string[];
  opt: string[];
  name?: string;
}

export function volumeCreateCommand(ctx: CliContext): Command {
  return new Command('create')
    .description('Create a volume')
    .usage('[OPTIONS] [VOLUME]')
    .argument('[VOLUME]')
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--label <list>', 'Set metadata for a volume', collect, [])
    .option('-o, --opt <map>', 'Set driver specific options', collect, [])
    .addOption(new Option('--name <string>', 'Specify volume name').hideHelp())
    .action(async (positional: string | undefined, options: CreateOptions) => {
      if (positional !== undefined && options.name) {
        throw new CliError(
          'conflicting options: cannot specify a volume-name through both --name and as a positional arg',
        );
      }
      for (const label of options.label) {
        if (label.split('=')[0].trim() === '') throw new CliError(`invalid label '${label}': empty name`);
      }
      const body = {
        Name: positional ?? options.name ?? '',
        Driver: options.driver,
        DriverOpts: options.opt.length > 0 ? keyValueMap(options.opt) : undefined,
        Labels: options.label.length > 0 ? keyValueMap(options.label) : undefined,
      };
      const volume = await ctx.client().json<Volume>('POST', '/volumes/create', { body });
      ctx.write(`${volume.Name}\n`);
    });
}
