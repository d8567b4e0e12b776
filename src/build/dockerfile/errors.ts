import { EngineError } from '../../common/errors.js';

/**
 * A Dockerfile that cannot be parsed or dispatched. The message is Docker's:
 * `dockerfile parse error on line 3: unknown instruction: FOO`. `reason` keeps
 * the bare cause for callers that format their own message.
 */
export class DockerfileError extends EngineError {
  readonly reason: string;
  readonly line: number | undefined;
  readonly endLine: number | undefined;

  constructor(reason: string, line?: number, endLine?: number) {
    super(
      'InvalidParameter',
      line === undefined ? reason : `dockerfile parse error on line ${line}: ${reason}`,
    );
    this.name = 'DockerfileError';
    this.reason = reason;
    this.line = line;
    this.endLine = endLine ?? line;
  }
}

/** Runs `fn`, attaching a line to any plain error it throws. */
export function atLine<T>(line: number, endLine: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DockerfileError && err.line !== undefined) throw err;
    const reason =
      err instanceof DockerfileError ? err.reason : err instanceof Error ? err.message : String(err);
    throw new DockerfileError(reason, line, endLine);
  }
}
