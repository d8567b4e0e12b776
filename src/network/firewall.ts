/**
 * The Docker semantics netavark 1.4 does not cover, as berth's own iptables
 * rules: bridge networks cannot reach each other, `enable_icc=false` stops
 * traffic between containers of one network, nothing outside an internal
 * network reaches into it, and `enable_ip_masquerade=false` exempts a
 * subnet from netavark's masquerading.
 *
 * (netavark's own `isolate` option is not used: its 1.4 teardown deletes the
 * shared FORWARD jump when any isolated network loses its last container,
 * which silently un-isolates the others.)
 *
 * Rules exist for as long as the network does, whether or not its bridge is up,
 * so they are installed at create and at daemon start and removed with the
 * network. The chains and jumps stay, empty, when the last network goes.
 */
import { formatPrefix, type Family, type Prefix } from './ip.js';
import { runCommand, type CommandResult } from './run-command.js';

export const ISOLATION_1 = 'BERTH-ISOLATION-1';
export const ISOLATION_2 = 'BERTH-ISOLATION-2';
export const POSTROUTING = 'BERTH-POSTROUTING';

export interface FirewallNetwork {
  bridge: string;
  subnets: readonly Prefix[];
  internal: boolean;
  icc: boolean;
  masquerade: boolean;
}

type Table = 'filter' | 'nat';

export interface FirewallRule {
  table: Table;
  chain: string;
  /** The rule as `iptables -S` prints it, without `-A CHAIN`. */
  spec: string;
}

/** The rules one network contributes for one IP family. */
export function networkRules(network: FirewallNetwork, family: Family): FirewallRule[] {
  const { bridge } = network;
  const rules: FirewallRule[] = [
    { table: 'filter', chain: ISOLATION_1, spec: `-i ${bridge} ! -o ${bridge} -j ${ISOLATION_2}` },
    { table: 'filter', chain: ISOLATION_2, spec: `-o ${bridge} -j DROP` },
  ];
  if (!network.icc)
    rules.push({ table: 'filter', chain: ISOLATION_1, spec: `-i ${bridge} -o ${bridge} -j DROP` });
  if (network.internal) {
    rules.push({ table: 'filter', chain: ISOLATION_1, spec: `! -i ${bridge} -o ${bridge} -j DROP` });
    rules.push({ table: 'filter', chain: ISOLATION_1, spec: `-i ${bridge} ! -o ${bridge} -j DROP` });
  }
  if (!network.masquerade) {
    for (const subnet of network.subnets.filter((s) => s.family === family)) {
      rules.push({
        table: 'nat',
        chain: POSTROUTING,
        spec: `-s ${formatPrefix(subnet)} ! -o ${bridge} -j ACCEPT`,
      });
    }
  }
  return rules;
}

/** Runs iptables (or iptables-restore with `restore`) for a family; replaceable in tests. */
export type IptablesRunner = (
  family: Family,
  restore: boolean,
  args: string[],
  input?: string,
) => Promise<CommandResult>;

export const runIptables: IptablesRunner = (family, restore, args, input) =>
  runCommand(`${family === 4 ? 'iptables' : 'ip6tables'}${restore ? '-restore' : ''}`, args, { input });

const BASE_JUMPS: readonly { table: Table; chain: string; target: string }[] = [
  { table: 'filter', chain: 'FORWARD', target: ISOLATION_1 },
  { table: 'nat', chain: 'POSTROUTING', target: POSTROUTING },
];
const BASE_CHAINS: readonly { table: Table; chain: string }[] = [
  { table: 'filter', chain: ISOLATION_1 },
  { table: 'filter', chain: ISOLATION_2 },
  { table: 'nat', chain: POSTROUTING },
];

export class BerthFirewall {
  /** Families where netavark's FORWARD jump is known to exist (so it will not be inserted above ours again). */
  private readonly settled = new Set<Family>();

  constructor(
    private readonly families: readonly Family[] = [4, 6],
    private readonly iptables: IptablesRunner = runIptables,
  ) {}

  /** Creates berth's chains, with jumps to them at the head of FORWARD and nat POSTROUTING. */
  async ensureBase(): Promise<void> {
    for (const family of this.families) await this.ensureBaseFor(family);
  }

