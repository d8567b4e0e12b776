/**
 * What the container API shows without changing anything: inspect, the
 * list, disk usage, top, the filesystem diff and export.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import tar from 'tar-stream';
import { conflict } from '../../common/errors.js';
import type { EndpointSettings, NetworkSettings } from '../../types/network.js';
import type {
  ContainerChange,
  ContainerInspect,
  ContainerSummary,
  ContainerTopResponse,
  MountPoint,
  Port,
} from '../../types/container.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { ContainerContext } from './context.js';
import { packDirectory } from './export.js';
import { inspectContainer, summarizeContainer } from './inspect.js';
import { selectContainers, type ListFilters } from './list.js';
import { mountPointView } from './mounts.js';
import { idleNetworkSettings, portList } from './networking.js';
import type { Container } from './record.js';
import { filesystemChanges, layersOf, runtimeMountpoints, withReadOnlyRootfs } from './rootfs.js';
import { runPs } from './top.js';

/** How long /system/df waits for layer measurements under way before answering with the last known sizes. */
const DF_BUDGET_MS = 30;

export interface ListRequest {
  all?: boolean;
  limit?: number;
  size?: boolean;
  filters?: ListFilters;
}

export class ContainerViews {
  constructor(private readonly context: ContainerContext) {}

  private get ctr(): ContainerdClient {
    return this.context.ctr();
  }

  /** The live NetworkSettings of a running container, or its configured networks otherwise. */
  networkSettingsOf(c: Container): NetworkSettings {
    const live = c.State.Running ? this.context.deps.networks?.networkSettings(c.ID) : undefined;
    return live ?? idleNetworkSettings(c.EndpointsConfig ?? {}, this.context.deps.networks, c);
  }

  private mountViews(c: Container): MountPoint[] {
    return (c.MountPoints ?? []).map((p) =>
      mountPointView(p, (name) => this.context.mounts.volumePath(name)),
    );
  }

  /** What a list entry shows of the network: published ports while running, the networks always. */
  private summaryNetworking(c: Container): { ports?: Port[]; networks: Record<string, EndpointSettings> } {
    const settings = this.networkSettingsOf(c);
    const live = c.State.Running && settings.SandboxKey !== '';
    return { ...(live ? { ports: portList(settings.Ports) } : {}), networks: settings.Networks };
  }

  async inspect(term: string, options: { size?: boolean } = {}): Promise<ContainerInspect> {
    const entry = this.context.find(term);
    const c = entry.c;
    let graphDriverData: Record<string, string> | null = null;
    try {
      entry.mounts ??= await this.ctr.snapshots.mounts(c.ID);
      const layers = layersOf(entry.mounts);
      graphDriverData = {
        LowerDir: layers.lowers.join(':'),
        UpperDir: layers.upper,
        WorkDir: path.join(path.dirname(layers.upper), 'work'),
        MergedDir: path.join(path.dirname(layers.upper), 'merged'),
      };
    } catch {
      graphDriverData = null;
    }
    const sizes = options.size ? await this.sizes(c) : {};
    return inspectContainer(c, {
      ...sizes,
      graphDriverData,
      networkSettings: this.networkSettingsOf(c),
      mounts: this.mountViews(c),
    });
  }

  private async sizes(c: Container): Promise<{ sizeRw: number; sizeRootFs: number }> {
    const sizeRw = await this.ctr.snapshots.usage(c.ID).then(
      (u) => u.size,
      () => 0,
    );
    let imageSize = 0;
    let key: string | undefined = c.ImageChainId;
    while (key) {
      const info: { parent?: string } | undefined = await this.ctr.snapshots
        .tryStat(key)
        .catch(() => undefined);
      if (!info) break;
      imageSize += await this.ctr.snapshots.usage(key).then(
        (u) => u.size,
        () => 0,
      );
      key = info.parent;
    }
    return { sizeRw, sizeRootFs: sizeRw + imageSize };
  }

