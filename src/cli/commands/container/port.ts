import { Command } from 'commander';
import { isIP } from 'node:net';
import type { ContainerInspect } from '../../../types/container.js';
import { CliError, type CliContext } from '../../context.js';

/** Go's net.JoinHostPort: IPv6 addresses in brackets. */
const joinHostPort = (host: string, port: string): string =>
  isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;

/** Go's sortorder.NaturalLess: digit runs compare as numbers. */
function naturalLess(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports, read from inspect. */
export function portCommand(ctx: CliContext): Command {
  return new Command('port')
    .description('List port mappings or a specific mapping for the container')
    .usage('CONTAINER [PRIVATE_PORT[/PROTO]]')
    .argument('<container>')
    .argument('[port]')
    .action(async (container: string, port: string | undefined) => {
      const c = await ctx
        .client()
        .json<ContainerInspect>('GET', `/containers/${encodeURIComponent(container)}/json`);
      const ports = c.NetworkSettings?.Ports ?? {};
      const lines: string[] = [];
      if (port !== undefined) {
        const [number, proto = 'tcp'] = port.split('/');
        const key = `${number}/${proto}`;
        const bindings = ports[key];
        if (!bindings) throw new CliError(`Error: No public port '${key}' published for ${container}`);
        for (const b of bindings) lines.push(joinHostPort(b.HostIp ?? '', b.HostPort ?? ''));
      } else {
        for (const [key, bindings] of Object.entries(ports)) {
          for (const b of bindings ?? [])
            lines.push(`${key} -> ${joinHostPort(b.HostIp ?? '', b.HostPort ?? '')}`);
        }
      }
      if (lines.length > 0) ctx.write(lines.sort(naturalLess).join('\n') + '\n');
    });
}