  private async ensureBaseFor(family: Family): Promise<void> {
    const byTable = new Map<Table, string[]>();
    const add = (table: Table, line: string): void =>
      void byTable.set(table, [...(byTable.get(table) ?? []), line]);
    for (const { table, chain } of BASE_CHAINS) {
      if ((await this.list(family, table, chain)) === undefined) add(table, `:${chain} - [0:0]`);
    }
    for (const { table, chain, target } of BASE_JUMPS) {
      const rules = (await this.list(family, table, chain)) ?? [];
      if (chain === 'FORWARD' && rules.some((r) => r.endsWith('-j NETAVARK_FORWARD')))
        this.settled.add(family);
      if (rules[0] === `-j ${target}`) continue;
      if (rules.includes(`-j ${target}`)) add(table, `-D ${chain} -j ${target}`);
      add(table, `-I ${chain} 1 -j ${target}`);
    }
    await this.restore(family, byTable);
  }

  /**
   * netavark puts its FORWARD jump at the top the first time it runs on a
   * host (and after a reboot); berth's jump must then be moved back in front.
   */
  async afterNetavarkSetup(families: readonly Family[]): Promise<void> {
    for (const family of families) {
      if (this.families.includes(family) && !this.settled.has(family)) await this.ensureBaseFor(family);
    }
  }

  async addNetwork(network: FirewallNetwork): Promise<void> {
    await this.apply(network, '-A');
  }

  async removeNetwork(network: FirewallNetwork): Promise<void> {
    await this.apply(network, '-D');
  }

  private async apply(network: FirewallNetwork, op: '-A' | '-D'): Promise<void> {
    for (const family of this.families) {
      const byTable = new Map<Table, string[]>();
      const listed = new Map<string, string[]>();
      for (const rule of networkRules(network, family)) {
        const key = `${rule.table}/${rule.chain}`;
        if (!listed.has(key)) listed.set(key, (await this.list(family, rule.table, rule.chain)) ?? []);
        const present = listed.get(key)!.includes(rule.spec);
        if ((op === '-A') === present) continue;
        byTable.set(rule.table, [...(byTable.get(rule.table) ?? []), `${op} ${rule.chain} ${rule.spec}`]);
      }
      await this.restore(family, byTable);
    }
  }

  /** Deletes a chain that nothing uses any more; a chain with rules or references stays. */
  async deleteChainIfEmpty(families: readonly Family[], table: Table, chain: string): Promise<void> {
    for (const family of families.filter((f) => this.families.includes(f))) {
      const rules = await this.list(family, table, chain);
      if (rules === undefined || rules.length > 0) continue;
      await this.iptables(family, false, ['-w', '-t', table, '-X', chain]);
    }
  }

  /** The rules of an IPv4 nat chain (empty when it does not exist). */
  async natRules(chain: string): Promise<string[]> {
    return (await this.list(4, 'nat', chain)) ?? [];
  }

  /** A chain's rules as `iptables -S` prints them without `-A CHAIN `; undefined when the chain does not exist. */
  private async list(family: Family, table: Table, chain: string): Promise<string[] | undefined> {
    const { code, stdout } = await this.iptables(family, false, ['-w', '-t', table, '-S', chain]);
    if (code !== 0) return undefined;
    const prefix = `-A ${chain} `;
    return stdout
      .split('\n')
      .filter((l) => l.startsWith(prefix))
      .map((l) => l.slice(prefix.length));
  }

  private async restore(family: Family, byTable: Map<Table, string[]>): Promise<void> {
    if (byTable.size === 0) return;
    const lines: string[] = [];
    for (const [table, tableLines] of byTable) lines.push(`*${table}`, ...tableLines, 'COMMIT');
    const { code, stderr } = await this.iptables(family, true, ['-w', '--noflush'], lines.join('\n') + '\n');
    if (code !== 0)
      throw new Error(
        `ip${family === 6 ? '6' : ''}tables-restore failed: ${stderr.trim()} (${lines.join('; ')})`,
      );
  }
}
