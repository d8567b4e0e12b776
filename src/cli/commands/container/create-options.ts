/**
 * The flags of `run` and `create`, as docker/cli defines them, and their
 * conversion to the body of POST /containers/create.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type {
  ContainerCreateRequest,
  DeviceMapping,
  HealthConfig,
  HostConfig,
  Mount,
  PortBinding,
  Ulimit,
} from '../../../types/container.js';
import { parsePublishSpec } from '../../../network/ports.js';
import type { EndpointSettings } from '../../../types/network.js';
import { CliError } from '../../context.js';
import { fromHumanSize, ramInBytes } from '../../format/units.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export interface CreateFlags {
  attach?: string[];
  addHost?: string[];
  annotation?: string[];
  blkioWeight?: string;
  capAdd?: string[];
  capDrop?: string[];
  cgroupParent?: string;
  cgroupns?: string;
  cidfile?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpuShares?: string;
  cpus?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  device?: string[];
  deviceCgroupRule?: string[];
  dns?: string[];
  dnsOption?: string[];
  dnsSearch?: string[];
  domainname?: string;
  entrypoint?: string;
  env?: string[];
  envFile?: string[];
  expose?: string[];
  groupAdd?: string[];
  healthCmd?: string;
  healthInterval?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  healthTimeout?: string;
  hostname?: string;
  init?: boolean;
  interactive?: boolean;
  ip?: string;
  ip6?: string;
  ipc?: string;
  isolation?: string;
  label?: string[];
  labelFile?: string[];
  link?: string[];
  logDriver?: string;
  logOpt?: string[];
  macAddress?: string;
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  memorySwappiness?: string;
  mount?: string[];
  name?: string;
  network?: string;
  networkAlias?: string[];
  healthcheck?: boolean;
  oomKillDisable?: boolean;
  oomScoreAdj?: string;
  pid?: string;
  pidsLimit?: string;
  platform?: string;
  privileged?: boolean;
  publish?: string[];
  publishAll?: boolean;
  pull?: string;
  quiet?: boolean;
  readOnly?: boolean;
  restart?: string;
  rm?: boolean;
  runtime?: string;
  securityOpt?: string[];
  shmSize?: string;
  stopSignal?: string;
  stopTimeout?: string;
  storageOpt?: string[];
  sysctl?: string[];
  tmpfs?: string[];
  tty?: boolean;
  ulimit?: string[];
  user?: string;
  userns?: string;
  uts?: string;
  volume?: string[];
  volumesFrom?: string[];
  workdir?: string;
}

/** Adds the container configuration flags shared by run and create. */
export function addCreateFlags(command: Command): Command {
  return command
    .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', collect)
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect)
    .option(
      '--annotation <map>',
      'Add an annotation to the container (passed through to the OCI runtime)',
      collect,
    )
    .option('--blkio-weight <uint16>', 'Block IO (relative weight), between 10 and 1000, or 0 to disable')
    .option('--cap-add <list>', 'Add Linux capabilities', collect)
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect)
    .option('--cgroup-parent <string>', 'Optional parent cgroup for the container')
    .option('--cgroupns <string>', 'Cgroup namespace to use (host|private)')
    .option('--cidfile <string>', 'Write the container ID to the file')
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period')
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota')
    .option('--cpu-rt-period <int>', 'Limit CPU real-time period in microseconds')
    .option('--cpu-rt-runtime <int>', 'Limit CPU real-time runtime in microseconds')
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('--device <list>', 'Add a host device to the container', collect)
    .option('--device-cgroup-rule <list>', 'Add a rule to the cgroup allowed devices list', collect)
    .option('--dns <list>', 'Set custom DNS servers', collect)
    .option('--dns-option <list>', 'Set DNS options', collect)
    .option('--dns-search <list>', 'Set custom DNS search domains', collect)
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('--expose <list>', 'Expose a port or a range of ports', collect)
    .option('--group-add <list>', 'Add additional groups to join', collect)
    .option('--health-cmd <string>', 'Command to run to check health')
    .option('--health-interval <duration>', 'Time between running the check (ms|s|m|h)')
    .option('--health-retries <int>', 'Consecutive failures needed to report unhealthy')
    .option(
      '--health-start-interval <duration>',
      'Time between running the check during the start period (ms|s|m|h)',
    )
    .option(
      '--health-start-period <duration>',
      'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)',
    )
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run (ms|s|m|h)')
    .option('-h, --hostname <string>', 'Container host name')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('--ip <string>', 'IPv4 address (e.g., 172.30.100.104)')
    .option('--ip6 <string>', 'IPv6 address (e.g., 2001:db8::33)')
    .option('--ipc <string>', 'IPC mode to use')
    .option('--isolation <string>', 'Container isolation technology')
    .option('-l, --label <list>', 'Set meta data on a container', collect)
    .option('--label-file <list>', 'Read in a line delimited file of labels', collect)
    .option('--link <list>', 'Add link to another container', collect)
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect)
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    .option('--memory-swappiness <int>', 'Tune container memory swappiness (0 to 100)')
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect)
    .option('--name <string>', 'Assign a name to the container')
    .option('--network <network>', 'Connect a container to a network')
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect)
    .option('--no-healthcheck', 'Disable any container-specified HEALTHCHECK')
    .option('--oom-kill-disable', 'Disable OOM Killer')
    .option('--oom-score-adj <int>', "Tune host's OOM preferences (-1000 to 1000)")
    .option('--pid <string>', 'PID namespace to use')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--privileged', 'Give extended privileges to this container')
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect)
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--pull <string>', 'Pull image before running ("always", "missing", "never")', 'missing')
    .option('-q, --quiet', 'Suppress the pull output')
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--runtime <string>', 'Runtime to use for this container')
    .option('--security-opt <list>', 'Security Options', collect)
    .option('--shm-size <bytes>', 'Size of /dev/shm')
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container')
    .option('--storage-opt <list>', 'Storage driver options for the container', collect)
    .option('--sysctl <map>', 'Sysctl options', collect)
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect)
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--ulimit <ulimit>', 'Ulimit options', collect)
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--userns <string>', 'User namespace to use')
    .option('--uts <string>', 'UTS namespace to use')
    .option('-v, --volume <list>', 'Bind mount a volume', collect)
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container');
}

