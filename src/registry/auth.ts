/**
 * Registry authentication as Docker does it: WWW-Authenticate challenges,
 * Basic credentials, Bearer tokens from the realm (GET with Basic, or the
 * OAuth2 POST when an identity token is held), cached per scope until they
 * expire, and `docker login`'s check against /v2/.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { EngineError, errorMessage, unauthorized } from '../common/errors.js';
import { log } from '../common/log.js';
import type { AuthConfig } from '../types/system.js';
import { discard, headerValues, methodWord, readBody, type HttpTransport } from './transport.js';

/** The X-Registry-Auth JSON shape: identity tokens are OAuth2 refresh tokens, registry tokens Bearer tokens sent as is. */
export type RegistryCredentials = AuthConfig;

export interface Challenge {
  /** Lower-cased scheme: "basic", "bearer". */
  scheme: string;
  /** Parameters with lower-cased names. */
  params: Record<string, string>;
}

/** Docker's OAuth client id, sent with token requests. */
export const AUTH_CLIENT_ID = 'docker';
/** Tokens living shorter than this are treated as living this long, like Docker. */
const MINIMUM_TOKEN_LIFETIME_S = 60;
/** Renew tokens this long before they expire, so none expires in flight. */
const TOKEN_RENEWAL_MARGIN_MS = 10_000;

const TOKEN_CHARS = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses one or more WWW-Authenticate header values (RFC 7235): each holds
 * one or more `scheme param=value, param="quoted, value"` challenges.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  return values.flatMap(parseChallengeValue);
}

function parseChallengeValue(value: string): Challenge[] {
  const challenges: Challenge[] = [];
  let pos = 0;
  const skip = (pattern: RegExp): void => {
    while (pos < value.length && pattern.test(value[pos])) pos++;
  };
  const token = (): string => {
    const start = pos;
    while (pos < value.length && TOKEN_CHARS.test(value[pos])) pos++;
    return value.slice(start, pos);
  };
  const quoted = (): string => {
    let out = '';
    pos++; // opening quote
    while (pos < value.length && value[pos] !== '"') {
      if (value[pos] === '\\' && pos + 1 < value.length) pos++;
      out += value[pos++];
    }
    pos++; // closing quote
    return out;
  };
  /** Whether the text at pos is `name =`, i.e. a parameter rather than a new scheme. */
  const atParam = (): boolean => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\s*=/.test(value.slice(pos));

  while (pos < value.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === '') {
      pos++; // not a token character: skip it rather than loop forever
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      if (pos >= value.length || !atParam()) break;
      const name = token().toLowerCase();
      skip(/\s/);
      pos++; // '='
      skip(/\s/);
      challenge.params[name] = value[pos] === '"' ? quoted() : token();
    }
  }
  return challenges;
}

export function findChallenge(challenges: Challenge[], scheme: string): Challenge | undefined {
  return challenges.find((c) => c.scheme === scheme);
}

