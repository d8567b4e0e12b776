import type { Filters } from '../../httputils.js';
import type {
  EndpointSettings,
  Network,
  NetworkCreateRequest,
  NetworkCreateResponse,
  NetworkPruneResponse,
} from '../../../types/network.js';

/** What the network routes need from the engine (NetworkService implements it). */
export interface NetworkBackend {
  create(request: NetworkCreateRequest): Promise<NetworkCreateResponse>;
  list(filters: Filters): Network[];
  inspect(term: string, scope?: string): Network;
  remove(term: string): Promise<void>;
  prune(filters: Filters): Promise<NetworkPruneResponse>;
  connect(network: string, container: string, endpoint: EndpointSettings | null | undefined): Promise<void>;
  disconnect(network: string, container: string, force: boolean): Promise<void>;
}
