import type { ErrorKind } from '../common/errors.js';
import { isEngineError } from '../common/errors.js';

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  NotFound: 404,
  Conflict: 409,
  InvalidParameter: 400,
  NotModified: 304,
  Forbidden: 403,
  Unauthorized: 401,
  Unavailable: 503,
  NotImplemented: 501,
  System: 500,
};

/** Maps an engine error to the HTTP status Docker uses for its kind. */
export function statusForError(err: unknown): number {
  return isEngineError(err) ? STATUS_BY_KIND[err.kind] : 500;
}
