import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../common/errors.js';
import { log, setLogLevel, type LogLevel } from '../common/log.js';
import { ApiServer } from '../api/server.js';
import { Router } from '../api/router.js';
import { systemRoutes } from '../api/router/system/routes.js';
import { imageRoutes } from '../api/router/image/routes.js';
import { distributionRoutes } from '../api/router/distribution/routes.js';
import { ImageService } from '../engine/images/service.js';
import { allChainIds } from '../engine/images/store.js';
import { ContainerService } from '../engine/containers/service.js';
import { containerRoutes } from '../api/router/container/routes.js';
import { ExecService } from '../engine/containers/exec.js';
import { execRoutes } from '../api/router/exec/routes.js';
import { containerWebSocketRoutes } from '../api/router/container/websocket.js';
import { StatsService } from '../engine/containers/stats.js';
import { containerStatsRoutes } from '../api/router/container/stats.js';
import { HealthMonitor } from '../engine/containers/health.js';
import { containerArchiveRoutes } from '../api/router/container/archive.js';
import { volumeRoutes } from '../api/router/volume/routes.js';
import { VolumeService } from '../engine/volumes/service.js';
import { NetworkService } from '../engine/networks/service.js';
import { networkRoutes } from '../api/router/network/routes.js';
import { BuildService } from '../build/service.js';
import { buildRoutes } from '../api/router/build/routes.js';
import { EventsService } from '../engine/events/service.js';
import { ENGINE_VERSION } from '../common/version.js';
import { SystemService } from '../engine/system/service.js';
import { diskUsage, parseDiskUsageTypes, type DiskUsageSources } from '../engine/system/df.js';
import { removeStaleTempFiles } from '../store/atomic.js';
import { RELOADABLE_KEYS, type DaemonConfig } from './config/options.js';
import { reloadConfig, type CommandLine } from './config/parse.js';
import { ContainerdConnection } from './containerd.js';
import { closeListeners, openListeners, type Listener } from './listeners.js';
import { acquirePidfile, releasePidfile } from './pidfile.js';

export function applyLogLevel(config: DaemonConfig): void {
  setLogLevel(config.debug ? 'debug' : (config['log-level'] as LogLevel));
}

/** berthd: owns the config, the containerd connection, the engine services and the API listeners. */
export class Daemon {
  private listeners: Listener[] = [];
  private readonly events: EventsService;
  private readonly containerd: ContainerdConnection;
  private readonly system: SystemService;
  readonly images: ImageService;
  readonly containers: ContainerService;
  readonly execs: ExecService;
  readonly stats: StatsService;
  private readonly health: HealthMonitor;
  readonly volumes: VolumeService;
  readonly networks: NetworkService;
  readonly builder: BuildService;
  private eventListenerCount = 0;

  constructor(
    private config: DaemonConfig,
    private readonly commandLine: CommandLine,
  ) {
    const dataRoot = config['data-root'];
    this.events = new EventsService(path.join(dataRoot, 'events', 'events.log'));
    this.containerd = new ContainerdConnection(config);
    this.images = new ImageService({
      containerd: () => this.containerd.client,
      events: this.events,
      settings: () => ({
        insecureRegistries: this.config['insecure-registries'],
        mirrors: this.config['registry-mirrors'],
        maxConcurrentDownloads: this.config['max-concurrent-downloads'],
        maxConcurrentUploads: this.config['max-concurrent-uploads'],
      }),
    });
    this.volumes = new VolumeService({ dataRoot, events: this.events });
    this.networks = new NetworkService({
      dataRoot,
      execRoot: config['exec-root'],
      defaultAddressPools: config['default-address-pools'],
      bip: config.bip,
      defaultBridge: config.bridge,
      mtu: config.mtu,
      publish: (type, action, id, attributes) => this.events.publish(type, action, id, attributes),
    });
    this.containers = new ContainerService({
      containerd: () => this.containerd.client,
      images: this.images,
      events: this.events,
      networks: this.networks,
      volumes: this.volumes,
      initPath: '/usr/bin/tini-static',
      settings: () => ({
        dataRoot: this.config['data-root'],
        execRoot: this.config['exec-root'],
        logDriver: this.config['log-driver'],
        logOpts: this.config['log-opts'],
        liveRestore: this.config['live-restore'],
        runtimes: this.config.runtimes,
        defaultRuntime: this.config['default-runtime'],
        shutdownTimeoutSeconds: this.config['shutdown-timeout'],
      }),
    });
    this.images.setImageUsageCheck((imageId) => this.containers.imageUser(imageId));
    this.execs = new ExecService({ containerd: () => this.containerd.client, containers: this.containers });
    this.stats = new StatsService({ containerd: () => this.containerd.client, containers: this.containers });
    this.health = new HealthMonitor({
      entryOf: (term) => this.containers.entryOf(term),
      saveState: (entry) => this.containers.saveState(entry),
      publishEvent: (c, action, extra) => this.containers.publishEvent(c, action, extra),
      runExec: (id, config, options) => this.execs.run(id, config, options),
    });
    this.builder = new BuildService({
      containerd: () => this.containerd.client,
      images: this.images,
      networking: this.networks,
      dataRoot,
      execRoot: config['exec-root'],
      events: this.events,
    });
    this.system = new SystemService({
      config: () => this.config,
      containerdVersion: () => this.containerd.version(),
      counts: async () => ({ ...this.containers.counts(), images: this.images.count() }),
      eventListeners: () => this.eventListenerCount,
    });
  }

