/**
 * Engine errors carry a kind, never an HTTP status: the API layer maps kinds to
 * statuses (moby's errdefs), so engine code stays free of HTTP.
 */
export type ErrorKind =
  | 'NotFound'
  | 'Conflict'
  | 'InvalidParameter'
  | 'NotModified'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Unavailable'
  | 'NotImplemented'
  | 'System';

export class EngineError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = `${kind}Error`;
  }
}

export const notFound = (message: string): EngineError => new EngineError('NotFound', message);
export const conflict = (message: string): EngineError => new EngineError('Conflict', message);
export const invalidParameter = (message: string): EngineError =>
  new EngineError('InvalidParameter', message);
export const notModified = (message = ''): EngineError => new EngineError('NotModified', message);
export const forbidden = (message: string): EngineError => new EngineError('Forbidden', message);
export const unauthorized = (message: string): EngineError => new EngineError('Unauthorized', message);
export const unavailable = (message: string): EngineError => new EngineError('Unavailable', message);
export const notImplemented = (message: string): EngineError => new EngineError('NotImplemented', message);
export const systemError = (message: string, cause?: unknown): EngineError =>
  new EngineError('System', message, { cause });

export function isEngineError(err: unknown, kind?: ErrorKind): err is EngineError {
  return err instanceof EngineError && (kind === undefined || err.kind === kind);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
