/**
 * Detach keys: the key sequence that ends an attach (or an exec's attach)
 * while the process keeps running. Docker's syntax is a comma-separated list
 * of single characters and `ctrl-<c>` chords; the default is ctrl-p,ctrl-q.
 */
import { invalidParameter } from '../../common/errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CONTROL_CHARACTERS: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/** The byte sequence of a detach-keys text; InvalidParameter with Docker's message when it does not parse. */
export function parseDetachKeys(text: string | undefined): Buffer {
  const spec = text || DEFAULT_DETACH_KEYS;
  const bytes: number[] = [];
  for (const key of spec.split(',')) {
    const chord = /^ctrl-(.)$/.exec(key);
    if (key.length === 1) bytes.push(key.charCodeAt(0));
    else if (chord && /[a-z]/.test(chord[1])) bytes.push(chord[1].charCodeAt(0) - 0x60);
    else if (chord && chord[1] in CONTROL_CHARACTERS) bytes.push(CONTROL_CHARACTERS[chord[1]]);
    else throw invalidParameter(`Invalid detach keys (${spec}) provided`);
  }
  return Buffer.from(bytes);
}

/**
 * Watches input for the sequence, as Docker's escape proxy does: bytes that
 * could start the sequence are held back until it is complete (then they are
 * dropped and the client is detached) or broken (then they go through).
 */
export class DetachKeyScanner {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** What to pass on from `chunk`, and whether the sequence completed in it. */
  feed(chunk: Buffer): { data: Buffer; detached: boolean } {
    if (this.keys.length === 0) return { data: chunk, detached: false };
    const out: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === this.keys[this.matched]) {
        if (++this.matched === this.keys.length) return { data: Buffer.from(out), detached: true };
        continue;
      }
      if (this.matched > 0) {
        out.push(...this.keys.subarray(0, this.matched));
        this.matched = 0;
        if (byte === this.keys[0]) {
          this.matched = 1;
          if (this.keys.length === 1) return { data: Buffer.from(out), detached: true };
          continue;
        }
      }
      out.push(byte);
    }
    return { data: out.length === chunk.length ? chunk : Buffer.from(out), detached: false };
  }
}
