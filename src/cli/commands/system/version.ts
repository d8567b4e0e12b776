import { Command } from 'commander';
import { ENGINE_VERSION, goArch } from '../../../common/version.js';
import { MAX_API_VERSION } from '../../../api/version.js';
import type { CliContext } from '../../context.js';
import { renderTemplate } from '../../output.js';

interface ServerVersion {
  Platform?: { Name: string };
  Components?: { Name: string; Version: string; Details?: Record<string, string> }[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
}

export function printShortVersion(ctx: CliContext): void {
  ctx.write(`berth version ${ENGINE_VERSION}, build berth\n`);
}

function clientVersion(apiVersion: string): Record<string, string> {
  return {
    Platform: 'berth',
    Version: ENGINE_VERSION,
    ApiVersion: apiVersion,
    DefaultAPIVersion: MAX_API_VERSION,
    GoVersion: `node${process.versions.node}`,
    GitCommit: 'berth',
    BuildTime: '',
    Os: 'linux',
    Arch: goArch(),
    Context: 'default',
  };
}

/** docker version's layout: labels padded to a 20-column tab stop. */
function row(indent: string, label: string, value: string): string {
  return `${indent}${`${label}:`.padEnd(20 - indent.length)}${value}\n`;
}

function printClient(ctx: CliContext, client: Record<string, string>): void {
  ctx.write('Client:\n');
  ctx.write(row(' ', 'Version', client.Version));
  const downgraded =
    client.ApiVersion !== client.DefaultAPIVersion ? ` (downgraded from ${client.DefaultAPIVersion})` : '';
  ctx.write(row(' ', 'API version', client.ApiVersion + downgraded));
  ctx.write(row(' ', 'Go version', client.GoVersion));
  ctx.write(row(' ', 'Git commit', client.GitCommit));
  ctx.write(row(' ', 'Built', client.BuildTime));
  ctx.write(row(' ', 'OS/Arch', `${client.Os}/${client.Arch}`));
  ctx.write(row(' ', 'Context', client.Context));
}

function printServer(ctx: CliContext, server: ServerVersion): void {
  ctx.write(`\nServer:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}\n`);
  for (const component of server.Components ?? []) {
    const details = component.Details ?? {};
    ctx.write(` ${component.Name}:\n`);
    if (component.Name === 'Engine') {
      ctx.write(row('  ', 'Version', component.Version));
      ctx.write(row('  ', 'API version', `${details.ApiVersion} (minimum version ${details.MinAPIVersion})`));
      ctx.write(row('  ', 'Go version', details.GoVersion));
      ctx.write(row('  ', 'Git commit', details.GitCommit));
      ctx.write(row('  ', 'Built', details.BuildTime));
      ctx.write(row('  ', 'OS/Arch', `${details.Os}/${details.Arch}`));
      ctx.write(row('  ', 'Experimental', details.Experimental));
      continue;
    }
    ctx.write(row('  ', 'Version', component.Version));
    for (const key of Object.keys(details).sort()) ctx.write(row('  ', key, details[key]));
  }
}

export function versionCommand(ctx: CliContext): Command {
  return new Command('version')
    .description('Show the berth version information')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (options: { format?: string }) => {
      const api = ctx.client();
      let server: ServerVersion | undefined;
      let failure: unknown;
      try {
        server = await api.json<ServerVersion>('GET', '/version');
      } catch (err) {
        failure = err;
      }
      const client = clientVersion(server ? await api.apiVersion() : MAX_API_VERSION);
      if (options.format) {
        ctx.write(renderTemplate(options.format, { Client: client, Server: server ?? null }) + '\n');
      } else {
        printClient(ctx, client);
        if (server) printServer(ctx, server);
      }
      if (failure) throw failure;
    });
}
