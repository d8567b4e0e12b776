import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidParameter } from '../common/errors.js';
import { statusForError } from './errors.js';

const MAX_JSON_BODY = 16 * 1024 * 1024;

export function sendJSON(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Docker's error body; a 304 carries no body at all. */
export function sendError(res: ServerResponse, err: unknown): void {
  const status = statusForError(err);
  if (status === 304) return sendNoContent(res, 304);
  const message = err instanceof Error ? err.message : String(err);
  sendJSON(res, status, { message });
}

/** Reads a JSON request body; an empty body yields undefined and bad JSON a 400. */
export async function readJSON<T>(req: IncomingMessage): Promise<T | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY) throw invalidParameter('request body is too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalidParameter(`invalid JSON: ${(err as Error).message}`);
  }
}

/** moby's BoolValue: anything but "", "0", "no", "false" and "none" is true. */
export function boolParam(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  return !['', '0', 'no', 'false', 'none'].includes(value.trim().toLowerCase());
}

/** moby's BoolValueOrDefault: the default when the parameter is absent or empty. */
export function boolParamOr(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const value = query.get(name);
  return value === null || value === '' ? fallback : boolParam(query, name);
}

export function intParam(query: URLSearchParams, name: string, fallback: number): number {
  const value = query.get(name);
  if (value === null || value === '') return fallback;
  if (!/^-?\d+$/.test(value)) throw invalidParameter(`invalid value for ${name}: ${value}`);
  return Number(value);
}

export type Filters = Map<string, string[]>;

/**
 * Parses the `filters` parameter; both of Docker's encodings are accepted:
 * `{"key":["v"]}` and the older `{"key":{"v":true}}`.
 */
export function filtersParam(query: URLSearchParams): Filters {
  const text = query.get('filters');
  const filters: Filters = new Map();
  if (!text) return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidParameter(`invalid filter: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidParameter('invalid filter: expected a JSON object');
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (Array.isArray(value)) filters.set(key, value.map(String));
    else if (typeof value === 'object' && value !== null) {
      filters.set(
        key,
        Object.keys(value).filter((k) => (value as Record<string, unknown>)[k]),
      );
    } else throw invalidParameter(`invalid filter '${key}'`);
  }
  return filters;
}

/** Refuses filter keys a list endpoint does not know, with Docker's message. */
export function validateFilterKeys(filters: Filters, allowed: readonly string[]): void {
  for (const key of filters.keys()) {
    if (!allowed.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
  }
}

/** Starts a newline-delimited JSON stream (progress, events). */
export function startJSONStream(res: ServerResponse, status = 200): (message: unknown) => boolean {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  return (message) => res.write(JSON.stringify(message) + '\n');
}
