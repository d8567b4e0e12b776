/**
 * The daemon's options: one descriptor per option, shared by the flag parser,
 * the daemon.json reader, validation and SIGHUP reload, so an option is
 * declared once and behaves the same from every source.
 */
export interface RuntimeConfig {
  path: string;
  runtimeArgs?: string[];
}

export interface AddressPool {
  base: string;
  size: number;
}

export interface DaemonConfig {
  hosts: string[];
  tls: boolean;
  tlsverify: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  'allow-insecure-tcp': boolean;
  'data-root': string;
  'exec-root': string;
  pidfile: string;
  debug: boolean;
  'log-level': string;
  containerd?: string;
  'containerd-namespace': string;
  'live-restore': boolean;
  'default-runtime': string;
  runtimes: Record<string, RuntimeConfig>;
  'insecure-registries': string[];
  'registry-mirrors': string[];
  'max-concurrent-downloads': number;
  'max-concurrent-uploads': number;
  'log-driver': string;
  'log-opts': Record<string, string>;
  'default-address-pools': AddressPool[];
  bip?: string;
  bridge?: string;
  mtu?: number;
  group: string;
  'shutdown-timeout': number;
  labels: string[];
}

export type ConfigKey = keyof DaemonConfig;

/** How a flag's text becomes a config value. */
export type FlagKind = 'bool' | 'string' | 'int' | 'list' | 'map' | 'runtime' | 'pool';

export interface OptionDescriptor {
  key: ConfigKey;
  /** dockerd's flag name when it differs from the daemon.json key. */
  flag?: string;
  short?: string;
  kind: FlagKind;
  reloadable: boolean;
  description: string;
}

export const OPTIONS: readonly OptionDescriptor[] = [
  {
    key: 'hosts',
    flag: 'host',
    short: 'H',
    kind: 'list',
    reloadable: false,
    description: 'Daemon socket(s) to connect to',
  },
  { key: 'tls', kind: 'bool', reloadable: false, description: 'Use TLS; implied by --tlsverify' },
  { key: 'tlsverify', kind: 'bool', reloadable: false, description: 'Use TLS and verify the remote' },
  { key: 'tlscacert', kind: 'string', reloadable: false, description: 'Trust certs signed only by this CA' },
  { key: 'tlscert', kind: 'string', reloadable: false, description: 'Path to TLS certificate file' },
  { key: 'tlskey', kind: 'string', reloadable: false, description: 'Path to TLS key file' },
  {
    key: 'allow-insecure-tcp',
    kind: 'bool',
    reloadable: false,
    description: 'Allow non-loopback tcp:// listeners without --tlsverify (dangerous)',
  },
  { key: 'data-root', kind: 'string', reloadable: false, description: 'Root directory of persistent state' },
  {
    key: 'exec-root',
    kind: 'string',
    reloadable: false,
    description: 'Root directory for execution state files',
  },
  {
    key: 'pidfile',
    short: 'p',
    kind: 'string',
    reloadable: false,
    description: 'Path to use for daemon PID file',
  },
  { key: 'debug', short: 'D', kind: 'bool', reloadable: true, description: 'Enable debug mode' },
  { key: 'log-level', short: 'l', kind: 'string', reloadable: true, description: 'Set the logging level' },
  {
    key: 'containerd',
    kind: 'string',
    reloadable: false,
    description: 'containerd grpc address (else supervised)',
  },
  {
    key: 'containerd-namespace',
    kind: 'string',
    reloadable: false,
    description: 'containerd namespace to use',
  },
  {
    key: 'live-restore',
    kind: 'bool',
    reloadable: true,
    description: 'Keep containers alive during daemon downtime',
  },
  {
    key: 'default-runtime',
    kind: 'string',
    reloadable: true,
    description: 'Default OCI runtime for containers',
  },
  {
    key: 'runtimes',
    flag: 'add-runtime',
    kind: 'runtime',
    reloadable: true,
    description: 'Register an additional OCI runtime (name=path)',
  },
  {
    key: 'insecure-registries',
    flag: 'insecure-registry',
    kind: 'list',
    reloadable: true,
    description: 'Enable insecure registry communication',
  },
  {
    key: 'registry-mirrors',
    flag: 'registry-mirror',
    kind: 'list',
    reloadable: true,
    description: 'Preferred registry mirror',
  },
  {
    key: 'max-concurrent-downloads',
    kind: 'int',
    reloadable: true,
    description: 'Max concurrent downloads per pull',
  },
  {
    key: 'max-concurrent-uploads',
    kind: 'int',
    reloadable: true,
    description: 'Max concurrent uploads per push',
  },
  { key: 'log-driver', kind: 'string', reloadable: false, description: 'Default driver for container logs' },
  {
    key: 'log-opts',
    flag: 'log-opt',
    kind: 'map',
    reloadable: false,
    description: 'Default log driver options for containers',
  },
  {
    key: 'default-address-pools',
    flag: 'default-address-pool',
    kind: 'pool',
    reloadable: false,
    description: 'Default address pools for networks',
  },
  { key: 'bip', kind: 'string', reloadable: false, description: 'Network bridge IP' },
  {
    key: 'bridge',
    short: 'b',
    kind: 'string',
    reloadable: false,
    description: 'Interface of the default bridge network',
  },
  { key: 'mtu', kind: 'int', reloadable: false, description: 'MTU of the default bridge network' },
  { key: 'group', short: 'G', kind: 'string', reloadable: false, description: 'Group for the unix socket' },
  {
    key: 'shutdown-timeout',
    kind: 'int',
    reloadable: true,
    description: 'Default shutdown timeout in seconds',
  },
  {
    key: 'labels',
    flag: 'label',
    kind: 'list',
    reloadable: true,
    description: 'Set key=value labels to the daemon',
  },
];

export const RELOADABLE_KEYS: ReadonlySet<ConfigKey> = new Set(
  OPTIONS.filter((o) => o.reloadable).map((o) => o.key),
);

export const DEFAULT_CONFIG_FILE = '/etc/berth/daemon.json';

export function defaultConfig(): DaemonConfig {
  return {
    hosts: [],
    tls: false,
    tlsverify: false,
    'allow-insecure-tcp': false,
    'data-root': '/var/lib/berth',
    'exec-root': '/var/run/berth',
    pidfile: '/var/run/berth.pid',
    debug: false,
    'log-level': 'info',
    'containerd-namespace': 'berth',
    'live-restore': false,
    'default-runtime': 'runc',
    runtimes: {},
    'insecure-registries': [],
    'registry-mirrors': [],
    'max-concurrent-downloads': 3,
    'max-concurrent-uploads': 5,
    'log-driver': 'json-file',
    'log-opts': {},
    'default-address-pools': [],
    group: 'berth',
    'shutdown-timeout': 15,
    labels: [],
  };
}

export const DEFAULT_UNIX_SOCKET = '/var/run/berth.sock';
