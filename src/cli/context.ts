import type { Writable } from 'node:stream';
import { ApiClient } from './client/api-client.js';
import { resolveConnection, type GlobalOptions } from './client/connection.js';

/** What every command gets: lazily connected client, output streams and the global options. */
export class CliContext {
  private apiClient?: ApiClient;

  constructor(
    readonly globals: () => GlobalOptions,
    readonly out: NodeJS.WriteStream | Writable = process.stdout,
    readonly err: NodeJS.WriteStream | Writable = process.stderr,
  ) {}

  client(): ApiClient {
    this.apiClient ??= new ApiClient(resolveConnection(this.globals()));
    return this.apiClient;
  }

  close(): void {
    this.apiClient?.close();
  }

  write(text: string): void {
    this.out.write(text);
  }
}

/** A failure that should end the CLI with a given exit status after printing its message. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Ends the CLI with a status and no message (e.g. a container's exit code). */
export class ExitStatus extends Error {
  constructor(readonly exitCode: number) {
    super(`exit status ${exitCode}`);
  }
}
