/**
 * The one module that runs netavark. netavark is stateless apart from the
 * aardvark-dns configuration under its --config directory: every call gets the
 * whole description of the container's attachment on stdin, and berth keeps
 * the network store and address allocation itself.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { log } from '../common/log.js';
import { runCommand, type CommandResult } from './run-command.js';

export const NETAVARK_BINARY = '/usr/lib/podman/netavark';
export const AARDVARK_BINARY = '/usr/lib/podman/aardvark-dns';

/** A network as netavark sees it (its `network_info` entries). */
export interface NetavarkNetwork {
  name: string;
  id: string;
  driver: 'bridge';
  network_interface: string;
  subnets: { subnet: string; gateway?: string }[];
  ipv6_enabled: boolean;
  internal: boolean;
  dns_enabled: boolean;
  options?: Record<string, string>;
  ipam_options?: Record<string, string>;
  network_dns_servers?: string[];
}

/** The container's side of one network (its `networks` entries). */
export interface NetavarkAttachment {
  interface_name: string;
  /** One address per subnet of the network, in the same order. */
  static_ips: string[];
  /** Names aardvark-dns answers besides the container name. */
  aliases?: string[];
  static_mac?: string;
}

export interface NetavarkPortMapping {
  host_ip: string;
  container_port: number;
  host_port: number;
  range: number;
  protocol: string;
}

export interface NetavarkRequest {
  container_id: string;
  container_name: string;
  networks: Record<string, NetavarkAttachment>;
  network_info: Record<string, NetavarkNetwork>;
  port_mappings?: NetavarkPortMapping[];
  /** Upstream servers aardvark-dns uses for this container instead of the host's. */
  dns_servers?: string[];
}

export interface NetavarkInterface {
  mac_address: string;
  subnets?: { ipnet: string; gateway?: string }[];
}

/** What `setup` reports per network. */
export interface NetavarkStatus {
  dns_search_domains?: string[];
  dns_server_ips?: string[];
  interfaces?: Record<string, NetavarkInterface>;
}

export class NetavarkError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
    this.name = 'NetavarkError';
  }
}

export interface NetavarkOptions {
  /** netavark's --config: aardvark-dns keeps its per-network files under `<configDir>/aardvark-dns`. */
  configDir: string;
  binary?: string;
  aardvarkBinary?: string;
  /** Extra environment (AARDVARK_NO_PROXY=1 for internal networks: aardvark inherits it). */
  env?: Record<string, string>;
}

/** One netavark configuration: a config directory and the aardvark-dns instance it starts. */
export class Netavark {
  readonly binary: string;
  readonly aardvarkBinary: string;

  constructor(readonly options: NetavarkOptions) {
    this.binary = options.binary ?? NETAVARK_BINARY;
    this.aardvarkBinary = options.aardvarkBinary ?? AARDVARK_BINARY;
  }

  static available(binary = NETAVARK_BINARY): boolean {
    return existsSync(binary);
  }

  get aardvarkDir(): string {
    return path.join(this.options.configDir, 'aardvark-dns');
  }

  /** Creates interfaces, addresses, routes, firewall rules and DNS entries in a network namespace. */
  async setup(netnsPath: string, request: NetavarkRequest): Promise<Record<string, NetavarkStatus>> {
    const stdout = await this.run('setup', netnsPath, request);
    try {
      return JSON.parse(stdout) as Record<string, NetavarkStatus>;
    } catch {
      throw new NetavarkError(`netavark setup printed unexpected output: ${stdout.slice(0, 200)}`, 'setup');
    }
  }

  /** Undoes setup for the networks in the request; the bridge goes with its last container. */
  async teardown(netnsPath: string, request: NetavarkRequest): Promise<void> {
    await this.run('teardown', netnsPath, request);
  }

  private async run(
    command: 'setup' | 'teardown',
    netnsPath: string,
    request: NetavarkRequest,
  ): Promise<string> {
    // netavark refuses to run without the directory, and fails half-way if aardvark's is missing.
    await fs.mkdir(this.aardvarkDir, { recursive: true, mode: 0o700 });
    const args = [
      '--config',
      this.options.configDir,
      '--aardvark-binary',
      this.aardvarkBinary,
      command,
      netnsPath,
    ];
    const { code, stdout, stderr } = await runWithInput(this.binary, args, JSON.stringify(request), {
      ...process.env,
      ...this.options.env,
    });
    if (code !== 0) throw new NetavarkError(errorText(stdout, stderr, code), command);
    return stdout;
  }
}

/** netavark reports failures as {"error": "..."} on stdout; stderr has its log lines. */
function errorText(stdout: string, stderr: string, code: number | null): string {
  for (const line of stdout.split('\n')) {
    try {
      const parsed = JSON.parse(line) as { error?: string };
      if (parsed.error) return parsed.error;
    } catch {
      // Not JSON.
    }
  }
  const lines = stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('failed to connect to syslog'));
  return lines.join('; ') || `netavark exited with status ${code}`;
}

async function runWithInput(
  command: string,
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<CommandResult> {
  const result = await runCommand(command, args, { input, env });
  if (result.stderr.trim() !== '')
    log.debug('netavark', { args: args.slice(4).join(' '), stderr: result.stderr.trim() });
  return result;
}

/** One container line of an aardvark-dns network file: `<id> <v4s> <v6s> <names>[ <dns servers>]`. */
export interface AardvarkEntry {
  containerId: string;
  ipv4: string[];
  ipv6: string[];
  names: string[];
}

/** Reads the entries aardvark-dns serves for one network (undefined when the network has no file). */
export async function readAardvarkEntries(
  aardvarkDir: string,
  networkName: string,
): Promise<AardvarkEntry[] | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(aardvarkDir, networkName), 'utf8');
  } catch {
    return undefined;
  }
  return text
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [containerId, v4 = '', v6 = '', names = ''] = line.split(' ');
      const list = (s: string): string[] => s.split(',').filter(Boolean);
      return { containerId, ipv4: list(v4), ipv6: list(v6), names: list(names) };
    });
}

/** The pid of the aardvark-dns a config directory runs, if it is alive. */
export async function aardvarkPid(aardvarkDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await fs.readFile(path.join(aardvarkDir, 'aardvark.pid'), 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // A zombie (state Z) has exited; only its parent has not collected it yet.
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') ? undefined : pid;
  } catch {
    return undefined;
  }
}

/**
 * Starts aardvark-dns for a config directory (it daemonizes and serves every
 * network file there), as netavark does on the first setup.
 */
export function startAardvark(
  aardvarkBinary: string,
  aardvarkDir: string,
  env: Record<string, string> = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(aardvarkBinary, ['--config', aardvarkDir, '-p', '53', 'run'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`aardvark-dns exited with status ${code}`)),
    );
  });
}
