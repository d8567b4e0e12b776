import { Command } from 'commander';
import { DaemonError } from '../../client/api-client.js';
import { CliError, ExitStatus, type CliContext } from '../../context.js';
import { renderTemplate } from '../../output.js';

interface InspectFlags {
  format?: string;
  size?: boolean;
  type?: string;
}

const TYPES = ['container', 'image', 'network', 'volume'] as const;
type ObjectType = (typeof TYPES)[number];

function endpoint(
  type: ObjectType,
  name: string,
  size: boolean,
): { path: string; query?: Record<string, string | undefined> } {
  const encoded = encodeURIComponent(name);
  switch (type) {
    case 'container':
      return { path: `/containers/${encoded}/json`, query: { size: size ? '1' : undefined } };
    case 'image':
      return { path: `/images/${name}/json` };
    case 'network':
      return { path: `/networks/${encoded}` };
    case 'volume':
      return { path: `/volumes/${encoded}` };
  }
}

/** JSON as docker inspect prints it: four-space indentation. */
export function inspectJson(items: unknown[]): string {
  return items.length === 0 ? '[]\n' : JSON.stringify(items, null, 4) + '\n';
}

/**
 * Looks `name` up as each allowed type in docker's order; the first found
 * wins. NotFound for all gives "No such object" (or "No such <type>").
 */
async function findObject(
  ctx: CliContext,
  name: string,
  types: readonly ObjectType[],
  size: boolean,
): Promise<unknown> {
  for (const type of types) {
    const { path, query } = endpoint(type, name, size);
    try {
      return await ctx.client().json('GET', path, { query });
    } catch (err) {
      if (err instanceof DaemonError && err.status === 404) continue;
      throw err;
    }
  }
  throw new Error(types.length === 1 ? `No such ${types[0]}: ${name}` : `No such object: ${name}`);
}

export function inspectCommand(ctx: CliContext, fixedType?: ObjectType): Command {
  const command = new Command('inspect')
    .description(
      fixedType
        ? `Display detailed information on one or more ${fixedType}s`
        : 'Return low-level information on Docker objects',
    )
    .usage(
      `[OPTIONS] ${fixedType ? fixedType.toUpperCase() : 'NAME|ID'} [${fixedType ? fixedType.toUpperCase() : 'NAME|ID'}...]`,
    )
    .argument('<names...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes if the type is container');
  if (!fixedType) command.option('--type <string>', 'Only inspect objects of the given type');
  return command.action(async (names: string[], flags: InspectFlags) => {
    const type = fixedType ?? flags.type;
    if (type && !TYPES.includes(type as ObjectType))
      throw new CliError(`"${type}" is not a valid value for --type`);
    const types = type ? [type as ObjectType] : TYPES;
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const name of names) {
      try {
        found.push(await findObject(ctx, name, types, flags.size === true));
      } catch (err) {
        errors.push(
          err instanceof DaemonError ? `Error response from daemon: ${err.message}` : (err as Error).message,
        );
      }
    }
    if (flags.format) {
      for (const item of found) ctx.write(renderTemplate(flags.format, item) + '\n');
    } else {
      ctx.write(inspectJson(found));
    }
    if (errors.length) {
      for (const error of errors) ctx.err.write(`Error: ${error}\n`);
      throw new ExitStatus(1);
    }
  });
}
