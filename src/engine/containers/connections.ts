/**
 * The network service's hooks into containers: `POST /networks/{id}/connect`
 * and `/disconnect`, for running containers at once and for stopped ones as
 * the configuration of their next start.
 */
import { forbidden, invalidParameter } from '../../common/errors.js';
import type { EndpointSettings } from '../../types/network.js';
import type { NetworkRef } from '../networks/types.js';
import type { ContainerContext } from './context.js';
import { attachKindOf, attachesThroughNetworkService } from './networking.js';

export class ContainerConnections {
  constructor(private readonly context: ContainerContext) {}

  /**
   * `POST /networks/{id}/connect`: a running container is connected now; a
   * stopped one only remembers the network for its next start, as dockerd does.
   */
  async connect(term: string, network: NetworkRef, endpoint: EndpointSettings): Promise<void> {
    const entry = this.context.find(term);
    await entry.lock(async () => {
      const c = entry.c;
      const kind = attachKindOf(c.HostConfig);
      if (kind === 'container')
        throw invalidParameter(
          'container sharing network namespace with another container or host cannot be connected to any other network',
        );
      const endpoints = { ...(c.EndpointsConfig ?? {}) };
      if (c.State.Running && kind === 'attach') {
        await this.context.deps.networks!.connectContainer(c.ID, network.id, endpoint);
      } else {
        if (endpoints[network.name])
          throw forbidden(`endpoint with name ${c.Name.slice(1)} already exists in network ${network.name}`);
        if (kind === 'none' || c.HostConfig.NetworkMode === 'host')
          throw forbidden(
            kind === 'none'
              ? 'container cannot be connected to multiple networks with one of the networks in private (none) mode'
              : 'container cannot be disconnected from host network or connected to host network',
          );
      }
      const kept: EndpointSettings = {};
      if (endpoint.IPAMConfig) kept.IPAMConfig = endpoint.IPAMConfig;
      if (endpoint.Aliases?.length) kept.Aliases = endpoint.Aliases;
      if (endpoint.Links?.length) kept.Links = endpoint.Links;
      if (endpoint.MacAddress) kept.MacAddress = endpoint.MacAddress;
      if (endpoint.DriverOpts) kept.DriverOpts = endpoint.DriverOpts;
      endpoints[network.name] = kept;
      c.EndpointsConfig = endpoints;
      await this.context.save(entry);
    });
  }

  async disconnect(term: string, network: NetworkRef, force: boolean): Promise<void> {
    const entry = this.context.find(term);
    await entry.lock(async () => {
      const c = entry.c;
      if (c.State.Running && attachesThroughNetworkService(c.HostConfig)) {
        await this.context.deps.networks!.disconnectContainer(c.ID, network.id, force);
      } else if (!c.EndpointsConfig?.[network.name]) {
        throw invalidParameter(`container ${c.ID} is not connected to the network ${network.name}`);
      } else {
        this.context.deps.networks!.recordStoppedDisconnect(c.ID, network.id);
      }
      const endpoints = { ...(c.EndpointsConfig ?? {}) };
      delete endpoints[network.name];
      c.EndpointsConfig = endpoints;
      await this.context.save(entry);
    });
  }
}
