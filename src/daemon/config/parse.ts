import { readFileSync } from 'node:fs';
import { invalidParameter } from '../../common/errors.js';
import {
  DEFAULT_CONFIG_FILE,
  OPTIONS,
  defaultConfig,
  type AddressPool,
  type ConfigKey,
  type DaemonConfig,
  type OptionDescriptor,
  type RuntimeConfig,
} from './options.js';
import { validateConfig } from './validate.js';

export type PartialConfig = Partial<Record<ConfigKey, unknown>>;

export interface CommandLine {
  flags: PartialConfig;
  configFile: string;
  /** True when --config-file was given: then a missing file is an error. */
  configFileExplicit: boolean;
  help: boolean;
  version: boolean;
  validate: boolean;
}

const byFlag = new Map<string, OptionDescriptor>();
for (const option of OPTIONS) {
  byFlag.set(option.flag ?? option.key, option);
  if (option.short) byFlag.set(option.short, option);
}

/** Parses berthd's command line with dockerd's flag names and pflag-like syntax. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const result: CommandLine = {
    flags: {},
    configFile: DEFAULT_CONFIG_FILE,
    configFileExplicit: false,
    help: false,
    version: false,
    validate: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-' || arg === '--') {
      throw invalidParameter(`berthd does not take positional arguments (got "${arg}")`);
    }
    const long = arg.startsWith('--');
    const body = arg.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (!long && name.length > 1 && inline === undefined && byFlag.get(name[0])?.short === name[0]) {
      // pflag's -Hvalue form: a short flag glued to its value.
      applyValueFlag(result.flags, byFlag.get(name[0])!, name.slice(1), arg);
      continue;
    }
    const meta = metaFlag(result, name, inline, argv, i);
    if (meta !== undefined) {
      i = meta;
      continue;
    }
    const option = byFlag.get(name);
    if (!option || (!long && option.short !== name) || (long && name.length === 1)) {
      throw invalidParameter(
        long ? `unknown flag: --${name}` : `unknown shorthand flag: '${name}' in ${arg}`,
      );
    }
    let value = inline;
    if (option.kind === 'bool') {
      if (value === undefined) value = 'true';
    } else if (value === undefined) {
      if (i + 1 >= argv.length) throw invalidParameter(`flag needs an argument: ${arg}`);
      value = argv[++i];
    }
    applyFlag(result.flags, option, value);
  }
  return result;
}

function applyValueFlag(flags: PartialConfig, option: OptionDescriptor, value: string, arg: string): void {
  if (option.kind === 'bool') throw invalidParameter(`unknown shorthand flag: '${arg[2]}' in ${arg}`);
  applyFlag(flags, option, value);
}

/** Flags that steer berthd itself rather than configure it; returns the new index or undefined. */
function metaFlag(
  result: CommandLine,
  name: string,
  inline: string | undefined,
  argv: readonly string[],
  i: number,
): number | undefined {
  switch (name) {
    case 'help':
    case 'h':
      result.help = true;
      return i;
    case 'version':
    case 'v':
      result.version = true;
      return i;
    case 'validate':
      result.validate = true;
      return i;
    case 'config-file': {
      let value = inline;
      if (value === undefined) {
        if (i + 1 >= argv.length) throw invalidParameter('flag needs an argument: --config-file');
        value = argv[++i];
      }
      result.configFile = value;
      result.configFileExplicit = true;
      return i;
    }
    default:
      return undefined;
  }
}

