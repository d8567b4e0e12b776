/** `RUN --mount=...` specifications, parsed and validated as BuildKit does. */
import { DockerfileError } from './errors.js';
import { suggest } from './text.js';

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

export interface RunMount {
  type: MountType;
  /** Stage name/index or image to mount from (bind, cache); empty means the build context. */
  from?: string;
  source?: string;
  target?: string;
  /** Bind and secret mounts are read-only unless `rw`; cache and tmpfs are writable unless `ro`. */
  readOnly: boolean;
  /** tmpfs size in bytes. */
  sizeLimit?: number;
  /** Cache id, or secret id. */
  id?: string;
  sharing?: CacheSharing;
  /** Secret/ssh: fail when the secret is not provided. */
  required: boolean;
  /** Secret exposed as this environment variable. */
  env?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /**
   * The spec uses variables and was only partly read at parse time (`from`
   * alone is known); expandInstruction() resolves it with the stage's variables.
   */
  unresolved?: boolean;
}

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING_MODES: readonly CacheSharing[] = ['shared', 'private', 'locked'];
const MOUNT_KEYS = [
  'type',
  'from',
  'source',
  'target',
  'readonly',
  'id',
  'sharing',
  'required',
  'size',
  'mode',
  'uid',
  'gid',
  'src',
  'dst',
  'destination',
  'ro',
  'rw',
  'readwrite',
  'env',
];

function withHint(message: string, value: string, options: readonly string[]): DockerfileError {
  const hint = suggest(value, options, true);
  return new DockerfileError(hint ? `${message} (did you mean ${hint}?)` : message);
}

/** Splits one CSV record as Go's encoding/csv does (quoted fields, "" escapes). */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      const column = i + 1;
      i++;
      for (;;) {
        if (i >= line.length) {
          throw new DockerfileError(
            `failed to parse csv mounts: parse error on line 1, column ${column}: extraneous or missing " in quoted-field`,
          );
        }
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ',') {
        throw new DockerfileError(
          `failed to parse csv mounts: parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`,
        );
      }
    } else {
      const comma = line.indexOf(',', i);
      field = comma < 0 ? line.slice(i) : line.slice(i, comma);
      const quote = field.indexOf('"');
      if (quote >= 0) {
        throw new DockerfileError(
          `failed to parse csv mounts: parse error on line 1, column ${i + quote + 1}: bare " in non-quoted-field`,
        );
      }
      i += field.length;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

function parseBool(key: string, value: string): boolean {
  switch (value) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return false;
    default:
      throw new DockerfileError(`invalid value for ${key}: ${value}`);
  }
}

function parseUnsigned(text: string, radix: 8 | 10): number | undefined {
  const digits = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!digits.test(text)) return undefined;
  const value = Number.parseInt(text, radix);
  return value <= 0xffffffff ? value : undefined;
}

const RAM_SIZE = /^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const BINARY_UNITS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** go-units RAMInBytes: `64m`, `1.5GiB`, `512` (bytes); binary multiples. */
export function ramInBytes(text: string): number | undefined {
  const match = RAM_SIZE.exec(text);
  if (!match) return undefined;
  const size = Number.parseFloat(match[1]);
  const unit = (match[3] ?? '').toLowerCase();
  return Math.trunc(unit ? size * BINARY_UNITS[unit] : size);
}

/**
 * Parses one `--mount` value. With `expand`, every value is expanded and fully
 * validated. Without it (parse time), a spec that references variables is only
 * checked for `from=` (which cannot use variables) and returned `unresolved`.
 */
