import { Command } from 'commander';
import type { ExecConfig, ExecInspect } from '../../../types/container.js';
import { parseDetachKeys } from '../../../engine/containers/detach-keys.js';
import { DaemonError } from '../../client/api-client.js';
import { CliError, ExitStatus, type CliContext } from '../../context.js';
import { envEntries, readKeyValueFile } from './create-options.js';
import { copyOutput, followTerminalSize, forwardStdin } from './stdio.js';

interface ExecFlags {
  detach?: boolean;
  detachKeys?: string;
  env?: string[];
  envFile?: string[];
  interactive?: boolean;
  privileged?: boolean;
  tty?: boolean;
  user?: string;
  workdir?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The exec's configuration from the command line, as the docker CLI builds it. */
export function execConfig(flags: ExecFlags, command: string[]): ExecConfig {
  const detach = flags.detach === true;
  const config: ExecConfig = {
    User: flags.user ?? '',
    Privileged: flags.privileged === true,
    Tty: flags.tty === true,
    AttachStdin: flags.interactive === true && !detach,
    AttachStdout: !detach,
    AttachStderr: !detach,
    DetachKeys: flags.detachKeys ?? '',
    Env: [
      ...(flags.envFile ?? []).flatMap((f) => readKeyValueFile(f, 'env')),
      ...envEntries(flags.env ?? []),
    ],
    WorkingDir: flags.workdir ?? '',
    Cmd: command,
  };
  if (config.Tty && process.stdout.isTTY) config.ConsoleSize = [process.stdout.rows, process.stdout.columns];
  return config;
}

export function execCommand(ctx: CliContext): Command {
  return new Command('exec')
    .description('Execute a command in a running container')
    .usage('[OPTIONS] CONTAINER COMMAND [ARG...]')
    .argument('<container>')
    .argument('<command...>')
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('--privileged', 'Give extended privileges to the command')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .passThroughOptions()
    .action(async (container: string, command: string[], flags: ExecFlags) => {
      const config = execConfig(flags, command);
      if (config.Tty && config.AttachStdin && !process.stdin.isTTY)
        throw new CliError('the input device is not a TTY');
      const detachKeys = parseDetachKeys(flags.detachKeys);
      const api = ctx.client();
      const { Id } = await api.json<{ Id: string }>(
        'POST',
        `/containers/${encodeURIComponent(container)}/exec`,
        {
          body: config,
        },
      );
      const startBody = { Detach: flags.detach === true, Tty: config.Tty, ConsoleSize: config.ConsoleSize };
      if (flags.detach) {
        const res = await api.request('POST', `/exec/${Id}/start`, { body: startBody });
        res.body.resume();
        return;
      }
      const { socket, head } = await api.hijack('POST', `/exec/${Id}/start`, { body: startBody });
      const output = copyOutput(socket, { tty: config.Tty === true, stdout: ctx.out, stderr: ctx.err, head });
      let detached = false;
      const stopStdin = config.AttachStdin
        ? forwardStdin(socket, process.stdin, config.Tty === true, {
            keys: detachKeys,
            onDetach: () => {
              detached = true;
              socket.destroy();
            },
          })
        : () => undefined;
      const stopResize = config.Tty
        ? followTerminalSize((h, w) =>
            api.request('POST', `/exec/${Id}/resize`, { query: { h, w } }).then((r) => r.body.resume()),
          )
        : () => undefined;
      try {
        await output;
      } finally {
        stopResize();
        stopStdin();
      }
      if (detached) return;
      let status: ExecInspect;
      try {
        status = await api.json<ExecInspect>('GET', `/exec/${Id}/json`);
      } catch (err) {
        if (err instanceof DaemonError) throw new CliError(`Error response from daemon: ${err.message}`);
        throw err;
      }
      if (status.ExitCode) throw new ExitStatus(status.ExitCode);
    });
}
