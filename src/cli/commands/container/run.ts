import { Command } from 'commander';
import type { Duplex } from 'node:stream';
import type { ContainerWaitResponse } from '../../../types/container.js';
import { DaemonError, type ApiClient } from '../../client/api-client.js';
import { CliError, ExitStatus, type CliContext } from '../../context.js';
import { createContainer, readJsonBody, startErrorStatus } from './common.js';
import {
  addCreateFlags,
  attachChoice,
  createRequest,
  pullPolicy,
  type AttachChoice,
  type CreateFlags,
} from './create-options.js';
import { parseDetachKeys } from '../../../engine/containers/detach-keys.js';
import { copyOutput, followTerminalSize, forwardStdin } from './stdio.js';

interface RunFlags extends CreateFlags {
  detach?: boolean;
  detachKeys?: string;
  sigProxy?: boolean;
}

/** docker's way of failing a run: the daemon's words, a hint, and a status of 125 unless told. */
function runError(err: unknown, status = 125): CliError {
  const text =
    err instanceof DaemonError ? `Error response from daemon: ${err.message}` : (err as Error).message;
  return new CliError(`berth: ${text}\n\nRun 'berth run --help' for more information`, status);
}

const PROXIED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Forwards signals the CLI receives to the container (--sig-proxy, non-TTY). */
export function proxySignals(api: ApiClient, id: string): () => void {
  const handlers = PROXIED_SIGNALS.map((signal) => {
    const handler = (): void => {
      void api.request('POST', `/containers/${id}/kill`, { query: { signal } }).then(
        (r) => r.body.resume(),
        () => undefined,
      );
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  return () => handlers.forEach((off) => off());
}

/** Attach, wait, start, stream until the container's output ends, return its exit status. */
export async function attachAndStart(
  ctx: CliContext,
  id: string,
  options: {
    attach: AttachChoice;
    tty: boolean;
    waitCondition: 'next-exit' | 'removed';
    sigProxy: boolean;
    detachKeys?: string;
  },
): Promise<number> {
  const api = ctx.client();
  const { attach } = options;
  let stream: { socket: Duplex; head: Buffer } | undefined;
  if (attach.stdin || attach.stdout || attach.stderr) {
    stream = await api.hijack('POST', `/containers/${id}/attach`, {
      query: {
        stream: true,
        stdin: attach.stdin,
        stdout: attach.stdout,
        stderr: attach.stderr,
        detachKeys: options.detachKeys,
      },
    });
  }
  // Read output from the start: a container that exits at once may close the stream before start() returns.
  const output = stream
    ? copyOutput(stream.socket, { tty: options.tty, stdout: ctx.out, stderr: ctx.err, head: stream.head })
    : Promise.resolve();
  const waiting = api.raw('POST', `/containers/${id}/wait`, { query: { condition: options.waitCondition } });
  const waitResponse = await waiting;
  if (waitResponse.status >= 400) {
    stream?.socket.destroy();
    throw runError(
      new DaemonError(
        waitResponse.status,
        (await readJsonBody<{ message: string }>(waitResponse.body)).message,
      ),
    );
  }
  try {
    const started = await api.raw('POST', `/containers/${id}/start`);
    if (started.status >= 400) {
      const { message } = await readJsonBody<{ message: string }>(started.body);
      throw new DaemonError(started.status, message);
    }
    started.body.resume();
  } catch (err) {
    stream?.socket.destroy();
    waitResponse.body.destroy();
    throw runError(err, err instanceof DaemonError ? startErrorStatus(err.message) : 125);
  }
  const stopProxy = options.sigProxy && !options.tty ? proxySignals(api, id) : () => undefined;
  let stopStdin = (): void => undefined;
  let stopResize = (): void => undefined;
  let detached = false;
  try {
    if (stream) {
      const socket = stream.socket;
      if (attach.stdin) {
        stopStdin = forwardStdin(socket, process.stdin, options.tty, {
          keys: parseDetachKeys(options.detachKeys),
          onDetach: () => {
            detached = true;
            socket.destroy();
          },
        });
      }
      if (options.tty) {
        stopResize = followTerminalSize((h, w) =>
          api.request('POST', `/containers/${id}/resize`, { query: { h, w } }).then((r) => r.body.resume()),
        );
      }
    }
    await output;
    if (detached) {
      // The container goes on; docker run ends as if nothing happened.
      waitResponse.body.destroy();
      return 0;
    }
    const status = await readJsonBody<ContainerWaitResponse>(waitResponse.body);
    if (status.Error?.Message) ctx.err.write(`${status.Error.Message}\n`);
    return status.StatusCode;
  } finally {
    stopResize();
    stopStdin();
    stopProxy();
  }
}

export function runCommand(ctx: CliContext): Command {
  const command = new Command('run')
    .description('Create and run a new container from an image')
    .usage('[OPTIONS] IMAGE [COMMAND] [ARG...]')
    .argument('<image>')
    .argument('[command...]')
    .option('-d, --detach', 'Run container in background and print container ID')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--sig-proxy', 'Proxy received signals to the process', true)
    .passThroughOptions();
  addCreateFlags(command);
  return command.action(async (image: string, args: string[], flags: RunFlags) => {
    const detach = flags.detach === true;
    const attach = attachChoice(flags, detach);
    if (flags.tty && attach.stdin && !process.stdin.isTTY)
      throw new CliError('the input device is not a TTY');
    parseDetachKeys(flags.detachKeys);
    const request = createRequest(flags, image, args, attach);
    if (detach) request.StdinOnce = false;
    let id: string;
    try {
      id = await createContainer(ctx, request, {
        name: flags.name,
        platform: flags.platform,
        pull: pullPolicy(flags.pull),
        quiet: flags.quiet,
        cidfile: flags.cidfile,
      });
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw runError(err);
    }
    if (detach) {
      try {
        const res = await ctx.client().request('POST', `/containers/${id}/start`);
        res.body.resume();
      } catch (err) {
        throw runError(err, err instanceof DaemonError ? startErrorStatus(err.message) : 125);
      }
      ctx.write(`${id}\n`);
      return;
    }
    const status = await attachAndStart(ctx, id, {
      attach,
      tty: flags.tty === true,
      waitCondition: flags.rm ? 'removed' : 'next-exit',
      sigProxy: flags.sigProxy !== false,
      detachKeys: flags.detachKeys,
    });
    if (status !== 0) throw new ExitStatus(status);
  });
}