  async list(request: ListRequest = {}): Promise<ContainerSummary[]> {
    const containers = [...this.context.entries.values()].map((e) => e.c);
    const selected = await selectContainers(
      containers,
      { all: request.all ?? false, limit: request.limit ?? -1, filters: request.filters ?? new Map() },
      {
        lookup: (term) => this.context.find(term).c,
        ancestorImageIds: async (value) => {
          try {
            return new Set([(await this.context.deps.images.resolveImage(value)).id]);
          } catch {
            return new Set<string>();
          }
        },
        health: (c) => c.State.Health?.Status ?? 'none',
      },
    );
    const imageNames = new Map<string, Promise<string>>();
    const imageNameOf = (c: Container): Promise<string> => {
      const key = `${c.Config.Image}\n${c.Image}`;
      let name = imageNames.get(key);
      if (!name) {
        // A reference that now names another image (retagged, removed) shows the ID instead, as Docker does.
        name = this.context.deps.images.resolveImage(c.Config.Image ?? '').then(
          (image) => (image.id === c.Image ? (c.Config.Image ?? '') : c.Image),
          () => c.Image,
        );
        imageNames.set(key, name);
      }
      return name;
    };
    return Promise.all(
      selected.map(async (c) =>
        summarizeContainer(c, await imageNameOf(c), {
          ...(request.size ? await this.sizes(c) : {}),
          ...this.summaryNetworking(c),
          mounts: this.mountViews(c),
        }),
      ),
    );
  }

  /**
   * Every container with its writable layer's size, for `/system/df`: sizes
   * come from the background cache (refreshed within a few ms at most), not
   * from a scan of every layer as dockerd does.
   */
  async diskUsage(): Promise<ContainerSummary[]> {
    await this.context.layerSizes.refresh(
      this.context.entries.keys(),
      (id) => this.context.entries.get(id)?.c.State.Running === true,
      DF_BUDGET_MS,
    );
    const summaries = await this.list({ all: true });
    for (const summary of summaries) summary.SizeRw = this.context.layerSizes.get(summary.Id);
    return summaries;
  }

  /** How many containers (any state) use each image. */
  imageContainerCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { c } of this.context.entries.values()) counts.set(c.Image, (counts.get(c.Image) ?? 0) + 1);
    return counts;
  }

  async top(term: string, psArgs: string): Promise<ContainerTopResponse> {
    const entry = this.context.find(term);
    const c = entry.c;
    if (!c.State.Running || c.State.Restarting) throw conflict(`Container ${c.ID} is not running`);
    const pids = new Set((await this.ctr.tasks.listPids(c.ID)).map((p) => p.pid));
    const result = await runPs(psArgs, pids);
    this.context.event(c, 'top');
    return result;
  }

  async changes(term: string): Promise<ContainerChange[]> {
    const entry = this.context.find(term);
    entry.mounts ??= await this.ctr.snapshots.mounts(entry.id);
    return filesystemChanges(layersOf(entry.mounts), new Set(runtimeMountpoints(entry.c.HostConfig)));
  }

  /** A tar stream of the container's filesystem; the event is emitted once it is fully written. */
  async export(term: string): Promise<Readable> {
    const entry = this.context.find(term);
    entry.mounts ??= await this.ctr.snapshots.mounts(entry.id);
    const layers = layersOf(entry.mounts);
    await fs.mkdir(this.context.scratchDir(), { recursive: true, mode: 0o700 });
    const out = new PassThrough();
    const pack = tar.pack();
    // A client that goes away mid-archive ends the walk, never the daemon.
    pack.on('error', () => undefined);
    out.on('close', () => pack.destroy());
    pack.pipe(out);
    void withReadOnlyRootfs(layers, this.context.scratchDir(), (root) => packDirectory(root, pack))
      .then(() => this.context.event(entry.c, 'export'))
      .catch((err) => out.destroy(err instanceof Error ? err : new Error(String(err))));
    return out;
  }

  /** The container using an image (for rmi and image prune), preferring a running one. */
  imageUser(imageId: string): { containerId: string; running: boolean } | undefined {
    let found: { containerId: string; running: boolean } | undefined;
    for (const { c } of this.context.entries.values()) {
      if (c.Image !== imageId) continue;
      if (c.State.Running) return { containerId: c.ID, running: true };
      found ??= { containerId: c.ID, running: false };
    }
    return found;
  }
}
