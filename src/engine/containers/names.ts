/**
 * Container IDs and names: Docker's random 64-hex IDs, its name rules and
 * messages, generated `adjective_surname` names, and the lookup order
 * (full ID, name, unique ID prefix).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { conflict, invalidParameter, notFound } from '../../common/errors.js';

const NAME_PATTERN = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** A random 64-hex ID whose 12-character short form is never all digits (it would read as a number). */
export function generateId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d+$/.test(id.slice(0, 12))) return id;
  }
}

/** Validates a requested name and returns it with Docker's leading slash. */
export function normalizeName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw invalidParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.startsWith('/') ? name : `/${name}`;
}

// Written for berth: moods and qualities, and people who shaped science and computing.
// prettier-ignore
const ADJECTIVES = [
  'agile', 'amber', 'ardent', 'bold', 'brave', 'bright', 'brisk', 'calm', 'candid', 'clever',
  'cosmic', 'crisp', 'curious', 'daring', 'dreamy', 'eager', 'earnest', 'electric', 'elegant', 'epic',
  'fearless', 'fervent', 'festive', 'frosty', 'gallant', 'gentle', 'gifted', 'glad', 'golden', 'graceful',
  'happy', 'hardy', 'hopeful', 'humble', 'jolly', 'jovial', 'keen', 'kind', 'lively', 'loyal',
  'lucid', 'lucky', 'mellow', 'merry', 'mighty', 'modest', 'nimble', 'noble', 'patient', 'peaceful',
  'plucky', 'polite', 'quick', 'quiet', 'radiant', 'rapid', 'serene', 'sharp', 'shiny', 'silent',
  'sincere', 'snappy', 'soft', 'spry', 'steady', 'stoic', 'sunny', 'swift', 'tender', 'thrifty',
  'tidy', 'tranquil', 'trusty', 'upbeat', 'valiant', 'vibrant', 'vivid', 'warm', 'wise', 'witty',
  'zealous', 'zesty',
];

// prettier-ignore
const SURNAMES = [
  'agnesi', 'alhazen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bernoulli', 'bohr', 'boole', 'born',
  'cantor', 'carson', 'cauchy', 'cerf', 'chandrasekhar', 'conway', 'copernicus', 'curie', 'darwin', 'dijkstra',
  'dirac', 'euclid', 'euler', 'faraday', 'fermat', 'fermi', 'feynman', 'fibonacci', 'fourier', 'franklin',
  'galileo', 'galois', 'gauss', 'germain', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hertz', 'hilbert',
  'hodgkin', 'hopper', 'hubble', 'huygens', 'hypatia', 'jackson', 'johnson', 'joule', 'kepler', 'knuth',
  'lamarr', 'lamport', 'laplace', 'leibniz', 'lovelace', 'maxwell', 'meitner', 'mendel', 'minsky', 'napier',
  'newton', 'noether', 'pascal', 'pasteur', 'pauli', 'planck', 'poincare', 'ramanujan', 'riemann', 'ritchie',
  'rutherford', 'sagan', 'shannon', 'somerville', 'tesla', 'thompson', 'torvalds', 'turing', 'volta', 'wiles',
  'wright', 'yalow',
];

const pick = <T>(list: readonly T[]): T => list[randomInt(list.length)];

/** A name like `gentle_lovelace`; after a few collisions a digit is appended, as Docker does. */
export function generateName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    let name = `${pick(ADJECTIVES)}_${pick(SURNAMES)}`;
    if (attempt >= 10) name += String(randomInt(10));
    if (!taken(`/${name}`)) return name;
  }
}

/**
 * Names to IDs, and IDs for prefix lookup. Names are reserved before a
 * container is written so two creates cannot both take one.
 */
export class NameRegistry {
  private readonly byName = new Map<string, string>();

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): string | undefined {
    return this.byName.get(name);
  }

  /** Reserves `name` (with slash) for `id`; Docker's 409 when another container holds it. */
  reserve(name: string, id: string): void {
    const holder = this.byName.get(name);
    if (holder !== undefined && holder !== id) {
      throw conflict(
        `Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    this.byName.set(name, id);
  }

  release(name: string, id?: string): void {
    if (id === undefined || this.byName.get(name) === id) this.byName.delete(name);
  }
}

/**
 * Finds a container the way Docker's GetContainer does: exact ID, then
 * name, then a unique ID prefix. An ambiguous prefix is refused.
 */
export function lookupId(term: string, ids: Iterable<string>, names: NameRegistry): string {
  if (term === '') throw notFound('No such container: ');
  const all = [...ids];
  if (/^[0-9a-f]{64}$/.test(term) && all.includes(term)) return term;
  const named = names.get(term.startsWith('/') ? term : `/${term}`);
  if (named !== undefined) return named;
  if (/^[0-9a-f]+$/i.test(term)) {
    const lower = term.toLowerCase();
    const matches = all.filter((id) => id.startsWith(lower));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw invalidParameter(`multiple IDs found with provided prefix: ${term}`);
  }
  throw notFound(`No such container: ${term}`);
}
