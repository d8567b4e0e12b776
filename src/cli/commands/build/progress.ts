/**
 * `berth build --progress=plain|tty`: the daemon's per-stage live stream
 * (`/build?progress=stages`) shown as it happens. plain prefixes every line
 * with its stage, interleaved as the stages run; tty does the same and keeps
 * a footer with the step each running stage is on, redrawn in place.
 */
import type { Readable, Writable } from 'node:stream';
import { JsonMessageError, parseJsonStream, type JsonMessage } from '../../format/progress.js';

type StageMessage = JsonMessage & { stage?: string };

export interface StageProgressOptions {
  tty: boolean;
  onAux?: (message: JsonMessage) => void;
}

const ERASE_LINE = '\u001b[2K';
const up = (n: number): string => (n > 0 ? `\u001b[${n}A` : '');

export async function showStageProgress(
  body: Readable,
  out: Writable,
  options: StageProgressOptions,
): Promise<void> {
  const partial = new Map<string, string>();
  const current = new Map<string, string>();
  let footerLines = 0;
  const write = (text: string): void => void out.write(text);
  const clearFooter = (): void => {
    if (!options.tty || footerLines === 0) return;
    write(up(footerLines));
    for (let i = 0; i < footerLines; i++) write(`${ERASE_LINE}\n`);
    write(up(footerLines));
    footerLines = 0;
  };
  const drawFooter = (): void => {
    if (!options.tty) return;
    const lines = [...current].map(([stage, step]) => `=> [${stage}] ${step}`);
    for (const line of lines) write(`${ERASE_LINE}\u001b[36m${line}\u001b[0m\n`);
    footerLines = lines.length;
  };
  const emit = (stage: string | undefined, text: string): void => {
    const key = stage ?? '';
    const pending = (partial.get(key) ?? '') + text;
    const lines = pending.split('\n');
    partial.set(key, lines.pop() ?? '');
    if (lines.length === 0) return;
    clearFooter();
    for (const line of lines) {
      const step = /^Step \d+\/\d+ : (.*)$/.exec(line);
      if (stage && step) current.set(stage, line);
      write(stage ? `[${stage}] ${line}\n` : `${line}\n`);
    }
    drawFooter();
  };
  for await (const message of parseJsonStream(body as AsyncIterable<Buffer>) as AsyncIterable<StageMessage>) {
    if (message.aux !== undefined && message.aux !== null) {
      options.onAux?.(message);
      // A stage's aux ID marks its end.
      if (message.stage) {
        clearFooter();
        current.delete(message.stage);
        drawFooter();
      }
      continue;
    }
    if (message.errorDetail || message.error) {
      for (const [stage, rest] of partial) if (rest) emit(stage || undefined, '\n');
      clearFooter();
      throw new JsonMessageError(
        message.errorDetail?.message ?? message.error ?? '',
        message.errorDetail?.code,
      );
    }
    const detail = message.progressDetail;
    if (detail && ((detail.current ?? 0) > 0 || (detail.total ?? 0) > 0)) continue;
    if (message.stream) emit(message.stage, message.stream);
    else if (message.status) emit(message.stage, `${message.id ? `${message.id}: ` : ''}${message.status}\n`);
  }
  for (const [stage, rest] of partial) if (rest) emit(stage || undefined, '\n');
  clearFooter();
}
