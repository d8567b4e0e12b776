import { Command } from 'commander';
import type { HistoryItem } from '../../../types/image.js';
import { CliError, type CliContext } from '../../context.js';
import { HEADERS, renderList } from '../../format/formatter.js';
import { TemplateError } from '../../format/template.js';
import { ellipsis, humanSizeWithPrecision, timeAgo, truncateId } from '../../format/units.js';

/** Go's time.Format(time.RFC3339) of a Unix time in the local zone. */
export function rfc3339Local(seconds: number): string {
  const date = new Date(seconds * 1000);
  const offset = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.trunc(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** One row of `docker history` (docker/cli's historyContext). */
export class HistoryContext {
  constructor(
    private readonly item: HistoryItem,
    private readonly trunc: boolean,
    private readonly human: boolean,
  ) {}
  ID(): string {
    return this.trunc ? truncateId(this.item.Id) : this.item.Id;
  }
  CreatedAt(): string {
    return rfc3339Local(this.item.Created);
  }
  CreatedSince(): string {
    return this.human ? timeAgo(this.item.Created * 1000) : this.CreatedAt();
  }
  CreatedBy(): string {
    const createdBy = this.item.CreatedBy.replace(/\t/g, ' ');
    return this.trunc ? ellipsis(createdBy, 45) : createdBy;
  }
  Size(): string {
    return this.human ? humanSizeWithPrecision(this.item.Size, 3) : String(this.item.Size);
  }
  Comment(): string {
    return this.item.Comment;
  }
}

const HISTORY_HEADERS = {
  ID: 'IMAGE',
  CreatedSince: HEADERS.CreatedSince,
  CreatedAt: HEADERS.CreatedAt,
  CreatedBy: 'CREATED BY',
  Size: HEADERS.Size,
  Comment: 'COMMENT',
};

const HUMAN_TABLE = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
const NON_HUMAN_TABLE = 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

/**
 * A Go bool flag value: -H=false, --human=0 ("=" stays on short options in
 * commander). Anything else was the image argument, taken by the optional value.
 */
function parseBool(value: string): boolean | string {
  const text = value.replace(/^=/, '').toLowerCase();
  if (['1', 't', 'true'].includes(text)) return true;
  if (['0', 'f', 'false'].includes(text)) return false;
  return value;
}

interface HistoryOptions {
  format?: string;
  human: boolean | string;
  trunc: boolean;
  quiet?: boolean;
}

export function historyCommand(ctx: CliContext): Command {
  return new Command('history')
    .description('Show the history of an image')
    .usage('[OPTIONS] IMAGE')
    .argument('[image]')
    .option('--format <string>', 'Format output using a custom template')
    .option('-H, --human [bool]', 'Print sizes and dates in human readable format', parseBool, true)
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(async (argument: string | undefined, options: HistoryOptions) => {
      let image = argument;
      if (typeof options.human === 'string') {
        image ??= options.human;
        options.human = true;
      }
      if (image === undefined) throw new CliError('"history" requires exactly 1 argument.');
      const items = await ctx.client().json<HistoryItem[]>('GET', `/images/${image}/history`);
      const rows = items.map((item) => new HistoryContext(item, options.trunc, options.human !== false));
      try {
        ctx.write(
          renderList(rows, options.format, {
            defaultTable: options.human === false ? NON_HUMAN_TABLE : HUMAN_TABLE,
            quiet: options.quiet,
            headers: HISTORY_HEADERS,
            typeName: '*formatter.historyContext',
          }),
        );
      } catch (err) {
        if (err instanceof TemplateError) throw new CliError(err.message);
        throw err;
      }
    });
}
