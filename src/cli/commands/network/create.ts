import { Command, Option } from 'commander';
import { CliError, type CliContext } from '../../context.js';
import { parseAddress, parsePrefix, prefixContains, type Prefix } from '../../../network/ip.js';
import type { IPAMConfig, NetworkCreateRequest, NetworkCreateResponse } from '../../../types/network.js';
import { collectSlice, parseBoolFlag } from './options.js';
import { collect, keyValueMap } from '../options.js';

interface CreateFlags {
  driver: string;
  opt: string[];
  label: string[];
  internal?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  attachable?: boolean;
  ingress?: boolean;
  scope?: string;
  configOnly?: boolean;
  configFrom?: string;
  ipamDriver: string;
  subnet: string[];
  ipRange: string[];
  gateway: string[];
  auxAddress: string[];
  ipamOpt: string[];
}

/** Whether `data` (an address or a CIDR) lies inside `subnet` (the docker CLI's subnetMatches). */
function subnetMatches(subnet: Prefix, data: string): boolean {
  const address = parseAddress(data.split('/')[0]);
  return !!address && prefixContains(subnet, address);
}

function mustPrefix(text: string, flag: string): Prefix {
  const prefix = parsePrefix(text);
  if (!prefix)
    throw new CliError(`invalid argument "${text}" for "--${flag}" flag: invalid CIDR address: ${text}`);
  return prefix;
}

/**
 * --subnet, --ip-range, --gateway and --aux-address grouped per subnet, as
 * the docker CLI does before sending them.
 */
export function ipamConfigs(
  flags: Pick<CreateFlags, 'subnet' | 'ipRange' | 'gateway' | 'auxAddress'>,
): IPAMConfig[] {
  if (flags.subnet.length < flags.ipRange.length || flags.subnet.length < flags.gateway.length) {
    throw new CliError('every ip-range or gateway must have a corresponding subnet');
  }
  const subnets = flags.subnet.map((s) => ({
    text: s,
    prefix: mustPrefix(s, 'subnet'),
    config: { Subnet: s } as IPAMConfig,
  }));
  for (const [i, a] of subnets.entries()) {
    for (const b of subnets.slice(0, i)) {
      if (subnetMatches(a.prefix, b.text) || subnetMatches(b.prefix, a.text)) {
        throw new CliError('multiple overlapping subnet configuration is not supported');
      }
    }
  }
  for (const range of flags.ipRange) {
    mustPrefix(range, 'ip-range');
    const owners = subnets.filter((s) => subnetMatches(s.prefix, range));
    if (owners.length === 0) throw new CliError(`no matching subnet for range ${range}`);
    for (const owner of owners) {
      if (owner.config.IPRange) {
        throw new CliError(
          `cannot configure multiple ranges (${range}, ${owner.config.IPRange}) on the same subnet (${owner.text})`,
        );
      }
      owner.config.IPRange = range;
    }
  }
  for (const gateway of flags.gateway) {
    if (!parseAddress(gateway))
      throw new CliError(
        `invalid argument "${gateway}" for "--gateway" flag: invalid string being converted to IP address: ${gateway}`,
      );
    const owners = subnets.filter((s) => subnetMatches(s.prefix, gateway));
    if (owners.length === 0) throw new CliError(`no matching subnet for gateway ${gateway}`);
    for (const owner of owners) {
      if (owner.config.Gateway) {
        throw new CliError(
          `cannot configure multiple gateways (${gateway}, ${owner.config.Gateway}) for the same subnet (${owner.text})`,
        );
      }
      owner.config.Gateway = gateway;
    }
  }
  for (const [name, address] of Object.entries(keyValueMap(flags.auxAddress))) {
    const owners = subnets.filter((s) => subnetMatches(s.prefix, address));
    if (owners.length === 0) throw new CliError(`no matching subnet for aux-address ${address}`);
    for (const owner of owners)
      owner.config.AuxiliaryAddresses = { ...owner.config.AuxiliaryAddresses, [name]: address };
  }
  return subnets.map((s) => s.config);
}

export function networkCreateCommand(ctx: CliContext): Command {
  return new Command('create')
    .description('Create a network')
    .usage('[OPTIONS] NETWORK')
    .argument('<NETWORK>')
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('-o, --opt <map>', 'Set driver specific options', collect, [])
    .option('--label <list>', 'Set metadata on a network', collect, [])
    .option('--internal', 'Restrict external access to the network')
    .option('--ipv4 [bool]', 'Enable or disable IPv4 address assignment', parseBoolFlag('ipv4'))
    .option('--ipv6 [bool]', 'Enable or disable IPv6 address assignment', parseBoolFlag('ipv6'))
    .option('--attachable', 'Enable manual container attachment')
    .option('--ingress', 'Create swarm routing-mesh network')
    .option('--scope <string>', "Control the network's scope")
    .option('--config-only', 'Create a configuration only network')
    .option('--config-from <string>', 'The network from which to copy the configuration')
    .option('--ipam-driver <string>', 'IP Address Management Driver', 'default')
    .option('--subnet <strings>', 'Subnet in CIDR format that represents a network segment', collectSlice, [])
    .option('--ip-range <strings>', 'Allocate container ip from a sub-range', collectSlice, [])
    .option('--gateway <strings>', 'IPv4 or IPv6 Gateway for the master subnet', collectSlice, [])
    .option('--aux-address <map>', 'Auxiliary IPv4 or IPv6 addresses used by Network driver', collect, [])
    .option('--ipam-opt <map>', 'Set IPAM driver specific options', collect, [])
    .addOption(new Option('--check-duplicate').hideHelp())
    .action(async (name: string, flags: CreateFlags) => {
      for (const label of flags.label) {
        if (label.split('=')[0].trim() === '') throw new CliError(`invalid label '${label}': empty name`);
      }
      const body: NetworkCreateRequest = {
        Name: name,
        Driver: flags.driver,
        Options: keyValueMap(flags.opt),
        IPAM: { Driver: flags.ipamDriver, Config: ipamConfigs(flags), Options: keyValueMap(flags.ipamOpt) },
        Internal: Boolean(flags.internal),
        Attachable: Boolean(flags.attachable),
        Ingress: Boolean(flags.ingress),
        Scope: flags.scope ?? '',
        ConfigOnly: Boolean(flags.configOnly),
        Labels: keyValueMap(flags.label),
      };
      if (flags.ipv4 !== undefined) body.EnableIPv4 = flags.ipv4;
      if (flags.ipv6 !== undefined) body.EnableIPv6 = flags.ipv6;
      if (flags.configFrom) body.ConfigFrom = { Network: flags.configFrom };
      const response = await ctx.client().json<NetworkCreateResponse>('POST', '/networks/create', { body });
      if (response.Warning) ctx.err.write(`${response.Warning}\n`);
      ctx.write(`${response.Id}\n`);
    });
}
