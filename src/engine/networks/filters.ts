/**
 * dockerd's network filters for `GET /networks` and `POST /networks/prune`.
 * Values of one key are OR'ed (labels: AND'ed), keys are AND'ed; `name` and
 * `id` match as a substring or regular expression, like moby's Args.Match;
 * several `type` values are OR'ed as well (builtin and custom is every network).
 */
import { invalidParameter } from '../../common/errors.js';
import type { NetworkRecord } from '../../network/store.js';
import { parseTimestampFilter } from '../images/filters.js';
import { isPredefined } from './create.js';

export type Filters = Map<string, string[]>;

export const LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
export const PRUNE_FILTERS = ['label', 'label!', 'until'] as const;

export interface NetworkFilter {
  matches(network: NetworkRecord, inUse: boolean): boolean;
}

function validateKeys(filters: Filters, allowed: readonly string[]): void {
  for (const key of filters.keys()) {
    if (!allowed.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
  }
}

function match(values: readonly string[] | undefined, source: string): boolean {
  if (!values || values.length === 0) return true;
  return values.some((value) => {
    if (value === source) return true;
    try {
      return new RegExp(value).test(source);
    } catch {
      return false;
    }
  });
}

function exactMatch(values: readonly string[] | undefined, source: string): boolean {
  return !values || values.length === 0 || values.includes(source);
}

/** Every `key` or `key=value` must be a label of the network. */
export function labelsMatch(values: readonly string[] | undefined, labels: Record<string, string>): boolean {
  if (!values || values.length === 0) return true;
  return values.every((value) => {
    const eq = value.indexOf('=');
    const key = eq >= 0 ? value.slice(0, eq) : value;
    return key in labels && (eq < 0 || labels[key] === value.slice(eq + 1));
  });
}

function createdMs(network: NetworkRecord): number {
  return Date.parse(network.Created.replace(/\.(\d{3})\d*Z$/, '.$1Z'));
}

export function listFilter(filters: Filters): NetworkFilter {
  validateKeys(filters, LIST_FILTERS);
  const dangling = filters.get('dangling') ?? [];
  if (dangling.length > 1) throw invalidParameter('got more than one value for filter key "dangling"');
  let use: 'dangling' | 'used' | undefined;
  if (dangling.length === 1) {
    if (['1', 'true'].includes(dangling[0])) use = 'dangling';
    else if (['0', 'false'].includes(dangling[0])) use = 'used';
    else
      throw invalidParameter(
        'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")',
      );
  }
  const types = filters.get('type') ?? [];
  for (const type of types) {
    if (type !== 'builtin' && type !== 'custom') throw invalidParameter(`invalid filter: 'type'='${type}'`);
  }
  return {
    matches: (network, inUse) =>
      exactMatch(filters.get('driver'), network.Driver) &&
      match(filters.get('name'), network.Name) &&
      match(filters.get('id'), network.Id) &&
      labelsMatch(filters.get('label'), network.Labels) &&
      exactMatch(filters.get('scope'), network.Scope) &&
      (use === undefined || (use === 'dangling') === (!isPredefined(network.Name) && !inUse)) &&
      (types.length === 0 || types.some((type) => (type === 'builtin') === isPredefined(network.Name))),
  };
}

/** Prune removes unused user-defined networks matching the filters. */
export function pruneFilter(filters: Filters): NetworkFilter {
  validateKeys(filters, PRUNE_FILTERS);
  const untilValues = filters.get('until') ?? [];
  if (untilValues.length > 1) throw invalidParameter('more than one until filter specified');
  const until = untilValues.length === 1 ? parseTimestampFilter(untilValues[0]) : undefined;
  const notLabels = filters.get('label!') ?? [];
  return {
    matches: (network, inUse) =>
      !isPredefined(network.Name) &&
      !inUse &&
      labelsMatch(filters.get('label'), network.Labels) &&
      (notLabels.length === 0 || !labelsMatch(notLabels, network.Labels)) &&
      (until === undefined || createdMs(network) <= until),
  };
}
