/** gRPC status errors from containerd, mapped to berth's engine error kinds. */
import { status as Status } from '@grpc/grpc-js';
import { EngineError, type ErrorKind } from '../common/errors.js';

export { Status };

interface GrpcStatusError extends Error {
  code: number;
  details?: string;
}

function isGrpcStatusError(err: unknown): err is GrpcStatusError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number';
}

const KIND_BY_STATUS: Partial<Record<number, ErrorKind>> = {
  [Status.NOT_FOUND]: 'NotFound',
  [Status.ALREADY_EXISTS]: 'Conflict',
  [Status.INVALID_ARGUMENT]: 'InvalidParameter',
  [Status.FAILED_PRECONDITION]: 'Conflict',
  [Status.UNAVAILABLE]: 'Unavailable',
};

/**
 * The gRPC status code of `err`, or of the gRPC error it wraps (an
 * EngineError made by toEngineError keeps it as `cause`); undefined otherwise.
 */
export function grpcCode(err: unknown): number | undefined {
  if (err instanceof EngineError) return grpcCode(err.cause);
  return isGrpcStatusError(err) ? err.code : undefined;
}

export function isGrpcCode(err: unknown, code: Status): boolean {
  return grpcCode(err) === code;
}

/**
 * An EngineError carrying containerd's own message (the gRPC status details)
 * and the original error as cause. EngineErrors pass through unchanged.
 */
export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (!isGrpcStatusError(err)) {
    return new EngineError('System', err instanceof Error ? err.message : String(err), { cause: err });
  }
  const kind = KIND_BY_STATUS[err.code] ?? 'System';
  const message = err.details || err.message || `containerd: ${Status[err.code] ?? err.code}`;
  return new EngineError(kind, message, { cause: err });
}
