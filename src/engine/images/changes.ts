/**
 * The `changes` of import and commit: Dockerfile instructions applied to an
 * image config (moby's BuildFromConfig), limited to the ones that only change
 * metadata: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD,
 * STOPSIGNAL, USER, VOLUME, WORKDIR.
 */
import path from 'node:path';
import { invalidParameter } from '../../common/errors.js';
import type { ImageConfig } from '../../types/image.js';

const CHANGE_COMMANDS = new Set([
  'cmd',
  'entrypoint',
  'env',
  'expose',
  'healthcheck',
  'label',
  'onbuild',
  'stopsignal',
  'user',
  'volume',
  'workdir',
]);

/** Splits on unquoted whitespace; quotes group and are removed, backslash escapes the next character. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) throw invalidParameter(`unmatched quote in: ${text}`);
  if (inWord) words.push(current);
  return words;
}

/** A JSON array of strings (exec form), or undefined when `text` is not one. */
function jsonArray(text: string): string[] | undefined {
  if (!text.trimStart().startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed;
  } catch {
    // Not JSON: Docker then treats the text as shell form.
  }
  return undefined;
}

/** CMD/ENTRYPOINT/RUN argument: exec form as given, shell form wrapped in the shell. */
function commandForm(args: string, shell: string[]): string[] {
  return jsonArray(args) ?? [...shell, args];
}

/** KEY=VALUE pairs, or the legacy `KEY value with spaces` form. */
function keyValues(command: string, args: string): [string, string][] {
  const words = splitWords(args);
  if (words.length === 0) throw invalidParameter(`${command} requires at least one argument`);
  if (!words[0].includes('=')) {
    const rest = args
      .trim()
      .slice(args.trim().indexOf(words[0]) + words[0].length)
      .trim();
    if (rest === '') throw invalidParameter(`${command} names can not be blank`);
    return [[words[0], splitWords(rest).join(' ')]];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq <= 0)
      throw invalidParameter(`Syntax error - can't find = in "${word}". Must be of the form: name=value`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

/** Go duration text ("30s", "1m30s") in nanoseconds. */
function durationNs(text: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) throw invalidParameter(`invalid duration "${text}"`);
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
    total += Number(amount) * units[unit];
  return total;
}

function healthcheck(args: string): NonNullable<ImageConfig['Healthcheck']> {
  const words = splitWords(args);
  const check: NonNullable<ImageConfig['Healthcheck']> = {};
  let i = 0;
  for (; i < words.length && words[i].startsWith('--'); i++) {
    const [flag, value = ''] = words[i].slice(2).split(/=(.*)/s);
    if (flag === 'interval') check.Interval = durationNs(value);
    else if (flag === 'timeout') check.Timeout = durationNs(value);
    else if (flag === 'start-period') check.StartPeriod = durationNs(value);
    else if (flag === 'start-interval') check.StartInterval = durationNs(value);
    else if (flag === 'retries') check.Retries = Number(value);
    else throw invalidParameter(`Unknown flag: ${flag}`);
  }
  const kind = (words[i] ?? '').toUpperCase();
  if (kind === 'NONE') return { Test: ['NONE'] };
  if (kind !== 'CMD') throw invalidParameter(`Unknown type "${words[i] ?? ''}" in HEALTHCHECK (try CMD)`);
  const rest = args.slice(args.toUpperCase().indexOf('CMD', args.indexOf(words[i])) + 3).trim();
  const exec = jsonArray(rest);
  check.Test = exec ? ['CMD', ...exec] : ['CMD-SHELL', rest];
  return check;
}

/** Applies `changes` to a copy of `base` and returns it. */
export function applyChanges(base: ImageConfig, changes: string[]): ImageConfig {
  const config: ImageConfig = structuredClone(base);
  let cmdSet = false;
  const shell = config.Shell && config.Shell.length > 0 ? config.Shell : ['/bin/sh', '-c'];
  for (const change of changes
    .flatMap((c) => c.split('\n'))
    .map((c) => c.trim())
    .filter(Boolean)) {
    const match = /^(\S+)\s*(.*)$/s.exec(change)!;
    const command = match[1].toLowerCase();
    const args = match[2];
    if (!CHANGE_COMMANDS.has(command)) throw invalidParameter(`${command} is not a valid change command`);
    switch (command) {
      case 'cmd':
        config.Cmd = commandForm(args, shell);
        cmdSet = true;
        break;
      case 'entrypoint':
        config.Entrypoint = args.trim() === '' ? null : commandForm(args, shell);
        if (!cmdSet) config.Cmd = null;
        break;
      case 'env':
        for (const [key, value] of keyValues('ENV', args)) {
          const env = (config.Env ?? []).filter((e) => e.split('=')[0] !== key);
          env.push(`${key}=${value}`);
          config.Env = env;
        }
        break;
      case 'label':
        for (const [key, value] of keyValues('LABEL', args))
          config.Labels = { ...config.Labels, [key]: value };
        break;
      case 'expose':
        for (const port of splitWords(args)) {
          const key = port.includes('/') ? port.toLowerCase() : `${port}/tcp`;
          if (!/^\d+(-\d+)?\/(tcp|udp|sctp)$/.test(key))
            throw invalidParameter(`invalid containerPort: ${port}`);
          config.ExposedPorts = { ...config.ExposedPorts, [key]: {} };
        }
        break;
      case 'volume': {
        const volumes = jsonArray(args) ?? splitWords(args);
        if (volumes.length === 0) throw invalidParameter('VOLUME requires at least one argument');
        for (const volume of volumes) config.Volumes = { ...config.Volumes, [volume]: {} };
        break;
      }
      case 'workdir':
        config.WorkingDir = path.posix.resolve(config.WorkingDir || '/', splitWords(args).join(' '));
        break;
      case 'user':
        config.User = args.trim();
        break;
      case 'stopsignal':
        config.StopSignal = args.trim();
        break;
      case 'onbuild':
        config.OnBuild = [...(config.OnBuild ?? []), args.trim()];
        break;
      case 'healthcheck':
        config.Healthcheck = healthcheck(args);
        break;
    }
  }
  return config;
}
