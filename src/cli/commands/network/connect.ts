import { Command } from 'commander';
import { CliError, type CliContext } from '../../context.js';
import { parseAddress } from '../../../network/ip.js';
import type { EndpointSettings, NetworkConnectRequest } from '../../../types/network.js';
import { collectSlice } from './options.js';
import { collect } from '../options.js';

interface ConnectFlags {
  ip?: string;
  ip6?: string;
  link: string[];
  alias: string[];
  linkLocalIp: string[];
  driverOpt: string[];
  gwPriority?: string;
}

function checkIp(value: string | undefined, flag: string): void {
  if (value !== undefined && !parseAddress(value)) {
    throw new CliError(
      `invalid argument "${value}" for "--${flag}" flag: invalid string being converted to IP address: ${value}`,
    );
  }
}

/** The EndpointConfig the docker CLI sends for `network connect` flags. */
export function endpointConfig(flags: ConnectFlags): EndpointSettings {
  checkIp(flags.ip, 'ip');
  checkIp(flags.ip6, 'ip6');
  for (const ip of flags.linkLocalIp) checkIp(ip, 'link-local-ip');
  const driverOpts: Record<string, string> = {};
  for (const opt of flags.driverOpt) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? '' : opt.slice(0, eq).trim();
    if (key === '') throw new CliError('invalid key/value pair format in driver options');
    driverOpts[key] = opt.slice(eq + 1).trim();
  }
  const config: EndpointSettings = {
    IPAMConfig: {
      ...(flags.ip ? { IPv4Address: flags.ip } : {}),
      ...(flags.ip6 ? { IPv6Address: flags.ip6 } : {}),
      ...(flags.linkLocalIp.length > 0 ? { LinkLocalIPs: flags.linkLocalIp } : {}),
    },
    Links: flags.link.length > 0 ? flags.link : null,
    Aliases: flags.alias.length > 0 ? flags.alias : null,
    DriverOpts: Object.keys(driverOpts).length > 0 ? driverOpts : null,
  };
  if (flags.gwPriority !== undefined) {
    if (!/^-?\d+$/.test(flags.gwPriority))
      throw new CliError(
        `invalid argument "${flags.gwPriority}" for "--gw-priority" flag: strconv.ParseInt: parsing "${flags.gwPriority}": invalid syntax`,
      );
    config.GwPriority = Number(flags.gwPriority);
  }
  return config;
}

export function networkConnectCommand(ctx: CliContext): Command {
  return new Command('connect')
    .description('Connect a container to a network')
    .usage('[OPTIONS] NETWORK CONTAINER')
    .argument('<NETWORK>')
    .argument('<CONTAINER>')
    .option('--ip <ip>', 'IPv4 address (e.g., "172.30.100.104")')
    .option('--ip6 <ip>', 'IPv6 address (e.g., "2001:db8::33")')
    .option('--link <list>', 'Add link to another container', collect, [])
    .option('--alias <strings>', 'Add network-scoped alias for the container', collectSlice, [])
    .option('--link-local-ip <ips>', 'Add a link-local address for the container', collectSlice, [])
    .option('--driver-opt <strings>', 'driver options for the network', collectSlice, [])
    .option(
      '--gw-priority <int>',
      'Highest gw-priority provides the default gateway. Accepts positive and negative values.',
    )
    .action(async (network: string, container: string, flags: ConnectFlags) => {
      const body: NetworkConnectRequest = { Container: container, EndpointConfig: endpointConfig(flags) };
      await ctx.client().request('POST', `/networks/${encodeURIComponent(network)}/connect`, { body });
    });
}