  async start(): Promise<void> {
    const dataRoot = this.config['data-root'];
    await fs.mkdir(dataRoot, { recursive: true, mode: 0o710 });
    await fs.mkdir(this.config['exec-root'], { recursive: true, mode: 0o700 });
    await acquirePidfile(this.config.pidfile);
    await removeStaleTempFiles(dataRoot);
    await this.events.load();
    await this.containerd.start();
    await this.images.start();
    await this.networks.start();
    await this.volumes.start();
    // Container events drive the health monitor, from the containers restore starts on.
    this.events.subscribe({ filters: new Map([['type', ['container']]]) }, (event) =>
      this.health.onContainerEvent(event.Action, event.Actor.ID),
    );
    await this.containers.restore();
    for (const running of await this.containers.list({})) this.health.resume(running.Id);
    await this.builder.start();
    await this.system.start(dataRoot);
    const router = new Router();
    router.add(
      systemRoutes({
        info: () => this.system.info(),
        version: () => this.system.version(),
        diskUsage: (types) => diskUsage(this.diskUsageSources(), parseDiskUsageTypes(types)),
        subscribeEvents: (query, onEvent) => {
          const subscription = this.events.subscribe(query, onEvent);
          this.eventListenerCount++;
          return {
            past: subscription.past,
            unsubscribe: () => {
              this.eventListenerCount--;
              subscription.unsubscribe();
            },
          };
        },
      }),
    );
    router.add(imageRoutes(this.images));
    router.add(containerRoutes(this.containers));
    router.add(execRoutes(this.execs));
    router.add(containerWebSocketRoutes(this.containers));
    router.add(containerStatsRoutes(this.stats));
    router.add(containerArchiveRoutes(this.containers));
    router.add(volumeRoutes(this.volumes));
    router.add(networkRoutes(this.networks));
    router.add(distributionRoutes(this.images));
    router.add(buildRoutes(this.builder));
    const api = new ApiServer(router, { engineVersion: ENGINE_VERSION });
    this.listeners = await openListeners(this.config, api);
    log.info('Daemon has completed initialization');
  }

  /** Where /system/df gets its figures: each service's own cached accounting. */
  private diskUsageSources(): DiskUsageSources {
    return {
      images: async () => {
        // Every variant's layers: a multi-platform image holds them all.
        const chainIds = new Map(this.images.store.all().map((image) => [image.id, allChainIds(image)]));
        const summaries = await this.images.list({ all: false, filters: new Map() });
        return summaries.map((summary) => ({ summary, chainIds: chainIds.get(summary.Id) ?? [] }));
      },
      layerSize: (chainId) => this.images.store.layerSize(chainId),
      containers: () => this.containers.diskUsage(),
      imageContainerCounts: () => this.containers.imageContainerCounts(),
      volumes: () => this.volumes.usage(),
      buildCache: () => this.builder.usage(),
    };
  }

  /** SIGHUP: re-read daemon.json; a bad file is reported and the running config kept. */
  async reload(): Promise<void> {
    try {
      const { config, changed } = reloadConfig(this.commandLine, this.config, RELOADABLE_KEYS);
      this.config = config;
      applyLogLevel(config);
      const attributes: Record<string, string> = {};
      for (const key of RELOADABLE_KEYS) attributes[key] = JSON.stringify(config[key]);
      this.events.publish('daemon', 'reload', (await this.system.info()).ID as string, attributes);
      log.info('Reloaded configuration', { changed: changed.join(',') || 'nothing' });
    } catch (err) {
      log.error('Error reloading configuration, keeping the running one', { error: errorMessage(err) });
    }
  }

  async shutdown(): Promise<void> {
    log.info('Processing signal, shutting down');
    await closeListeners(this.listeners);
    await this.containers.shutdown();
    await this.networks.shutdown();
    await this.builder.close();
    this.images.close();
    await this.volumes.close();
    await this.containerd.stop();
    await this.events.flush();
    await releasePidfile(this.config.pidfile);
    log.info('Daemon shutdown complete');
  }
}
