/**
 * docker create: the request validated and completed as Docker does, merged
 * with the image's config, then the container's volumes, containerd
 * container, /etc files and record, all undone if any step fails.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { invalidParameter, isEngineError } from '../../common/errors.js';
import { logPathFor } from '../../logs/index.js';
import { mergeCommand, mergeConfigWithImage } from '../../oci/command.js';
import { networkModeKind } from '../../oci/namespaces.js';
import { validateResources } from '../../oci/resources.js';
import type { ContainerCreateRequest } from '../../types/container.js';
import type { ContainerContext } from './context.js';
import {
  completeConfig,
  completeHostConfig,
  normalizeStrSlices,
  validateLogConfig,
  validateNamespaceModes,
  validateNetworkMode,
  validateRestartPolicy,
} from './create-config.js';
import { runtimeConfigOf } from './deps.js';
import type { ContainerEntry } from './entry.js';
import { validateHealthcheck } from './health.js';
import { cpuCount } from './host.js';
import { planMounts } from './mounts.js';
import { generateId, generateName, normalizeName } from './names.js';
import { endpointsAtCreate } from './networking.js';
import { newState, nowRfc3339Nano, type Container } from './record.js';
import { layersOf, withReadOnlyRootfs } from './rootfs.js';
import { SNAPSHOTTER, type ContainerRuntime } from './runtime.js';

export interface CreateOptions {
  name?: string;
  platform?: string;
}

export class ContainerCreator {
  constructor(
    private readonly context: ContainerContext,
    private readonly runtime: ContainerRuntime,
  ) {}

  /** The new container, stored and known to containerd; the caller registers it. */
  async create(
    request: ContainerCreateRequest,
    options: CreateOptions = {},
  ): Promise<{ container: Container; warnings: string[] }> {
    const {
      HostConfig: requestedHostConfig,
      NetworkingConfig: networking,
      Platform: _platform,
      ...rawConfig
    } = request;
    const requestConfig = normalizeStrSlices(rawConfig);
    if (!requestConfig.Image) throw invalidParameter('No image specified');
    const settings = this.context.deps.settings();
    const hostConfig = completeHostConfig(requestedHostConfig ?? {}, {
      logDriver: settings.logDriver,
      logOpts: settings.logOpts,
      runtime: settings.defaultRuntime,
      cgroupnsMode: this.runtime.unified ? 'private' : 'host',
    });
    validateRestartPolicy(requestedHostConfig?.RestartPolicy, hostConfig.AutoRemove);
    validateNetworkMode(hostConfig, requestConfig, this.context.deps.networks !== undefined);
    validateLogConfig(hostConfig);
    validateHealthcheck(requestConfig.Healthcheck);
    validateNamespaceModes(hostConfig);
    this.runtime.runtimeOptions(hostConfig);
    const warnings = validateResources(hostConfig, { ncpu: cpuCount() });
    if (hostConfig.NetworkMode?.startsWith('container:'))
      this.context.find(hostConfig.NetworkMode.slice('container:'.length));

    const image = await this.context.deps.images.resolveImage(requestConfig.Image, options.platform);
    const imageConfig = runtimeConfigOf(image);
    const config = completeConfig(mergeConfigWithImage(requestConfig, imageConfig));
    const command = mergeCommand(undefined, config);
    const endpoints = endpointsAtCreate(hostConfig, networking, this.context.deps.networks);
    const mountPoints = await planMounts({
      hostConfig,
      configVolumes: config.Volumes,
      mountsOf: (term) => this.findForVolumesFrom(term).c.MountPoints ?? [],
    });

    const id = generateId();
    const name = options.name
      ? normalizeName(options.name)
      : `/${generateName((n) => this.context.names.has(n))}`;
    this.context.names.reserve(name, id);
    try {
      const network = networkModeKind(hostConfig.NetworkMode);
      if (network === 'host') config.Hostname ||= os.hostname();
      else if (network !== 'container') config.Hostname ||= id.slice(0, 12);
      const dir = this.context.store.dir(id);
      const container: Container = {
        ID: id,
        Created: nowRfc3339Nano(),
        Name: name,
        Path: command.args[0],
        Args: command.args.slice(1),
        Config: config,
        Image: image.id,
        ImageChainId: image.chainId,
        State: newState(),
        RestartCount: 0,
        HasBeenStartedBefore: false,
        HasBeenManuallyStopped: false,
        Driver: SNAPSHOTTER,
        Platform: 'linux',
        // Docker shows the path of json-file logs only.
        LogPath: hostConfig.LogConfig?.Type === 'json-file' ? logPathFor('json-file', { id, dir }) : '',
        HostnamePath: path.join(dir, 'hostname'),
        HostsPath: path.join(dir, 'hosts'),
        ResolvConfPath: path.join(dir, 'resolv.conf'),
        User: { uid: 0, gid: 0, additionalGids: [0], home: '/' },
        HostConfig: hostConfig,
        EndpointsConfig: endpoints,
        MountPoints: mountPoints,
      };
      await fs.mkdir(dir, { recursive: true, mode: 0o710 });
      const createdVolumes: string[] = [];
      try {
        createdVolumes.push(...(await this.context.mounts.createVolumes(mountPoints, hostConfig.Mounts)));
        await this.runtime.createContainerdContainer(container, image);
        await this.copyUpVolumes(container);
        await this.runtime.writeEtcFiles(container);
        await this.context.store.save(container);
      } catch (err) {
        await this.runtime.removeContainerdContainer(id).catch(() => undefined);
        await this.context.store.remove(id);
        await this.context.mounts.removeVolumes(createdVolumes);
        throw err;
      }
      return { container, warnings };
    } catch (err) {
      this.context.names.release(name, id);
      throw err;
    }
  }

  /** --volumes-from names a container; one that does not exist is the request's fault (400, so the CLI does not pull). */
  private findForVolumesFrom(term: string): ContainerEntry {
    try {
      return this.context.find(term);
    } catch (err) {
      if (isEngineError(err, 'NotFound')) throw invalidParameter(err.message);
      throw err;
    }
  }

  /** Docker's copy-up: new volumes are filled from the image's content at their destination. */
  private async copyUpVolumes(c: Container): Promise<void> {
    const points = (c.MountPoints ?? []).filter((p) => p.Type === 'volume' && p.CopyData && !p.Subpath);
    if (points.length === 0) return;
    const layers = layersOf(await this.context.ctr().snapshots.mounts(c.ID));
    await withReadOnlyRootfs(layers, this.context.scratchDir(), (root) =>
      this.context.mounts.copyUp(points, root),
    );
  }
}