/** Username and password from explicit fields or from the base64 `auth` field. */
export function basicCredentials(
  creds: RegistryCredentials | undefined,
): { username: string; password: string } | undefined {
  if (creds === undefined) return undefined;
  if (creds.username) return { username: creds.username, password: creds.password ?? '' };
  if (creds.auth) {
    const decoded = Buffer.from(creds.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

export function basicAuthorization(username: string, password: string): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
}

export function hasCredentials(creds: RegistryCredentials | undefined): boolean {
  return (
    basicCredentials(creds) !== undefined || Boolean(creds?.identitytoken) || Boolean(creds?.registrytoken)
  );
}

/** Scope strings for a repository, e.g. repository:library/busybox:pull,push. */
export function repositoryScope(path: string, actions: ('pull' | 'push' | 'delete' | '*')[]): string {
  return `repository:${path}:${actions.join(',')}`;
}

export interface TokenRequest {
  realm: string;
  service?: string;
  scopes: string[];
  credentials?: RegistryCredentials;
  /** Ask for a refresh token (docker login does, to return it as IdentityToken). */
  offline?: boolean;
  insecureTls?: boolean;
  signal?: AbortSignal;
}

export interface Token {
  token: string;
  /** Epoch milliseconds after which the token must not be used. */
  expiresAt: number;
  refreshToken?: string;
}

interface TokenResponseBody {
  token?: string;
  access_token?: string;
  expires_in?: number;
  issued_at?: string;
  refresh_token?: string;
}

/** Fetches a bearer token from a token server (GET with Basic, or OAuth2 POST with a refresh token). */
export async function fetchToken(transport: HttpTransport, request: TokenRequest): Promise<Token> {
  const realm = new URL(request.realm);
  const useOAuth = Boolean(request.credentials?.identitytoken);
  const res = useOAuth
    ? await postOAuth(transport, realm, request)
    : await getToken(transport, realm, request);
  const body = await readBody(res, 1024 * 1024);
  if (res.statusCode !== 200) throw tokenError(res.statusCode ?? 0, body);
  let parsed: TokenResponseBody;
  try {
    parsed = JSON.parse(body.toString('utf8')) as TokenResponseBody;
  } catch (err) {
    throw new EngineError('System', `unable to decode token response: ${errorMessage(err)}`);
  }
  const token = parsed.token || parsed.access_token;
  if (!token) throw unauthorized('authorization server did not include a token in the response');
  const lifetime = Math.max(parsed.expires_in ?? MINIMUM_TOKEN_LIFETIME_S, MINIMUM_TOKEN_LIFETIME_S);
  const issued = parsed.issued_at ? Date.parse(parsed.issued_at) : NaN;
  const issuedAt = Number.isNaN(issued) ? Date.now() : issued;
  const result: Token = { token, expiresAt: issuedAt + lifetime * 1000 };
  if (parsed.refresh_token) result.refreshToken = parsed.refresh_token;
  return result;
}

function getToken(transport: HttpTransport, realm: URL, request: TokenRequest): Promise<IncomingMessage> {
  const url = new URL(realm);
  if (request.service) url.searchParams.set('service', request.service);
  for (const scope of request.scopes) url.searchParams.append('scope', scope);
  const headers: Record<string, string> = {};
  const basic = basicCredentials(request.credentials);
  if (basic) {
    headers.Authorization = basicAuthorization(basic.username, basic.password);
    url.searchParams.set('account', basic.username);
  }
  if (request.offline) {
    url.searchParams.set('offline_token', 'true');
    url.searchParams.set('client_id', AUTH_CLIENT_ID);
  }
  return transport.send({
    method: 'GET',
    url,
    headers,
    insecureTls: request.insecureTls,
    signal: request.signal,
    followRedirects: true,
  });
}

function postOAuth(transport: HttpTransport, realm: URL, request: TokenRequest): Promise<IncomingMessage> {
  const form = new URLSearchParams();
  form.set('grant_type', 'refresh_token');
  form.set('refresh_token', request.credentials?.identitytoken ?? '');
  form.set('client_id', AUTH_CLIENT_ID);
  if (request.service) form.set('service', request.service);
  if (request.scopes.length > 0) form.set('scope', request.scopes.join(' '));
  if (request.offline) form.set('access_type', 'offline');
  return transport.send({
    method: 'POST',
    url: realm,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: Buffer.from(form.toString()),
    insecureTls: request.insecureTls,
    signal: request.signal,
  });
}

/** Token-server failures in distribution's words: "unauthorized: incorrect username or password". */
function tokenError(status: number, body: Buffer): EngineError {
  let details = '';
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { details?: string; errors?: { message?: string }[] };
    details = parsed.details ?? parsed.errors?.[0]?.message ?? '';
  } catch {
    details = body.toString('utf8').trim().slice(0, 200);
  }
  if (status === 401) return unauthorized(`unauthorized: ${details || 'authentication required'}`);
  if (status === 403)
    return new EngineError('Forbidden', `denied: ${details || 'access to the resource is denied'}`);
  const kind = status >= 500 ? 'Unavailable' : 'System';
  return new EngineError(kind, `token server answered ${status}${details ? `: ${details}` : ''}`);
}

/** Tokens by (token server, service, scopes, account) until shortly before they expire. */
export class TokenCache {
  private readonly tokens = new Map<string, Token>();

  static key(
    realm: string,
    service: string | undefined,
    scopes: string[],
    creds: RegistryCredentials | undefined,
  ): string {
    // A token belongs to the exact credentials that earned it (a wrong password must not
    // reuse the token of a right one); secrets enter the key only hashed.
    const basic = basicCredentials(creds);
    const secret = JSON.stringify([basic?.username ?? '', basic?.password ?? '', creds?.identitytoken ?? '']);
    const who = createHash('sha256').update(secret).digest('hex');
    return JSON.stringify([realm, service ?? '', [...scopes].sort(), who]);
  }

  get(key: string, now = Date.now()): Token | undefined {
    const token = this.tokens.get(key);
    if (token === undefined) return undefined;
    if (token.expiresAt - TOKEN_RENEWAL_MARGIN_MS <= now) {
      this.tokens.delete(key);
      return undefined;
    }
    return token;
  }

  set(key: string, token: Token): void {
    this.tokens.set(key, token);
  }

  delete(key: string): void {
    this.tokens.delete(key);
  }

  clear(): void {
    this.tokens.clear();
  }
}

/** What an endpoint needs so Authorizer can answer its challenges. */
export interface AuthTarget {
  /** Origin of the endpoint (scheme://host:port): challenges are remembered per origin. */
  origin: string;
  insecureTls: boolean;
}

/**
 * Turns remembered challenges plus credentials into Authorization headers.
 * One instance serves every endpoint of a client.
 */
export class Authorizer {
  private readonly challenges = new Map<string, Challenge[]>();
  private readonly pending = new Map<string, Promise<Token>>();
  readonly tokens = new TokenCache();

  constructor(private readonly transport: HttpTransport) {}

  /** Remembers the challenges an endpoint sent (from /v2/ or a 401). */
  setChallenges(origin: string, challenges: Challenge[]): void {
    if (challenges.length > 0) this.challenges.set(origin, challenges);
  }

  challengesFor(origin: string): Challenge[] {
    return this.challenges.get(origin) ?? [];
  }

  /**
   * The Authorization header for a request to `target` needing `scopes`, or
   * undefined when the endpoint asked for nothing we can answer.
   */
  async authorization(
    target: AuthTarget,
    scopes: string[],
    creds: RegistryCredentials | undefined,
    options: { offline?: boolean; signal?: AbortSignal; onToken?: (token: Token) => void } = {},
  ): Promise<string | undefined> {
    if (creds?.registrytoken) return `Bearer ${creds.registrytoken}`;
    const challenges = this.challengesFor(target.origin);
    const bearer = findChallenge(challenges, 'bearer');
    if (bearer?.params.realm) {
      const wanted = mergeScopes(scopes, bearer.params.scope);
      const key = TokenCache.key(bearer.params.realm, bearer.params.service, wanted, creds);
      const cached = this.tokens.get(key);
      if (cached) return `Bearer ${cached.token}`;
      // Concurrent layer downloads share one token request rather than each sending their own.
      let pending = this.pending.get(key);
      if (pending === undefined) {
        pending = fetchToken(this.transport, {
          realm: bearer.params.realm,
          service: bearer.params.service,
          scopes: wanted,
          credentials: creds,
          offline: options.offline,
          insecureTls: target.insecureTls,
        });
        this.pending.set(key, pending);
        const settle = () => this.pending.delete(key);
        pending.then((token) => {
          settle();
          this.tokens.set(key, token);
          options.onToken?.(token);
        }, settle);
      }
      const token = await pending;
      return `Bearer ${token.token}`;
    }
    const basic = basicCredentials(creds);
    if (basic && findChallenge(challenges, 'basic'))
      return basicAuthorization(basic.username, basic.password);
    return undefined;
  }

  /**
   * Records the challenge of a 401 answer and forgets the token that earned
   * it. Returns whether asking again with fresh authorization may succeed.
   */
  rejected(
    target: AuthTarget,
    res: IncomingMessage,
    scopes: string[],
    creds: RegistryCredentials | undefined,
  ): boolean {
    const challenges = parseChallenges(headerValues(res.headers, 'www-authenticate'));
    const previous = this.challengesFor(target.origin);
    this.setChallenges(target.origin, challenges);
    const bearer = findChallenge(challenges, 'bearer');
    if (bearer?.params.realm) {
      const wanted = mergeScopes(scopes, bearer.params.scope);
      this.tokens.delete(TokenCache.key(bearer.params.realm, bearer.params.service, wanted, creds));
      return !creds?.registrytoken;
    }
    // Basic: only worth retrying if we did not know the endpoint wanted it.
    return (
      findChallenge(challenges, 'basic') !== undefined &&
      !findChallenge(previous, 'basic') &&
      hasCredentials(creds)
    );
  }
}

/** Adds the scopes a challenge names to the ones the caller wants, without duplicates. */
export function mergeScopes(scopes: string[], challengeScope: string | undefined): string[] {
  const merged = new Set(scopes);
  for (const scope of (challengeScope ?? '').split(' ')) if (scope) merged.add(scope);
  return [...merged];
}

export interface LoginResult {
  Status: string;
  IdentityToken?: string;
}

/** An endpoint `login` may try, in order: Docker tries HTTPS, then HTTP for insecure registries. */
export interface LoginEndpoint {
  /** Base URL of the v2 API, e.g. https://registry:5000/v2/. */
  url: URL;
  insecureTls: boolean;
}

/**
 * Checks credentials the way `docker login` does: a GET of /v2/ with them,
 * answering challenges on the way. Resolves with Docker's "Login Succeeded"
 * (and the refresh token the token server issued, if any); rejects with an
 * Unauthorized error when the registry refuses the credentials.
 */
export async function login(
  transport: HttpTransport,
  endpoints: LoginEndpoint[],
  creds: RegistryCredentials,
  options: { signal?: AbortSignal } = {},
): Promise<LoginResult> {
  let lastError: unknown = new EngineError('System', 'no endpoint to log in to');
  for (const endpoint of endpoints) {
    try {
      return await loginEndpoint(transport, endpoint, creds, options.signal);
    } catch (err) {
      // Refused credentials are an answer; only unreachable endpoints send us to the next one.
      if (err instanceof EngineError && err.kind === 'Unauthorized') throw err;
      log.debug('login endpoint failed, trying the next one', {
        url: String(endpoint.url),
        error: errorMessage(err),
      });
      lastError = err;
    }
  }
  throw lastError;
}

async function loginEndpoint(
  transport: HttpTransport,
  endpoint: LoginEndpoint,
  creds: RegistryCredentials,
  signal: AbortSignal | undefined,
): Promise<LoginResult> {
  const url = endpoint.url;
  const ping = await transport.send({ method: 'GET', url, insecureTls: endpoint.insecureTls, signal });
  discard(ping);
  if (ping.statusCode === 200) return { Status: 'Login Succeeded' };
  if (ping.statusCode !== 401) {
    throw new EngineError(
      'System',
      `login attempt to ${url} failed with status: ${ping.statusCode} ${ping.statusMessage ?? ''}`.trim(),
    );
  }
  const authorizer = new Authorizer(transport);
  const target = { origin: url.origin, insecureTls: endpoint.insecureTls };
  authorizer.setChallenges(target.origin, parseChallenges(headerValues(ping.headers, 'www-authenticate')));
  let identityToken: string | undefined;
  let authorization: string | undefined;
  try {
    authorization = await authorizer.authorization(target, [], creds, {
      offline: true,
      signal,
      onToken: (token) => (identityToken = token.refreshToken),
    });
  } catch (err) {
    if (err instanceof EngineError && err.kind === 'Unauthorized') {
      throw unauthorized(`${methodWord('GET')} "${url}": ${err.message}`);
    }
    throw err;
  }
  if (authorization === undefined)
    throw unauthorized(`${methodWord('GET')} "${url}": no basic auth credentials`);
  const res = await transport.send({
    method: 'GET',
    url,
    headers: { Authorization: authorization },
    insecureTls: endpoint.insecureTls,
    signal,
  });
  discard(res);
  if (res.statusCode === 200) {
    const result: LoginResult = { Status: 'Login Succeeded' };
    if (identityToken) result.IdentityToken = identityToken;
    return result;
  }
  const message =
    `login attempt to ${url} failed with status: ${res.statusCode} ${res.statusMessage ?? ''}`.trim();
  if (res.statusCode === 401 || res.statusCode === 403) throw unauthorized(message);
  throw new EngineError('System', message);
}
