/**
 * Instruction flags (`--from=x`, `--link`, `--mount=...` repeated), checked the
 * way Docker checks them: unknown and duplicate flags are errors, booleans
 * accept `--x`, `--x=true|false`, strings need a value.
 */
import { DockerfileError } from './errors.js';
import { suggest } from './text.js';

type FlagKind = 'bool' | 'string' | 'strings';

export class InstructionFlags {
  private readonly kinds = new Map<string, FlagKind>();
  private readonly values = new Map<string, string>();
  private readonly lists = new Map<string, string[]>();
  private readonly seen = new Set<string>();

  constructor(private readonly raw: readonly string[]) {}

  bool(name: string): this {
    this.kinds.set(name, 'bool');
    return this;
  }

  string(name: string): this {
    this.kinds.set(name, 'string');
    return this;
  }

  strings(name: string): this {
    this.kinds.set(name, 'strings');
    return this;
  }

  /** Validates the raw flags against the declared ones. */
  parse(): this {
    for (const arg of this.raw) {
      if (arg === '--') return this;
      if (!arg.startsWith('--')) throw new DockerfileError(`arg should start with -- : ${arg}`);
      const eq = arg.indexOf('=');
      const flagName = eq < 0 ? arg : arg.slice(0, eq);
      const hasValue = eq >= 0;
      const value = hasValue ? arg.slice(eq + 1) : '';
      const name = flagName.slice(2);
      const kind = this.kinds.get(name);
      if (!kind) {
        const hint = suggest(name, [...this.kinds.keys()], true);
        throw new DockerfileError(`unknown flag: ${flagName}${hint ? ` (did you mean ${hint}?)` : ''}`);
      }
      if (this.seen.has(name) && kind !== 'strings') {
        throw new DockerfileError(`duplicate flag specified: ${flagName}`);
      }
      this.seen.add(name);
      if (kind === 'bool') {
        if (hasValue && value === '') throw new DockerfileError(`missing a value on flag: ${flagName}`);
        const lower = value.toLowerCase();
        if (lower !== '' && lower !== 'true' && lower !== 'false') {
          throw new DockerfileError(`expecting boolean value for flag ${flagName}, not: ${value}`);
        }
        this.values.set(name, lower === 'false' ? 'false' : 'true');
        continue;
      }
      if (!hasValue) throw new DockerfileError(`missing a value on flag: ${flagName}`);
      if (kind === 'string') this.values.set(name, value);
      else this.lists.set(name, [...(this.lists.get(name) ?? []), value]);
    }
    return this;
  }

  used(name: string): boolean {
    return this.seen.has(name);
  }

  /** Names of the flags given, in the order first seen. */
  usedNames(): string[] {
    return [...this.seen];
  }

  getString(name: string): string | undefined {
    return this.values.get(name);
  }

  getBool(name: string): boolean {
    return this.values.get(name) === 'true';
  }

  /** A boolean that is undefined when the flag was not given (ADD --unpack, --keep-git-dir). */
  getOptionalBool(name: string): boolean | undefined {
    return this.seen.has(name) ? this.getBool(name) : undefined;
  }

  getStrings(name: string): string[] {
    return this.lists.get(name) ?? [];
  }
}
