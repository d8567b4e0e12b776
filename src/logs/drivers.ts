/**
 * The log drivers a container can have (`LogConfig.Type`, or the daemon's
 * `log-driver`/`log-opts`): json-file (Docker's default and format), local
 * (Docker's compact format, rotated and compressed by default), none.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { invalidParameter } from '../common/errors.js';
import { nowNanos } from '../engine/containers/record.js';
import { jsonFormat, localFormat, type LogFormat } from './formats.js';
import { LineSplitter, type LinePart } from './lines.js';
import { LogFile, type RotationOptions } from './logfile.js';
import { readLogBatches as readBatches, readLogFiles } from './reader.js';
import type { LogEntry, LogWriter, ReadLogOptions, StdStream } from './types.js';

export const LOG_DRIVER_NAMES = ['json-file', 'local', 'none'] as const;
export type LogDriverName = (typeof LOG_DRIVER_NAMES)[number];

const JSON_FILE_OPTS = [
  'max-file',
  'max-size',
  'compress',
  'labels',
  'labels-regex',
  'env',
  'env-regex',
  'tag',
];
const LOCAL_OPTS = ['max-file', 'max-size', 'compress'];
const LOCAL_DEFAULTS = { maxSize: 20 * 1024 * 1024, maxFiles: 5, compress: true };

/** What a driver knows of its container. */
export interface LogContext {
  id: string;
  /** The container's directory (its log lives there). */
  dir: string;
  labels: Record<string, string>;
  /** `KEY=value` entries. */
  env: string[];
}

/**
 * Docker's size units: json-file takes decimal ones (go-units FromHumanSize:
 * 10m = 10,000,000), local binary ones (RAMInBytes: 10m = 10 MiB).
 */
export function parseSize(text: string, base: 1000 | 1024): number {
  const match = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text.trim());
  if (!match) throw invalidParameter(`invalid size: '${text}'`);
  const power = match[2] ? 'kmgtp'.indexOf(match[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(match[1]) * base ** power);
}

function parseBool(text: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return false;
  throw invalidParameter(`strconv.ParseBool: parsing "${text}": invalid syntax`);
}

function rotationOf(driver: LogDriverName, opts: Record<string, string>): RotationOptions {
  const local = driver === 'local';
  let maxSize = local ? LOCAL_DEFAULTS.maxSize : 0;
  if (opts['max-size'] !== undefined) {
    maxSize = parseSize(opts['max-size'], local ? 1024 : 1000);
    if (maxSize <= 0 && !local) throw invalidParameter('max-size must be a positive number');
  }
  let maxFiles = local ? LOCAL_DEFAULTS.maxFiles : 1;
  if (opts['max-file'] !== undefined) {
    if (!/^-?\d+$/.test(opts['max-file']))
      throw invalidParameter(`strconv.Atoi: parsing "${opts['max-file']}": invalid syntax`);
    maxFiles = Number(opts['max-file']);
    if (maxFiles < 1) throw invalidParameter('max-file cannot be less than 1');
  }
  let compress = local ? LOCAL_DEFAULTS.compress : false;
  if (opts.compress !== undefined) {
    compress = parseBool(opts.compress);
    if (compress && !local && (maxFiles === 1 || maxSize <= 0)) {
      throw invalidParameter('compress cannot be true when max-file is less than 2 or max-size is not set');
    }
  }
  if (local && maxSize <= 0) maxFiles = 1;
  return { maxSize, maxFiles, compress: compress && maxFiles > 1 };
}

export function isLogDriver(name: string): name is LogDriverName {
  return (LOG_DRIVER_NAMES as readonly string[]).includes(name);
}

/** Refuses unknown options and bad values as Docker does at create. */
export function validateLogOptions(driver: string, opts: Record<string, string>): void {
  if (!isLogDriver(driver)) throw invalidParameter(`logger: no log driver named '${driver}' is registered`);
  const allowed = driver === 'json-file' ? JSON_FILE_OPTS : driver === 'local' ? LOCAL_OPTS : [];
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) throw invalidParameter(`unknown log opt '${key}' for ${driver} log driver`);
  }
  if (driver !== 'none') rotationOf(driver, opts);
  for (const key of ['labels-regex', 'env-regex']) {
    if (opts[key] === undefined) continue;
    try {
      new RegExp(opts[key]);
    } catch {
      throw invalidParameter(`error parsing regexp: ${opts[key]}`);
    }
  }
}

/** Where a driver keeps a container's log ('' when it keeps none). */
export function logPathFor(driver: string, context: { id: string; dir: string }): string {
  if (driver === 'local') return path.join(context.dir, 'local-logs', 'container.log');
  if (driver === 'none') return '';
  return path.join(context.dir, `${context.id}-json.log`);
}

