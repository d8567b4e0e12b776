import { Command } from 'commander';
import type { ContainerUpdateRequest } from '../../../types/container.js';
import { CliError, type CliContext } from '../../context.js';
import { ramInBytes } from '../../format/units.js';
import { forEachContainer } from './common.js';

interface UpdateFlags {
  blkioWeight?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpuShares?: string;
  cpus?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  pidsLimit?: string;
  restart?: string;
}

const int = (value: string | undefined): number | undefined =>
  value === undefined ? undefined : Number(value);
const bytes = (value: string | undefined): number | undefined =>
  value === undefined ? undefined : value === '-1' ? -1 : ramInBytes(value);

export function updateCommand(ctx: CliContext): Command {
  return new Command('update')
    .description('Update configuration of one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('--blkio-weight <uint16>', 'Block IO (relative weight), between 10 and 1000, or 0 to disable')
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period')
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota')
    .option('--cpu-rt-period <int>', 'Limit the CPU real-time period in microseconds')
    .option('--cpu-rt-runtime <int>', 'Limit the CPU real-time runtime in microseconds')
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--memory-swap <bytes>', 'Swap limit equal to memory plus swap: -1 to enable unlimited swap')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--restart <string>', 'Restart policy to apply when a container exits')
    .action(async (names: string[], flags: UpdateFlags) => {
      const request: ContainerUpdateRequest = {
        BlkioWeight: int(flags.blkioWeight),
        CpuPeriod: int(flags.cpuPeriod),
        CpuQuota: int(flags.cpuQuota),
        CpuRealtimePeriod: int(flags.cpuRtPeriod),
        CpuRealtimeRuntime: int(flags.cpuRtRuntime),
        CpuShares: int(flags.cpuShares),
        NanoCpus: flags.cpus === undefined ? undefined : Math.round(Number(flags.cpus) * 1e9),
        CpusetCpus: flags.cpusetCpus,
        CpusetMems: flags.cpusetMems,
        Memory: bytes(flags.memory),
        MemoryReservation: bytes(flags.memoryReservation),
        MemorySwap: bytes(flags.memorySwap),
        PidsLimit: int(flags.pidsLimit),
      };
      if (flags.restart !== undefined) {
        const [name, count] = flags.restart.split(':');
        request.RestartPolicy = { Name: name as never, MaximumRetryCount: count ? Number(count) : 0 };
      }
      if (Object.values(request).every((v) => v === undefined)) {
        throw new CliError('you must provide one or more flags when using this command');
      }
      const api = ctx.client();
      const warnings: string[] = [];
      await forEachContainer(ctx, names, async (name) => {
        const result = await api.json<{ Warnings: string[] | null }>(
          'POST',
          `/containers/${encodeURIComponent(name)}/update`,
          {
            body: request,
          },
        );
        warnings.push(...(result.Warnings ?? []));
      });
      for (const warning of warnings) ctx.err.write(`${warning}\n`);
    });
}
