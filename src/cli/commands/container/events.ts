import { Command } from 'commander';
import type { EventMessage } from '../../../engine/events/types.js';
import type { CliContext } from '../../context.js';
import { CliError } from '../../context.js';
import { parseTemplate, TemplateError } from '../../format/template.js';
import { parseJsonStream } from '../../format/progress.js';
import { templateText } from '../../format/formatter.js';
import { filtersQuery } from './filters.js';
import { apiTimestamp } from './logs.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** RFC 3339 with nine fraction digits in the local zone, as docker events prints times. */
export function localNanoTime(timeNano: number | bigint): string {
  const nanos = BigInt(timeNano);
  const date = new Date(Number(nanos / 1_000_000n));
  const offsetMin = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMin * 60_000).toISOString().slice(0, 19);
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  if (offsetMin === 0) return `${local}.${fraction}Z`;
  const sign = offsetMin > 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  return `${local}.${fraction}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** docker events' default line: time type action id (k=v, ...) with attributes sorted. */
export function eventLine(event: EventMessage): string {
  const attributes = Object.entries(event.Actor?.Attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  const base = `${localNanoTime(event.timeNano)} ${event.Type} ${event.Action} ${event.Actor?.ID ?? ''}`;
  return attributes.length ? `${base} (${attributes.join(', ')})` : base;
}

export function eventsCommand(ctx: CliContext): Command {
  return new Command('events')
    .description('Get real time events from the server')
    .usage('[OPTIONS]')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format the output using the given Go template')
    .option('--since <string>', 'Show all events created since timestamp')
    .option('--until <string>', 'Stream events until this timestamp')
    .action(async (flags: { filter?: string[]; format?: string; since?: string; until?: string }) => {
      let template;
      if (flags.format) {
        try {
          template = parseTemplate(templateText(flags.format));
        } catch (err) {
          throw new CliError(
            err instanceof TemplateError ? `template parsing error: ${err.message}` : String(err),
          );
        }
      }
      const res = await ctx.client().request('GET', '/events', {
        query: {
          since: flags.since ? apiTimestamp(flags.since) : undefined,
          until: flags.until ? apiTimestamp(flags.until) : undefined,
          filters: filtersQuery(flags.filter),
        },
      });
      for await (const message of parseJsonStream(res.body)) {
        const event = message as unknown as EventMessage;
        ctx.write((template ? template.execute(event) : eventLine(event)) + '\n');
      }
    });
}
