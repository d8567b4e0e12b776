/**
 * `GET /containers/json`: which containers a listing shows, by Docker's
 * rules for all, limit, before/since and every filter.
 */
import { invalidParameter } from '../../common/errors.js';
import type { Container } from './record.js';
import { rfc3339ToNanos, statusOf } from './record.js';
import { networkNameOf } from './inspect.js';

export type ListFilters = Map<string, string[]>;

export const LIST_FILTER_KEYS = [
  'ancestor',
  'before',
  'expose',
  'exited',
  'health',
  'id',
  'isolation',
  'is-task',
  'label',
  'name',
  'network',
  'publish',
  'since',
  'status',
  'volume',
];

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

export interface ListOptions {
  all: boolean;
  limit: number;
  filters: ListFilters;
}

export interface ListContext {
  /** Finds a container by ID, name or prefix (before/since); throws NotFound. */
  lookup(term: string): Container;
  /** Image IDs an `ancestor` value names (the image and, when known, its descendants). */
  ancestorImageIds(value: string): Promise<Set<string>>;
  health(container: Container): string;
}

/** moby's filters.Match: an exact value, or any value used as an unanchored regular expression. */
function matchesAny(values: string[], source: string): boolean {
  return values.some((value) => {
    if (value === source) return true;
    try {
      return new RegExp(value).test(source);
    } catch {
      return false;
    }
  });
}

/** `key` or `key=value` against labels, every one of the values required. */
export function labelsMatch(values: string[], labels: Record<string, string>): boolean {
  return values.every((value) => {
    const eq = value.indexOf('=');
    if (eq < 0) return value in labels;
    return labels[value.slice(0, eq)] === value.slice(eq + 1);
  });
}

/** `80`, `80/tcp` or a range `8000-8080/tcp` against a set of `port/proto` keys. */
function portsMatch(values: string[], ports: string[]): boolean {
  return values.some((value) => {
    const [range, proto = 'tcp'] = value.split('/');
    const [low, high = low] = range.split('-').map(Number);
    if (!Number.isInteger(low) || !Number.isInteger(high))
      throw invalidParameter(`invalid port filter: ${value}`);
    return ports.some((key) => {
      const [port, keyProto = 'tcp'] = key.split('/');
      return keyProto === proto && Number(port) >= low && Number(port) <= high;
    });
  });
}

function validate(filters: ListFilters): void {
  for (const key of filters.keys()) {
    if (!LIST_FILTER_KEYS.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
  }
  for (const value of filters.get('status') ?? []) {
    if (!STATUSES.includes(value)) throw invalidParameter(`invalid filter 'status=${value}'`);
  }
  for (const value of filters.get('health') ?? []) {
    if (!HEALTH.includes(value)) throw invalidParameter(`invalid filter 'health=${value}'`);
  }
  for (const value of filters.get('exited') ?? []) {
    if (!/^-?\d+$/.test(value)) throw invalidParameter(`invalid filter 'exited=${value}'`);
  }
  for (const value of filters.get('is-task') ?? []) {
    if (value !== 'true' && value !== 'false') throw invalidParameter(`invalid filter 'is-task=${value}'`);
  }
}

const createdNanos = (c: Container): bigint => rfc3339ToNanos(c.Created);

const createdOrder = (a: Container, b: Container): number => {
  const [x, y] = [createdNanos(a), createdNanos(b)];
  return x < y ? 1 : x > y ? -1 : 0;
};

/** The containers to list, newest first. */
export async function selectContainers(
  containers: Container[],
  options: ListOptions,
  context: ListContext,
): Promise<Container[]> {
  const { filters } = options;
  validate(filters);
  const all = options.all || options.limit > 0 || filters.has('status') || filters.has('exited');
  const before = filters.get('before')?.map((term) => createdNanos(context.lookup(term)));
  const since = filters.get('since')?.map((term) => createdNanos(context.lookup(term)));
  const ancestors = new Set<string>();
  for (const value of filters.get('ancestor') ?? []) {
    for (const id of await context.ancestorImageIds(value)) ancestors.add(id);
  }

  const selected: Container[] = [];
  for (const container of [...containers].sort(createdOrder)) {
    const status = statusOf(container.State);
    if (!all && !container.State.Running) continue;
    const name = container.Name.slice(1);
    const f = (key: string): string[] | undefined => filters.get(key);
    if (f('id') && !matchesAny(f('id')!, container.ID)) continue;
    if (f('name') && !matchesAny(f('name')!, name) && !matchesAny(f('name')!, container.Name)) continue;
    if (f('label') && !labelsMatch(f('label')!, container.Config.Labels ?? {})) continue;
    if (f('status') && !f('status')!.includes(status)) continue;
    if (f('exited')) {
      if (status !== 'exited' || !f('exited')!.map(Number).includes(container.State.ExitCode)) continue;
    }
    if (f('health') && !f('health')!.includes(context.health(container))) continue;
    if (f('is-task') && f('is-task')!.includes('true')) continue;
    if (f('ancestor')) {
      const imageName = container.Config.Image ?? '';
      if (!ancestors.has(container.Image) && !f('ancestor')!.includes(imageName)) continue;
    }
    if (before && before.some((created) => createdNanos(container) >= created)) continue;
    if (since && since.some((created) => createdNanos(container) <= created)) continue;
    if (f('network')) {
      const network = networkNameOf(container.HostConfig) ?? '';
      if (!f('network')!.includes(network)) continue;
    }
    if (f('volume')) {
      const destinations = Object.keys(container.Config.Volumes ?? {});
      const binds = (container.HostConfig.Binds ?? []).flatMap((bind) => bind.split(':').slice(0, 2));
      if (!f('volume')!.some((v) => destinations.includes(v) || binds.includes(v))) continue;
    }
    if (f('expose') && !portsMatch(f('expose')!, Object.keys(container.Config.ExposedPorts ?? {}))) continue;
    if (f('publish') && !portsMatch(f('publish')!, Object.keys(container.HostConfig.PortBindings ?? {})))
      continue;
    selected.push(container);
    if (options.limit > 0 && selected.length >= options.limit) break;
  }
  return selected;
}