export function parseMountSpec(spec: string, expand?: (word: string) => string): RunMount {
  const deferred = expand === undefined && spec.includes('$');
  const fields = csvFields(spec);
  const mount: RunMount = { type: 'bind', readOnly: false, required: false };
  let readOnlyAuto = true;

  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (deferred) continue;
      switch (key) {
        case 'readonly':
        case 'ro':
          mount.readOnly = true;
          readOnlyAuto = false;
          continue;
        case 'readwrite':
        case 'rw':
          mount.readOnly = false;
          readOnlyAuto = false;
          continue;
        case 'required':
          if (mount.type !== 'secret' && mount.type !== 'ssh') {
            throw new DockerfileError(`unexpected key '${key}' for mount type '${mount.type}'`);
          }
          mount.required = true;
          continue;
        default:
          throw new DockerfileError(`invalid field '${field}' must be a key=value pair`);
      }
    }
    let value = field.slice(eq + 1);
    if (key === 'from' && expand === undefined) {
      const dollar = value.indexOf('$');
      if (dollar !== -1 && dollar !== value.length - 1) {
        throw new DockerfileError(`'${key}' doesn't support variable expansion, define alias stage instead`);
      }
    } else if (deferred) {
      continue;
    } else if (expand) {
      value = expand(value);
    }
    applyMountField(mount, key, field, value);
    if (key === 'readonly' || key === 'ro' || key === 'readwrite' || key === 'rw') readOnlyAuto = false;
  }

  if (deferred) return { ...mount, readOnly: true, unresolved: true };
  validateMount(mount, readOnlyAuto);
  return mount;
}

function applyMountField(mount: RunMount, key: string, field: string, value: string): void {
  switch (key) {
    case 'type': {
      const type = value.toLowerCase() as MountType;
      if (!MOUNT_TYPES.includes(type))
        throw withHint(`unsupported mount type "${value}"`, value, MOUNT_TYPES);
      mount.type = type;
      return;
    }
    case 'from':
      mount.from = value;
      return;
    case 'source':
    case 'src':
      mount.source = value;
      return;
    case 'target':
    case 'dst':
    case 'destination':
      mount.target = value;
      return;
    case 'readonly':
    case 'ro':
      mount.readOnly = parseBool(key, value);
      return;
    case 'readwrite':
    case 'rw':
      mount.readOnly = !parseBool(key, value);
      return;
    case 'required':
      if (mount.type !== 'secret' && mount.type !== 'ssh') {
        throw new DockerfileError(`unexpected key '${key}' for mount type '${mount.type}'`);
      }
      mount.required = parseBool(key, value);
      return;
    case 'size': {
      if (mount.type !== 'tmpfs')
        throw new DockerfileError(`unexpected key '${key}' for mount type '${mount.type}'`);
      const size = ramInBytes(value);
      if (size === undefined) throw new DockerfileError(`invalid value for ${key}: ${value}`);
      mount.sizeLimit = size;
      return;
    }
    case 'id':
      mount.id = value;
      return;
    case 'sharing': {
      const sharing = value.toLowerCase() as CacheSharing;
      if (!SHARING_MODES.includes(sharing)) {
        throw withHint(`unsupported sharing value "${value}"`, value, SHARING_MODES);
      }
      mount.sharing = sharing;
      return;
    }
    case 'mode':
    case 'uid':
    case 'gid': {
      const parsed = parseUnsigned(value, key === 'mode' ? 8 : 10);
      if (parsed === undefined) throw new DockerfileError(`invalid value ${value} for ${key}`);
      mount[key] = parsed;
      return;
    }
    case 'env':
      mount.env = value;
      return;
    default:
      throw withHint(`unexpected key '${key}' in '${field}'`, key, MOUNT_KEYS);
  }
}

function validateMount(mount: RunMount, readOnlyAuto: boolean): void {
  const fileInfoAllowed = mount.type === 'secret' || mount.type === 'ssh' || mount.type === 'cache';
  if (!fileInfoAllowed) {
    for (const key of ['mode', 'uid', 'gid'] as const) {
      if (mount[key] !== undefined)
        throw new DockerfileError(`${key} not allowed for "${mount.type}" type mounts`);
    }
  }
  if (readOnlyAuto) mount.readOnly = mount.type !== 'cache' && mount.type !== 'tmpfs';
  if (mount.type === 'secret') {
    if (mount.from) throw new DockerfileError('secret mount should not have a from');
    if (mount.sharing) throw new DockerfileError('secret mount should not define sharing');
    if (!mount.source && !mount.target && !mount.id) {
      throw new DockerfileError('invalid secret mount. one of source, target required');
    }
    if (mount.source && mount.id) throw new DockerfileError("both source and id can't be set");
  }
  if (mount.sharing !== undefined && mount.type !== 'cache') {
    throw new DockerfileError(`invalid cache sharing set for ${mount.type} mount`);
  }
}