function fail(message: string): never {
  throw new CliError(message, 125);
}

const integer = (value: string | undefined, flag: string): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim()))
    fail(
      `invalid argument "${value}" for "${flag}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`,
    );
  return Number(value);
};

const memory = (value: string | undefined, flag: string): number | undefined => {
  if (value === undefined) return undefined;
  if (value === '-1') return -1;
  try {
    return ramInBytes(value);
  } catch (err) {
    fail(`invalid argument "${value}" for "${flag}" flag: ${(err as Error).message}`);
  }
};

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(text: string, flag = 'duration'): number {
  if (text === '0') return 0;
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const pattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    total += Number(match[1]) * units[match[2]];
    matched = pattern.lastIndex;
  }
  if (matched !== text.length || text === '')
    fail(`invalid argument "${text}" for "${flag}" flag: time: invalid duration "${text}"`);
  return Math.round(total);
}

/** KEY=VALUE lines of an env or label file; `#` comments and blank lines skipped. */
export function readKeyValueFile(file: string, kind: 'env' | 'label'): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(
      `open ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
    );
  }
  const out: string[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/^\s+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (kind === 'env' && !line.includes('=')) {
      const value = process.env[line];
      if (value !== undefined) out.push(`${line}=${value}`);
      continue;
    }
    out.push(line);
  }
  return out;
}

/** `-e KEY` takes KEY from the client's environment (and is dropped when unset). */
export function envEntries(values: string[]): string[] {
  return values.flatMap((entry) => {
    if (entry.includes('=')) return [entry];
    const value = process.env[entry];
    return value === undefined ? [] : [`${entry}=${value}`];
  });
}

function toMap(values: string[] | undefined, flag: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of values ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0 && flag !== 'label')
      fail(`invalid argument "${entry}" for "--${flag}" flag: ${flag} must be in the format KEY=VALUE`);
    if (eq < 0) map[entry] = '';
    else map[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return map;
}

function parseMount(spec: string): Mount {
  const mount: Mount = {};
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : field.slice(eq + 1);
    switch (key) {
      case 'type':
        mount.Type = value as Mount['Type'];
        break;
      case 'source':
      case 'src':
        mount.Source = value;
        break;
      case 'target':
      case 'destination':
      case 'dst':
        mount.Target = value;
        break;
      case 'readonly':
      case 'ro':
        mount.ReadOnly = value === '' || value === 'true' || value === '1';
        break;
      case 'bind-propagation':
        mount.BindOptions = { ...mount.BindOptions, Propagation: value as never };
        break;
      case 'tmpfs-size':
        mount.TmpfsOptions = { ...mount.TmpfsOptions, SizeBytes: ramInBytes(value) };
        break;
      case 'tmpfs-mode':
        mount.TmpfsOptions = { ...mount.TmpfsOptions, Mode: parseInt(value, 8) };
        break;
      case 'volume-nocopy':
        mount.VolumeOptions = { ...mount.VolumeOptions, NoCopy: value === '' || value === 'true' };
        break;
      case 'volume-subpath':
        mount.VolumeOptions = { ...mount.VolumeOptions, Subpath: value };
        break;
      case 'volume-driver':
        mount.VolumeOptions = {
          ...mount.VolumeOptions,
          DriverConfig: { ...mount.VolumeOptions?.DriverConfig, Name: value },
        };
        break;
      case 'volume-opt':
      case 'volume-label': {
        const eq = value.indexOf('=');
        const [k, v] = eq < 0 ? [value, ''] : [value.slice(0, eq), value.slice(eq + 1)];
        const options = { ...mount.VolumeOptions };
        if (key === 'volume-label') options.Labels = { ...options.Labels, [k]: v };
        else
          options.DriverConfig = {
            ...options.DriverConfig,
            Options: { ...options.DriverConfig?.Options, [k]: v },
          };
        mount.VolumeOptions = options;
        break;
      }
      case 'bind-nonrecursive':
        mount.BindOptions = { ...mount.BindOptions, NonRecursive: value === '' || value === 'true' };
        break;
      case 'consistency':
        mount.Consistency = value as Mount['Consistency'];
        break;
      default:
        fail(`invalid argument "${spec}" for "--mount" flag: unexpected key '${key}' in '${field}'`);
    }
  }
  mount.Type ??= 'volume';
  return mount;
}

function parseUlimit(spec: string): Ulimit {
  const eq = spec.indexOf('=');
  if (eq < 0) fail(`invalid argument "${spec}" for "--ulimit" flag: invalid ulimit argument: ${spec}`);
  const [soft, hard = soft] = spec.slice(eq + 1).split(':');
  return { Name: spec.slice(0, eq), Soft: Number(soft), Hard: Number(hard) };
}

function parseDevice(spec: string): DeviceMapping {
  const parts = spec.split(':');
  const permissions = parts.length > 1 && /^[rwm]+$/.test(parts[parts.length - 1]) ? parts.pop()! : 'rwm';
  const [host, container = host] = parts;
  return { PathOnHost: host, PathInContainer: container, CgroupPermissions: permissions };
}

function parseRestart(policy: string): HostConfig['RestartPolicy'] {
  const [name, count] = policy.split(':');
  if (count !== undefined && name !== 'on-failure')
    fail(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
  if (count !== undefined && !/^\d+$/.test(count))
    fail(`invalid restart policy format: maximum retry count must be an integer`);
  return { Name: name as never, MaximumRetryCount: count ? Number(count) : 0 };
}

function healthcheck(flags: CreateFlags): HealthConfig | undefined {
  const timing = {
    Interval: flags.healthInterval ? parseGoDuration(flags.healthInterval, '--health-interval') : 0,
    Timeout: flags.healthTimeout ? parseGoDuration(flags.healthTimeout, '--health-timeout') : 0,
    StartPeriod: flags.healthStartPeriod
      ? parseGoDuration(flags.healthStartPeriod, '--health-start-period')
      : 0,
    StartInterval: flags.healthStartInterval
      ? parseGoDuration(flags.healthStartInterval, '--health-start-interval')
      : 0,
    Retries: integer(flags.healthRetries, 'health-retries') ?? 0,
  };
  const anyTiming = Object.values(timing).some((v) => v !== 0);
  if (flags.healthcheck === false) {
    if (flags.healthCmd || anyTiming) fail('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!flags.healthCmd && !anyTiming) return undefined;
  return { Test: flags.healthCmd ? ['CMD-SHELL', flags.healthCmd] : [], ...timing };
}

/** Splits `-v` values into anonymous volumes (Config.Volumes) and binds (HostConfig.Binds). */
function volumes(values: string[]): { anonymous: Record<string, Record<string, never>>; binds: string[] } {
  const anonymous: Record<string, Record<string, never>> = {};
  const binds: string[] = [];
  for (const value of values) {
    if (value.split(':').length === 1) anonymous[value] = {};
    // A relative host path is the client's: docker makes it absolute before sending.
    else if (value.startsWith('.'))
      binds.push(path.resolve(value.slice(0, value.indexOf(':'))) + value.slice(value.indexOf(':')));
    else binds.push(value);
  }
  return { anonymous, binds };
}

export interface AttachChoice {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** Which streams run attaches: -a as given, else stdout and stderr (and stdin with -i). */
export function attachChoice(flags: CreateFlags, detach: boolean): AttachChoice {
  if (detach) {
    if ((flags.attach?.length ?? 0) > 0) fail('Conflicting options: -a and -d');
    return { stdin: false, stdout: false, stderr: false };
  }
  if (flags.attach?.length) {
    const wanted = flags.attach.map((s) => s.toLowerCase());
    for (const s of wanted)
      if (!['stdin', 'stdout', 'stderr'].includes(s))
        fail(`invalid argument "${s}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
    return {
      stdin: wanted.includes('stdin'),
      stdout: wanted.includes('stdout'),
      stderr: wanted.includes('stderr'),
    };
  }
  return { stdin: flags.interactive === true, stdout: true, stderr: true };
}

