import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCommandOptions {
  /** Written to the command's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to its end and collects its output; rejects only when it cannot be started. */
export function runCommand(
  command: string,
  args: string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const { input, env } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) {
      // A command that exits without reading its input must not fail the run with EPIPE.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}
