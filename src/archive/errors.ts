import { EngineError, invalidParameter, notFound, systemError } from '../common/errors.js';

/** A path (as the container sees it) that does not exist; the container service words it with the container's name. */
export class PathNotFoundError extends EngineError {
  constructor(readonly containerPath: string) {
    super('NotFound', `no such file or directory: ${containerPath}`);
  }
}

/** Docker's wording for a missing path in a container's filesystem. */
export function containerFileNotFound(containerPath: string, container: string): EngineError {
  return notFound(`Could not find the file ${containerPath} in container ${container}`);
}

export const extractPointNotDirectory = (): EngineError =>
  invalidParameter('extraction point is not a directory');
export const rootfsReadOnly = (): EngineError => invalidParameter('container rootfs is marked read-only');
export const volumeReadOnly = (): EngineError => invalidParameter('mounted volume is marked read-only');

/** A tar entry that would land (or point) outside the extraction directory: refused, as Docker refuses it. */
export const breakout = (message: string): EngineError =>
  invalidParameter(`archive entry refused: ${message}`);

/** Maps errno failures met while walking a container path to engine errors with the container's view of the path. */
export function pathError(err: unknown, containerPath: string): Error {
  if (err instanceof EngineError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new PathNotFoundError(containerPath);
    case 'ELOOP':
      return invalidParameter(`${containerPath}: too many levels of symbolic links`);
    case 'ENOTDIR':
      return invalidParameter(`${containerPath}: not a directory`);
    case 'EXDEV':
      return invalidParameter(`${containerPath}: ${(err as Error).message}`);
    default:
      return systemError(`${containerPath}: ${(err as Error).message}`, err);
  }
}

export function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}
