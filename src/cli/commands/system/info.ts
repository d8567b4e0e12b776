import { Command } from 'commander';
import { ENGINE_VERSION } from '../../../common/version.js';
import type { CliContext } from '../../context.js';
import { renderTemplate } from '../../output.js';
import { bytesSize } from '../../format/units.js';

type Info = Record<string, unknown> & {
  Plugins?: Record<string, string[] | null>;
  Runtimes?: Record<string, unknown>;
  RegistryConfig?: {
    InsecureRegistryCIDRs?: string[];
    IndexConfigs?: Record<string, { Secure: boolean; Name: string }>;
    Mirrors?: string[];
  };
  SecurityOptions?: string[];
  Labels?: string[];
  Warnings?: string[] | null;
  ContainerdCommit?: { ID: string };
  RuncCommit?: { ID: string };
  InitCommit?: { ID: string };
  DriverStatus?: [string, string][];
  Swarm?: { LocalNodeState: string };
};

function line(ctx: CliContext, indent: number, label: string, value: unknown): void {
  ctx.write(`${' '.repeat(indent)}${label}: ${String(value)}\n`);
}

function printServerInfo(ctx: CliContext, info: Info): void {
  ctx.write('Server:\n');
  line(ctx, 1, 'Containers', info.Containers);
  line(ctx, 2, 'Running', info.ContainersRunning);
  line(ctx, 2, 'Paused', info.ContainersPaused);
  line(ctx, 2, 'Stopped', info.ContainersStopped);
  line(ctx, 1, 'Images', info.Images);
  line(ctx, 1, 'Server Version', info.ServerVersion);
  line(ctx, 1, 'Storage Driver', info.Driver);
  for (const [key, value] of info.DriverStatus ?? []) line(ctx, 2, key, value);
  line(ctx, 1, 'Logging Driver', info.LoggingDriver);
  line(ctx, 1, 'Cgroup Driver', info.CgroupDriver);
  line(ctx, 1, 'Cgroup Version', info.CgroupVersion);
  ctx.write(' Plugins:\n');
  for (const kind of ['Volume', 'Network', 'Log']) line(ctx, 2, kind, (info.Plugins?.[kind] ?? []).join(' '));
  line(ctx, 1, 'Swarm', info.Swarm?.LocalNodeState ?? 'inactive');
  line(
    ctx,
    1,
    'Runtimes',
    Object.keys(info.Runtimes ?? {})
      .sort()
      .join(' '),
  );
  line(ctx, 1, 'Default Runtime', info.DefaultRuntime);
  line(ctx, 1, 'Init Binary', info.InitBinary);
  line(ctx, 1, 'containerd version', info.ContainerdCommit?.ID ?? '');
  line(ctx, 1, 'runc version', info.RuncCommit?.ID ?? '');
  line(ctx, 1, 'init version', info.InitCommit?.ID ?? '');
  printSecurityOptions(ctx, info.SecurityOptions ?? []);
  line(ctx, 1, 'Kernel Version', info.KernelVersion);
  line(ctx, 1, 'Operating System', info.OperatingSystem);
  line(ctx, 1, 'OSType', info.OSType);
  line(ctx, 1, 'Architecture', info.Architecture);
  line(ctx, 1, 'CPUs', info.NCPU);
  line(ctx, 1, 'Total Memory', bytesSize(Number(info.MemTotal)));
  line(ctx, 1, 'Name', info.Name);
  line(ctx, 1, 'ID', info.ID);
  line(ctx, 1, 'Docker Root Dir', info.DockerRootDir);
  line(ctx, 1, 'Debug Mode', info.Debug);
  if (info.Debug) {
    line(ctx, 2, 'File Descriptors', info.NFd);
    line(ctx, 2, 'Goroutines', info.NGoroutines);
    line(ctx, 2, 'System Time', info.SystemTime);
    line(ctx, 2, 'EventsListeners', info.NEventsListener);
  }
  if (info.Labels && info.Labels.length > 0) {
    ctx.write(' Labels:\n');
    for (const label of info.Labels) ctx.write(`  ${label}\n`);
  }
  line(ctx, 1, 'Experimental', info.ExperimentalBuild);
  printRegistries(ctx, info);
  line(ctx, 1, 'Live Restore Enabled', info.LiveRestoreEnabled);
  ctx.write('\n');
}

function printSecurityOptions(ctx: CliContext, options: string[]): void {
  if (options.length === 0) return;
  ctx.write(' Security Options:\n');
  for (const option of options) {
    const fields = Object.fromEntries(option.split(',').map((kv) => kv.split('=', 2) as [string, string]));
    ctx.write(`  ${fields.name}\n`);
    for (const [key, value] of Object.entries(fields)) {
      if (key !== 'name') ctx.write(`   ${key[0].toUpperCase()}${key.slice(1)}: ${value}\n`);
    }
  }
}

function printRegistries(ctx: CliContext, info: Info): void {
  const registry = info.RegistryConfig;
  const insecure = [
    ...Object.values(registry?.IndexConfigs ?? {})
      .filter((c) => !c.Secure)
      .map((c) => c.Name),
    ...(registry?.InsecureRegistryCIDRs ?? []),
  ];
  if (insecure.length > 0) {
    ctx.write(' Insecure Registries:\n');
    for (const entry of insecure) ctx.write(`  ${entry}\n`);
  }
  if (registry?.Mirrors && registry.Mirrors.length > 0) {
    ctx.write(' Registry Mirrors:\n');
    for (const mirror of registry.Mirrors) ctx.write(`  ${mirror}\n`);
  }
}

export function infoCommand(ctx: CliContext): Command {
  return new Command('info')
    .description('Display system-wide information')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (options: { format?: string }) => {
      const api = ctx.client();
      if (options.format) {
        const info = await api.json<Info>('GET', '/info');
        ctx.write(renderTemplate(options.format, info) + '\n');
        return;
      }
      ctx.write(
        `Client:\n Version:    ${ENGINE_VERSION}\n Context:    default\n Debug Mode: ${Boolean(ctx.globals().debug)}\n\n`,
      );
      let info: Info;
      try {
        info = await api.json<Info>('GET', '/info');
      } catch (err) {
        ctx.write('Server:\n');
        throw err;
      }
      printServerInfo(ctx, info);
      for (const warning of info.Warnings ?? []) ctx.err.write(`${warning}\n`);
    });
}
