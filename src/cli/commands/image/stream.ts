import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import type { CliContext } from '../../context.js';
import { displayJsonMessages, type JsonMessage } from '../../format/progress.js';

/** Whether the CLI's output is a terminal (progress bars are drawn only there). */
export function outputIsTerminal(ctx: CliContext): boolean {
  return Boolean((ctx.out as NodeJS.WriteStream).isTTY);
}

/**
 * Shows a JSON progress stream the way docker does (bars on a terminal,
 * status lines elsewhere, nothing when quiet); rejects on an error message.
 */
export async function showJsonStream(
  ctx: CliContext,
  body: Readable,
  options: { quiet?: boolean; onAux?: (message: JsonMessage) => void } = {},
): Promise<void> {
  const out = options.quiet ? new Writable({ write: (_chunk, _encoding, done) => done() }) : ctx.out;
  await displayJsonMessages(body, out as Writable, {
    isTty: !options.quiet && outputIsTerminal(ctx),
    onAux: options.onAux,
  });
}
