/**
 * google.protobuf.Any payloads as containerd uses them: type URLs without the
 * "type.googleapis.com/" prefix, OCI runtime-spec types as JSON bytes, and
 * everything else as protobuf messages named by the URL.
 */
import protobuf from 'protobufjs';
import { systemError } from '../common/errors.js';
import { protoRoot } from './proto.js';

export interface AnyMessage {
  typeUrl: string;
  value: Buffer;
}

/** The wire shape proto-loader uses for Any fields. */
export interface WireAny {
  type_url: string;
  value: Buffer;
}

export const OCI_TYPE_URL_PREFIX = 'types.containerd.io/opencontainers/runtime-spec/1/';

/** Go's zero time.Time (0001-01-01T00:00:00Z): what containerd sends for "never". */
const GO_ZERO_TIME_SECONDS = -62135596800;

export interface WireTimestamp {
  seconds: string | number | bigint;
  nanos: number;
}

/** A protobuf Timestamp as a Date; unset and Go-zero timestamps become undefined. */
export function timestampToDate(ts: WireTimestamp | null | undefined): Date | undefined {
  if (!ts) return undefined;
  const seconds = Number(ts.seconds);
  if (seconds <= GO_ZERO_TIME_SECONDS) return undefined;
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

export function toWireAny(any: AnyMessage): WireAny {
  return { type_url: any.typeUrl, value: any.value };
}

export function fromWireAny(any: WireAny | null | undefined): AnyMessage | undefined {
  if (!any || !any.type_url) return undefined;
  return { typeUrl: any.type_url, value: Buffer.from(any.value ?? []) };
}

export function jsonAny(typeUrl: string, value: unknown): AnyMessage {
  return { typeUrl, value: Buffer.from(JSON.stringify(value)) };
}

/** A protobuf Any for the message type `typeName`, from a camelCase (or snake_case) object. */
export function packAny(typeName: string, fields: Record<string, unknown>): AnyMessage {
  const type = lookupType(typeName);
  if (!type) throw systemError(`unknown protobuf type ${typeName}`);
  const message = type.fromObject(toWireObject(type, fields));
  return { typeUrl: typeName, value: Buffer.from(type.encode(message).finish()) };
}

/**
 * Decodes an Any into a plain object: JSON for OCI types, camelCase fields for
 * protobuf types, Timestamps as Date (or undefined), 64-bit integers as bigint,
 * nested Anys decoded too. Throws for a type berth has no definition of.
 */
export function decodeAny(any: AnyMessage): unknown {
  if (any.typeUrl.startsWith(OCI_TYPE_URL_PREFIX)) return JSON.parse(any.value.toString('utf8'));
  const type = lookupType(any.typeUrl);
  if (!type) throw systemError(`unknown Any type ${any.typeUrl}`);
  const object = type.toObject(type.decode(any.value), {
    longs: BigInt,
    enums: String,
    bytes: Buffer,
    defaults: true,
    arrays: true,
    objects: true,
  });
  return toPlain(type, object);
}

/** decodeAny, or undefined when the type is unknown or the bytes are malformed. */
export function tryDecodeAny(any: AnyMessage): unknown {
  try {
    return decodeAny(any);
  } catch {
    return undefined;
  }
}

function lookupType(typeUrl: string): protobuf.Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  try {
    return protoRoot().lookupType(name);
  } catch {
    return undefined;
  }
}

function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function toPlain(type: protobuf.Type, object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    const key = camelCase(field.name);
    if (field.map) {
      const entries = Object.entries((value ?? {}) as Record<string, unknown>);
      out[key] = Object.fromEntries(entries.map(([k, v]) => [k, plainValue(field, v)]));
    } else if (field.repeated) {
      out[key] = ((value ?? []) as unknown[]).map((v) => plainValue(field, v));
    } else {
      out[key] = plainValue(field, value);
    }
  }
  return out;
}

function plainValue(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (!(resolved instanceof protobuf.Type)) return value;
  if (value === null || value === undefined) return undefined;
  switch (resolved.fullName) {
    case '.google.protobuf.Timestamp':
      return timestampToDate(value as WireTimestamp);
    case '.google.protobuf.Any': {
      const any = fromWireAny(value as WireAny);
      return any && tryDecodeAny(any);
    }
    default:
      return toPlain(resolved, value as Record<string, unknown>);
  }
}

/** Maps camelCase keys of a plain object back to the snake_case field names. */
function toWireObject(type: protobuf.Type, fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = fields[camelCase(field.name)] ?? fields[field.name];
    if (value === undefined) continue;
    const resolved = field.resolvedType;
    const nested = resolved instanceof protobuf.Type && !resolved.fullName.startsWith('.google.protobuf.');
    if (nested && field.repeated && !field.map) {
      out[field.name] = (value as Record<string, unknown>[]).map((v) => toWireObject(resolved, v));
    } else if (nested && !field.map) {
      out[field.name] = toWireObject(resolved, value as Record<string, unknown>);
    } else {
      out[field.name] = value;
    }
  }
  return out;
}
