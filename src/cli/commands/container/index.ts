import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { attachCommand } from './attach.js';
import { commitCommand } from './commit.js';
import { cpCommand } from './cp.js';
import { createCommand } from './create.js';
import { diffCommand } from './diff.js';
import { eventsCommand } from './events.js';
import { execCommand } from './exec.js';
import { exportCommand } from './export.js';
import { inspectCommand } from './inspect.js';
import { killCommand } from './kill.js';
import { logsCommand } from './logs.js';
import { pauseCommand } from './pause.js';
import { portCommand } from './port.js';
import { pruneCommand } from './prune.js';
import { psCommand } from './ps.js';
import { renameCommand } from './rename.js';
import { restartCommand } from './restart.js';
import { rmCommand } from './rm.js';
import { runCommand } from './run.js';
import { startCommand } from './start.js';
import { statsCommand } from './stats.js';
import { stopCommand } from './stop.js';
import { topCommand } from './top.js';
import { unpauseCommand } from './unpause.js';
import { updateCommand } from './update.js';
import { waitCommand } from './wait.js';

/** Commands that exist both under `container` and at the top level. */
const shared = (ctx: CliContext): Command[] => [
  attachCommand(ctx),
  commitCommand(ctx),
  cpCommand(ctx),
  createCommand(ctx),
  diffCommand(ctx),
  execCommand(ctx),
  exportCommand(ctx),
  killCommand(ctx),
  logsCommand(ctx),
  pauseCommand(ctx),
  portCommand(ctx),
  renameCommand(ctx),
  restartCommand(ctx),
  runCommand(ctx),
  startCommand(ctx),
  statsCommand(ctx),
  stopCommand(ctx),
  topCommand(ctx),
  unpauseCommand(ctx),
  updateCommand(ctx),
  waitCommand(ctx),
];

/** `berth container …`: the container management commands. */
export function containerCommand(ctx: CliContext): Command {
  const group = new Command('container')
    .description('Manage containers')
    .usage('COMMAND')
    .enablePositionalOptions();
  for (const command of shared(ctx)) group.addCommand(command);
  group.addCommand(inspectCommand(ctx, 'container'));
  group.addCommand(psCommand(ctx, 'ls').aliases(['ps', 'list']));
  group.addCommand(pruneCommand(ctx));
  group.addCommand(rmCommand(ctx).alias('remove'));
  return group;
}

/** The top-level container shortcuts: run, ps, rm, start, stop, ..., plus inspect (any object) and events. */
export function containerShortcuts(ctx: CliContext): Command[] {
  return [...shared(ctx), psCommand(ctx), rmCommand(ctx), inspectCommand(ctx), eventsCommand(ctx)];
}