/** The create request for the flags, image and command. */
export function createRequest(
  flags: CreateFlags,
  image: string,
  command: string[],
  attach: AttachChoice,
): ContainerCreateRequest {
  const env = [
    ...(flags.envFile ?? []).flatMap((f) => readKeyValueFile(f, 'env')),
    ...envEntries(flags.env ?? []),
  ];
  const labels = toMap(
    [...(flags.labelFile ?? []).flatMap((f) => readKeyValueFile(f, 'label')), ...(flags.label ?? [])],
    'label',
  );
  const exposed: Record<string, Record<string, never>> = {};
  for (const spec of flags.expose ?? []) {
    const [range, proto = 'tcp'] = spec.split('/');
    const [low, high = low] = range.split('-').map(Number);
    for (let port = low; port <= high; port++) exposed[`${port}/${proto}`] = {};
  }
  const portBindings: Record<string, PortBinding[]> = {};
  for (const spec of flags.publish ?? []) {
    let mappings: ReturnType<typeof parsePublishSpec>;
    try {
      mappings = parsePublishSpec(spec);
    } catch (err) {
      fail((err as Error).message);
    }
    for (const { port, binding } of mappings) {
      exposed[port] = {};
      (portBindings[port] ??= []).push(binding);
    }
  }
  const { anonymous, binds } = volumes(flags.volume ?? []);
  const tmpfs: Record<string, string> = {};
  for (const spec of flags.tmpfs ?? []) {
    const colon = spec.indexOf(':');
    tmpfs[colon < 0 ? spec : spec.slice(0, colon)] = colon < 0 ? '' : spec.slice(colon + 1);
  }
  let nanoCpus: number | undefined;
  if (flags.cpus !== undefined) {
    const cpus = Number(flags.cpus);
    if (!Number.isFinite(cpus))
      fail(
        `invalid argument "${flags.cpus}" for "--cpus" flag: failed to parse ${flags.cpus} as a rational number`,
      );
    nanoCpus = Math.round(cpus * 1e9);
  }
  const hostConfig: HostConfig = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: flags.cidfile ?? '',
    LogConfig: { Type: flags.logDriver ?? '', Config: toMap(flags.logOpt, 'log-opt') },
    NetworkMode: flags.network ?? 'default',
    PortBindings: portBindings,
    RestartPolicy: parseRestart(flags.restart ?? 'no'),
    AutoRemove: flags.rm === true,
    VolumeDriver: '',
    VolumesFrom: flags.volumesFrom ?? null,
    ConsoleSize: [0, 0],
    CapAdd: flags.capAdd ?? null,
    CapDrop: flags.capDrop ?? null,
    CgroupnsMode: (flags.cgroupns ?? '') as HostConfig['CgroupnsMode'],
    Dns: flags.dns ?? [],
    DnsOptions: flags.dnsOption ?? [],
    DnsSearch: flags.dnsSearch ?? [],
    ExtraHosts: flags.addHost ?? null,
    GroupAdd: flags.groupAdd ?? null,
    IpcMode: flags.ipc ?? '',
    Cgroup: '',
    Links: flags.link ?? null,
    OomScoreAdj: integer(flags.oomScoreAdj, 'oom-score-adj') ?? 0,
    PidMode: flags.pid ?? '',
    Privileged: flags.privileged === true,
    PublishAllPorts: flags.publishAll === true,
    ReadonlyRootfs: flags.readOnly === true,
    SecurityOpt: flags.securityOpt ?? null,
    StorageOpt: flags.storageOpt ? toMap(flags.storageOpt, 'storage-opt') : undefined,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    UTSMode: flags.uts ?? '',
    UsernsMode: flags.userns ?? '',
    ShmSize: flags.shmSize ? memory(flags.shmSize, '--shm-size') : 0,
    Sysctls: flags.sysctl ? toMap(flags.sysctl, 'sysctl') : undefined,
    Runtime: flags.runtime ?? '',
    Isolation: (flags.isolation ?? '') as HostConfig['Isolation'],
    CpuShares: integer(flags.cpuShares, 'cpu-shares') ?? 0,
    Memory: memory(flags.memory, '--memory') ?? 0,
    NanoCpus: nanoCpus ?? 0,
    CgroupParent: flags.cgroupParent ?? '',
    BlkioWeight: integer(flags.blkioWeight, 'blkio-weight') ?? 0,
    CpuPeriod: integer(flags.cpuPeriod, 'cpu-period') ?? 0,
    CpuQuota: integer(flags.cpuQuota, 'cpu-quota') ?? 0,
    CpuRealtimePeriod: integer(flags.cpuRtPeriod, 'cpu-rt-period') ?? 0,
    CpuRealtimeRuntime: integer(flags.cpuRtRuntime, 'cpu-rt-runtime') ?? 0,
    CpusetCpus: flags.cpusetCpus ?? '',
    CpusetMems: flags.cpusetMems ?? '',
    Devices: (flags.device ?? []).map(parseDevice),
    DeviceCgroupRules: flags.deviceCgroupRule ?? null,
    MemoryReservation: memory(flags.memoryReservation, '--memory-reservation') ?? 0,
    MemorySwap: memory(flags.memorySwap, '--memory-swap') ?? 0,
    MemorySwappiness: integer(flags.memorySwappiness, 'memory-swappiness') ?? null,
    OomKillDisable: flags.oomKillDisable === true,
    PidsLimit: integer(flags.pidsLimit, 'pids-limit') ?? null,
    Ulimits: (flags.ulimit ?? []).map(parseUlimit),
    Mounts: flags.mount?.map(parseMount),
    Annotations: flags.annotation ? toMap(flags.annotation, 'annotation') : undefined,
  };
  if (flags.init) hostConfig.Init = true;
  const request: ContainerCreateRequest = {
    Hostname: flags.hostname ?? '',
    Domainname: flags.domainname ?? '',
    User: flags.user ?? '',
    AttachStdin: attach.stdin,
    AttachStdout: attach.stdout,
    AttachStderr: attach.stderr,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: flags.tty === true,
    OpenStdin: flags.interactive === true,
    StdinOnce: flags.interactive === true && attach.stdin,
    Env: env,
    Cmd: command.length ? command : null,
    Image: image,
    Volumes: Object.keys(anonymous).length ? anonymous : null,
    WorkingDir: flags.workdir ?? '',
    Entrypoint: flags.entrypoint !== undefined ? [flags.entrypoint] : null,
    Labels: labels,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: {} },
  };
  if (flags.macAddress) request.MacAddress = flags.macAddress;
  if (flags.stopSignal) request.StopSignal = flags.stopSignal;
  if (flags.stopTimeout !== undefined) request.StopTimeout = integer(flags.stopTimeout, 'stop-timeout');
  const health = healthcheck(flags);
  if (health) request.Healthcheck = health;
  const endpoint: EndpointSettings = {};
  if (flags.networkAlias?.length) endpoint.Aliases = flags.networkAlias;
  if (flags.ip || flags.ip6) {
    endpoint.IPAMConfig = {};
    if (flags.ip) endpoint.IPAMConfig.IPv4Address = flags.ip;
    if (flags.ip6) endpoint.IPAMConfig.IPv6Address = flags.ip6;
  }
  if (flags.link?.length) endpoint.Links = flags.link;
  if (Object.keys(endpoint).length > 0) {
    request.NetworkingConfig = { EndpointsConfig: { [flags.network ?? 'default']: endpoint } };
  }
  return request;
}

/** `--pull`: always, missing or never. */
export function pullPolicy(value: string | undefined): 'always' | 'missing' | 'never' {
  const policy = value ?? 'missing';
  if (policy !== 'always' && policy !== 'missing' && policy !== 'never') {
    fail(`invalid pull option: '${policy}': must be one of "always", "missing" or "never"`);
  }
  return policy;
}

export { fromHumanSize };
