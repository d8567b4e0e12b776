import { Command } from 'commander';
import type { ContainerInspect } from '../../../types/container.js';
import type { CliContext } from '../../context.js';
import { CliError } from '../../context.js';
import { copyOutput } from './stdio.js';

interface LogsFlags {
  details?: boolean;
  follow?: boolean;
  since?: string;
  until?: string;
  tail?: string;
  timestamps?: boolean;
}

/**
 * docker/cli's GetTimestamp: a Go duration before now ("10m", "1h30m"), a
 * Unix timestamp, or an RFC 3339 / date text, as Unix seconds with nanoseconds.
 */
export function apiTimestamp(value: string, now = Date.now()): string {
  const duration = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(value);
  if (duration) {
    const units: Record<string, number> = {
      ns: 1e-6,
      us: 1e-3,
      µs: 1e-3,
      ms: 1,
      s: 1000,
      m: 60_000,
      h: 3_600_000,
    };
    let ms = 0;
    for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
      ms += Number(amount) * units[unit];
    const at = now - ms;
    return `${Math.floor(at / 1000)}.${String(Math.round((at % 1000) * 1e6)).padStart(9, '0')}`;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const parsed = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(parsed))
    throw new CliError(`invalid value for "since": failed to parse value as time or duration: "${value}"`);
  return `${Math.floor(parsed / 1000)}.${String((parsed % 1000) * 1e6).padStart(9, '0')}`;
}

export function logsCommand(ctx: CliContext): Command {
  return new Command('logs')
    .description('Fetch the logs of a container')
    .usage('[OPTIONS] CONTAINER')
    .argument('<container>')
    .option('--details', 'Show extra details provided to logs')
    .option('-f, --follow', 'Follow log output')
    .option(
      '--since <string>',
      'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    )
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option(
      '--until <string>',
      'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    )
    .action(async (container: string, flags: LogsFlags) => {
      const api = ctx.client();
      const info = await api.json<ContainerInspect>(
        'GET',
        `/containers/${encodeURIComponent(container)}/json`,
      );
      const res = await api.request('GET', `/containers/${encodeURIComponent(container)}/logs`, {
        query: {
          stdout: true,
          stderr: true,
          follow: flags.follow ? 1 : undefined,
          since: flags.since ? apiTimestamp(flags.since) : undefined,
          until: flags.until ? apiTimestamp(flags.until) : undefined,
          timestamps: flags.timestamps ? 1 : undefined,
          tail: flags.tail,
          details: flags.details ? 1 : undefined,
        },
      });
      await copyOutput(res.body, { tty: info.Config.Tty === true, stdout: ctx.out, stderr: ctx.err });
    });
}