function formatOf(driver: string): LogFormat {
  return driver === 'local' ? localFormat : jsonFormat;
}

/** Docker's extra attributes: the labels and environment variables named by log-opts. */
export function logAttributes(opts: Record<string, string>, context: LogContext): Record<string, string> {
  const attrs: Record<string, string> = {};
  const names = (value: string | undefined): string[] => (value ? value.split(',').filter(Boolean) : []);
  for (const key of names(opts.labels)) if (key in context.labels) attrs[key] = context.labels[key];
  if (opts['labels-regex']) {
    const pattern = new RegExp(opts['labels-regex']);
    for (const [key, value] of Object.entries(context.labels)) if (pattern.test(key)) attrs[key] = value;
  }
  const env = new Map(
    context.env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }),
  );
  for (const key of names(opts.env)) if (env.has(key)) attrs[key] = env.get(key)!;
  if (opts['env-regex']) {
    const pattern = new RegExp(opts['env-regex']);
    for (const [key, value] of env) if (pattern.test(key)) attrs[key] = value;
  }
  return attrs;
}

/** A container's output, split into messages and stored by a file-based driver. */
export class FileLogWriter implements LogWriter {
  private readonly splitters: Record<StdStream, LineSplitter> = {
    stdout: new LineSplitter(),
    stderr: new LineSplitter(),
  };
  private readonly file: LogFile;

  constructor(
    private readonly format: LogFormat,
    readonly path: string,
    rotation: RotationOptions,
    private readonly attrs: Record<string, string> | undefined,
  ) {
    this.file = new LogFile(path, format, rotation);
  }

  /** The messages of one read share one timestamp and become one queued buffer. */
  write(stream: StdStream, chunk: Buffer): boolean {
    const lines: Buffer[] = [];
    const parts: (LinePart | undefined)[] = [];
    this.splitters[stream].push(chunk, (line, part) => {
      lines.push(line);
      parts.push(part);
    });
    return lines.length === 0 || this.append(stream, lines, parts);
  }

  onceDrain(callback: () => void): void {
    this.file.onceDrain(callback);
  }

  flushPartial(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      this.splitters[stream].flush((line, part) => this.append(stream, [line], [part]));
    }
  }

  async close(): Promise<void> {
    this.flushPartial();
    await this.file.close();
  }

  private append(stream: StdStream, lines: Buffer[], parts: (LinePart | undefined)[]): boolean {
    return this.file.append(
      this.format.encodeBatch({ stream, nanos: nowNanos(), attrs: this.attrs, lines, parts }),
    );
  }
}

/**
 * The writer for a container's log; undefined for `none`. The log's
 * directory must exist (local keeps its files in a subdirectory, created here).
 */
export function createLogWriter(
  driver: string,
  logPath: string,
  opts: Record<string, string>,
  context: LogContext,
): LogWriter | undefined {
  if (driver === 'none' || !logPath) return undefined;
  if (driver === 'local') {
    mkdirSync(path.dirname(logPath), { recursive: true, mode: 0o700 });
    return new FileLogWriter(localFormat, logPath, rotationOf('local', opts), undefined);
  }
  const attrs = logAttributes(opts, context);
  return new FileLogWriter(
    jsonFormat,
    logPath,
    rotationOf('json-file', opts),
    Object.keys(attrs).length > 0 ? attrs : undefined,
  );
}

/** Whether `logs` can read what the driver stores. */
export function driverReads(driver: string): boolean {
  return driver === 'json-file' || driver === 'local';
}

export function readLog(driver: string, logPath: string, options: ReadLogOptions): AsyncGenerator<LogEntry> {
  return readLogFiles(formatOf(driver), logPath, options);
}

/** The same in batches as they are read: what a stream to a client writes at once. */
export function readLogBatches(
  driver: string,
  logPath: string,
  options: ReadLogOptions,
): AsyncGenerator<LogEntry[]> {
  return readBatches(formatOf(driver), logPath, options);
}

/** A json-file log without rotation or attributes (Docker's default json-file settings). */
export class JsonFileWriter extends FileLogWriter {
  constructor(logPath: string, rotation: RotationOptions = { maxSize: 0, maxFiles: 1, compress: false }) {
    super(jsonFormat, logPath, rotation, undefined);
  }
}

export function readJsonLog(logPath: string, options: ReadLogOptions): AsyncGenerator<LogEntry> {
  return readLogFiles(jsonFormat, logPath, options);
}
