import { Command } from 'commander';
import type { ContainerInspect } from '../../../types/container.js';
import { CliError, ExitStatus, type CliContext } from '../../context.js';
import { parseDetachKeys } from '../../../engine/containers/detach-keys.js';
import { proxySignals } from './run.js';
import { copyOutput, followTerminalSize, forwardStdin } from './stdio.js';

interface AttachFlags {
  detachKeys?: string;
  stdin?: boolean;
  sigProxy?: boolean;
}

export function attachCommand(ctx: CliContext): Command {
  return new Command('attach')
    .description('Attach local standard input, output, and error streams to a running container')
    .usage('[OPTIONS] CONTAINER')
    .argument('<container>')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--sig-proxy', 'Proxy all received signals to the process', true)
    .action(async (container: string, flags: AttachFlags) => {
      const api = ctx.client();
      const info = await api.json<ContainerInspect>(
        'GET',
        `/containers/${encodeURIComponent(container)}/json`,
      );
      if (!info.State?.Running)
        throw new CliError('You cannot attach to a stopped container, start it first');
      if (info.State.Paused) throw new CliError('You cannot attach to a paused container, unpause it first');
      if (info.State.Restarting)
        throw new CliError('You cannot attach to a restarting container, wait until it is running');
      const stdin = flags.stdin !== false && info.Config.OpenStdin === true;
      const tty = info.Config.Tty === true;
      const { socket, head } = await api.hijack('POST', `/containers/${info.Id}/attach`, {
        query: { stream: true, stdin, stdout: true, stderr: true, detachKeys: flags.detachKeys },
      });
      let detached = false;
      const stop = stdin
        ? forwardStdin(socket, process.stdin, tty, {
            keys: parseDetachKeys(flags.detachKeys),
            onDetach: () => {
              detached = true;
              socket.destroy();
            },
          })
        : () => undefined;
      const stopResize = tty
        ? followTerminalSize((h, w) =>
            api
              .request('POST', `/containers/${info.Id}/resize`, { query: { h, w } })
              .then((r) => r.body.resume()),
          )
        : () => undefined;
      const stopProxy = flags.sigProxy !== false && !tty ? proxySignals(api, info.Id) : () => undefined;
      try {
        await copyOutput(socket, { tty, stdout: ctx.out, stderr: ctx.err, head });
      } finally {
        stopProxy();
        stopResize();
        stop();
      }
      if (detached) return;
      const after = await api
        .json<ContainerInspect>('GET', `/containers/${info.Id}/json`)
        .catch(() => undefined);
      const code = after?.State?.Running ? 0 : (after?.State?.ExitCode ?? 0);
      if (code !== 0) throw new ExitStatus(code);
    });
}
