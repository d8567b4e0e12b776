import { invalidParameter } from '../../common/errors.js';
import type { EventFilters, EventMessage } from './types.js';

export const EVENT_FILTER_KEYS = [
  'type',
  'event',
  'container',
  'image',
  'label',
  'network',
  'volume',
  'daemon',
  'scope',
  'plugin',
  'node',
  'service',
  'secret',
  'config',
] as const;

export function validateEventFilters(filters: EventFilters): void {
  for (const key of filters.keys()) {
    if (!(EVENT_FILTER_KEYS as readonly string[]).includes(key))
      throw invalidParameter(`invalid filter '${key}'`);
  }
}

function actorMatches(event: EventMessage, type: string, wanted: string[] | undefined): boolean {
  if (!wanted || wanted.length === 0) return true;
  if (event.Type !== type) return false;
  const name = event.Actor.Attributes.name ?? '';
  return wanted.some(
    (w) => w === event.Actor.ID || w === name || (w.length >= 1 && event.Actor.ID.startsWith(w)),
  );
}

function imageMatches(event: EventMessage, wanted: string[] | undefined): boolean {
  if (!wanted || wanted.length === 0) return true;
  const image = event.Actor.Attributes.image ?? (event.Type === 'image' ? event.Actor.ID : '');
  const names = [image, event.Actor.Attributes.name ?? ''].filter(Boolean);
  return wanted.some((w) => names.some((n) => n === w || n.split('@')[0] === w || n.startsWith(w + ':')));
}

function labelMatches(event: EventMessage, wanted: string[] | undefined): boolean {
  if (!wanted || wanted.length === 0) return true;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    const key = eq >= 0 ? w.slice(0, eq) : w;
    const value = event.Actor.Attributes[key];
    return value !== undefined && (eq < 0 || value === w.slice(eq + 1));
  });
}

function anyOf(wanted: string[] | undefined, value: string): boolean {
  return !wanted || wanted.length === 0 || wanted.includes(value);
}

/**
 * Docker's event filter semantics: values of one key are OR'ed, keys are
 * AND'ed; container/network/volume filters apply to events of that type.
 */
export function eventMatches(event: EventMessage, filters: EventFilters): boolean {
  const actionBase = event.Action.split(':')[0];
  return (
    anyOf(filters.get('type'), event.Type) &&
    (anyOf(filters.get('event'), event.Action) || anyOf(filters.get('event'), actionBase)) &&
    anyOf(filters.get('scope'), event.scope) &&
    actorMatches(event, 'container', filters.get('container')) &&
    actorMatches(event, 'network', filters.get('network')) &&
    actorMatches(event, 'volume', filters.get('volume')) &&
    actorMatches(event, 'daemon', filters.get('daemon')) &&
    imageMatches(event, filters.get('image')) &&
    labelMatches(event, filters.get('label'))
  );
}