function applyFlag(flags: PartialConfig, option: OptionDescriptor, text: string): void {
  const key = option.key;
  const flagName = `--${option.flag ?? option.key}`;
  switch (option.kind) {
    case 'bool':
      if (text !== 'true' && text !== 'false') {
        throw invalidParameter(
          `invalid argument "${text}" for "${flagName}" flag: strconv.ParseBool: parsing "${text}": invalid syntax`,
        );
      }
      flags[key] = text === 'true';
      return;
    case 'string':
      flags[key] = text;
      return;
    case 'int': {
      if (!/^-?\d+$/.test(text)) {
        throw invalidParameter(
          `invalid argument "${text}" for "${flagName}" flag: strconv.ParseInt: parsing "${text}": invalid syntax`,
        );
      }
      flags[key] = Number(text);
      return;
    }
    case 'list':
      flags[key] = [...((flags[key] as string[] | undefined) ?? []), text];
      return;
    case 'map': {
      const [k, ...rest] = text.split('=');
      if (!k || rest.length === 0)
        throw invalidParameter(`invalid argument "${text}" for "${flagName}" flag: expected key=value`);
      flags[key] = { ...((flags[key] as Record<string, string> | undefined) ?? {}), [k]: rest.join('=') };
      return;
    }
    case 'runtime': {
      const [name, ...rest] = text.split('=');
      if (!name || rest.length === 0) {
        throw invalidParameter(
          `invalid argument "${text}" for "${flagName}" flag: runtime must be name=path`,
        );
      }
      const runtimes = (flags[key] as Record<string, RuntimeConfig> | undefined) ?? {};
      flags[key] = { ...runtimes, [name]: { path: rest.join('=') } };
      return;
    }
    case 'pool':
      flags[key] = [...((flags[key] as AddressPool[] | undefined) ?? []), parsePoolFlag(text, flagName)];
      return;
  }
}

function parsePoolFlag(text: string, flagName: string): AddressPool {
  const fields = Object.fromEntries(text.split(',').map((part) => part.split('=', 2) as [string, string]));
  if (!fields.base || !fields.size || !/^\d+$/.test(fields.size)) {
    throw invalidParameter(`invalid argument "${text}" for "${flagName}" flag: expected base=CIDR,size=N`);
  }
  return { base: fields.base, size: Number(fields.size) };
}

const FILE_KEYS = new Set<string>(OPTIONS.map((o) => o.key));

/** Reads daemon.json; unknown keys are refused as dockerd does. */
export function readConfigFile(file: string, mustExist: boolean): PartialConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !mustExist) return {};
    throw invalidParameter(
      `unable to configure the berth daemon with file ${file}: ${(err as Error).message}`,
    );
  }
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidParameter(
      `unable to configure the berth daemon with file ${file}: ${(err as Error).message}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidParameter(
      `unable to configure the berth daemon with file ${file}: the file must hold a JSON object`,
    );
  }
  const unknown = Object.keys(parsed).filter((k) => !FILE_KEYS.has(k));
  if (unknown.length > 0) {
    throw invalidParameter(
      `unable to configure the berth daemon with file ${file}: the following directives don't match any configuration option: ${unknown.join(', ')}`,
    );
  }
  return parsed as PartialConfig;
}

/** Refuses an option given both as a flag and in the file, naming each, as dockerd does. */
export function checkConflicts(flags: PartialConfig, file: PartialConfig, fileName: string): void {
  const conflicts = Object.keys(flags)
    .filter((key) => key in file)
    .map((key) => {
      const k = key as ConfigKey;
      return `${key}: (from flag: ${JSON.stringify(flags[k])}, from file: ${JSON.stringify(file[k])})`;
    });
  if (conflicts.length > 0) {
    throw invalidParameter(
      `unable to configure the berth daemon with file ${fileName}: the following directives are specified both as a flag and in the configuration file: ${conflicts.join(', ')}`,
    );
  }
}

/** Builds the effective config from defaults, the file and the flags, then validates it. */
export function loadConfig(cmd: CommandLine): DaemonConfig {
  const file = readConfigFile(cmd.configFile, cmd.configFileExplicit);
  checkConflicts(cmd.flags, file, cmd.configFile);
  const config = { ...defaultConfig(), ...file, ...cmd.flags } as DaemonConfig;
  validateConfig(config, cmd.configFile);
  return config;
}

/**
 * Re-reads the file for SIGHUP: flags keep precedence and non-reloadable
 * options keep their running values.
 */
export function reloadConfig(
  cmd: CommandLine,
  running: DaemonConfig,
  reloadable: ReadonlySet<ConfigKey>,
): { config: DaemonConfig; changed: ConfigKey[] } {
  const fresh = loadConfig(cmd);
  const next = { ...running };
  const changed: ConfigKey[] = [];
  for (const key of reloadable) {
    if (JSON.stringify(fresh[key]) !== JSON.stringify(running[key])) {
      (next as Record<string, unknown>)[key] = fresh[key];
      changed.push(key);
    }
  }
  return { config: next, changed };
}
