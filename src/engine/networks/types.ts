/**
 * What the container engine exchanges with the network service. The engine
 * calls attachContainer before the task starts (and uses the namespace path
 * it returns in the OCI spec), detachContainer when the task has exited, and
 * connect/disconnect for running containers; it implements
 * ContainerNetworkHooks so the network API can reach containers it does not
 * know.
 */
import type { PortMap } from '../../types/container.js';
import type { EndpointSettings, NetworkSettings } from '../../types/network.js';

export interface AttachRequest {
  containerId: string;
  /** Without the leading slash. */
  containerName: string;
  /** Config.Hostname (the engine's default is the short ID; the host's name in host mode). */
  hostname: string;
  /** Config.Domainname. */
  domainname?: string;
  /** HostConfig.NetworkMode: '', 'default', 'bridge', 'host', 'none', 'container:<full id>', or a network name or ID. */
  networkMode?: string;
  /** NetworkingConfig.EndpointsConfig, keyed by network name or ID. */
  endpointsConfig?: Record<string, EndpointSettings | null> | null;
  /** Legacy Config.MacAddress: applies to the NetworkMode network. */
  macAddress?: string;
  exposedPorts?: Record<string, unknown> | null;
  portBindings?: PortMap | null;
  publishAllPorts?: boolean;
  /** HostConfig.ExtraHosts ("name:ip", "name:host-gateway"). */
  extraHosts?: string[] | null;
  dns?: string[] | null;
  dnsSearch?: string[] | null;
  dnsOptions?: string[] | null;
  /**
   * Directory to write `hosts`, `resolv.conf` and `hostname` into (the engine
   * bind-mounts them). Rewritten in place on connect/disconnect.
   */
  filesDir?: string;
  /**
   * An existing network namespace to configure, owned by the caller. Without
   * it berth creates (and at detach removes) a pinned namespace under
   * `<exec-root>/netns/`.
   */
  netnsPath?: string;
}

export interface AttachResult {
  /**
   * The namespace to put in the OCI spec's network namespace path. Undefined
   * in host mode (no network namespace of its own).
   */
  netnsPath?: string;
  networkSettings: NetworkSettings;
  hostsPath?: string;
  resolvConfPath?: string;
  hostnamePath?: string;
}

/** A network as the hooks see it. */
export interface NetworkRef {
  id: string;
  name: string;
  /** Whether containers on it get DNS names (user-defined bridges); absent means no. */
  dns?: boolean;
}

/**
 * Implemented by the container service: `POST /networks/{id}/connect` and
 * `/disconnect` name a container the network service does not know. For a
 * running container the implementation calls NetworkService.connectContainer /
 * disconnectContainer; for a stopped one it only updates the stored
 * NetworkingConfig (applied at next start), as dockerd does.
 */
export interface ContainerNetworkHooks {
  connect(container: string, network: NetworkRef, endpoint: EndpointSettings): Promise<void>;
  disconnect(container: string, network: NetworkRef, force: boolean): Promise<void>;
}

/** Whether a container still runs (restore after a berthd restart). */
export type IsRunning = (containerId: string) => Promise<boolean>;
