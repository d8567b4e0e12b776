/**
 * Lazy command registration: the CLI knows every command's name, aliases,
 * arguments and description up front (enough for help listings and for
 * finding which command the command line names), but imports a command's
 * module only when that command runs or shows its own help. Start-up cost
 * is module loading, so `berth ps` loads ps and nothing of run, cp or build.
 */
import { Command, Help, type HelpConfiguration } from 'commander';
import type { CliContext } from '../context.js';

/** A command whose implementation lives in a module loaded on demand. */
export interface CommandEntry {
  name: string;
  aliases?: readonly string[];
  /** The arguments part of its line in the parent's help listing, e.g. "[options] <image>". */
  args: string;
  description: string;
  /** Builds the real command, importing its module. */
  load: (ctx: CliContext) => Promise<Command>;
}

/** A management command (`container`, `image`, ...): a group of subcommands. */
export interface GroupEntry {
  name: string;
  description: string;
  subcommands: readonly CommandEntry[];
}

export type Entry = CommandEntry | GroupEntry;

/** Stands in a help listing for a command that was not loaded; the command line never reaches it. */
class CommandStub extends Command {
  readonly term: string;

  constructor(entry: Entry) {
    super(entry.name);
    const aliases = 'aliases' in entry ? (entry.aliases ?? []) : [];
    const args = 'args' in entry ? entry.args : '';
    this.term = [entry.name, ...aliases.slice(0, 1)].join('|') + (args ? ` ${args}` : '');
    this.description(entry.description)
      .aliases(aliases)
      .action(() => {
        throw new Error(`berth: the ${entry.name} command was not loaded`);
      });
  }
}

/** Help that lists a stub with the same term its real command would have. */
export const lazyHelp: HelpConfiguration = {
  subcommandTerm(this: Help, cmd: Command): string {
    return cmd instanceof CommandStub ? cmd.term : Help.prototype.subcommandTerm.call(this, cmd);
  },
};

/**
 * Adds `entries` to `parent`: the one the command-line words `words` name
 * (the words after the parent's own name) as the real command, a group
 * with its subcommands chosen the same way, every other as a stub.
 */
export async function addCommands(
  parent: Command,
  entries: readonly Entry[],
  words: readonly string[],
  ctx: CliContext,
): Promise<void> {
  // `<group> help <command>` shows that command's help, so it must be the real one.
  const nameAt = words[0] === 'help' ? 1 : 0;
  const selected = findEntry(entries, words[nameAt]);
  for (const entry of entries) {
    const command =
      entry === selected
        ? await loadEntry(entry, words.slice(nameAt + 1), ctx, parent)
        : new CommandStub(entry);
    parent.addCommand(command.copyInheritedSettings(parent));
  }
}

function findEntry(entries: readonly Entry[], word: string | undefined): Entry | undefined {
  if (word === undefined) return undefined;
  return entries.find((e) => e.name === word || ('aliases' in e && e.aliases?.includes(word)));
}

async function loadEntry(
  entry: Entry,
  rest: readonly string[],
  ctx: CliContext,
  parent: Command,
): Promise<Command> {
  if (!('subcommands' in entry)) return entry.load(ctx);
  // Subcommands copy the group's settings, so it takes its parent's first.
  const group = new Command(entry.name)
    .description(entry.description)
    .usage('COMMAND')
    .copyInheritedSettings(parent);
  await addCommands(group, entry.subcommands, rest, ctx);
  return group;
}
