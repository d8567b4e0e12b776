import type { Filters } from '../../httputils.js';
import type {
  Volume,
  VolumeCreateRequest,
  VolumeListResponse,
  VolumePruneResponse,
} from '../../../types/volume.js';

/** What the volume routes need from the engine (the VolumeService). */
export interface VolumeBackend {
  create(request: VolumeCreateRequest): Promise<Volume>;
  inspect(name: string, options: { withUsage?: boolean }): Promise<Volume>;
  list(filters: Filters): VolumeListResponse;
  remove(name: string, options: { force?: boolean }): Promise<void>;
  prune(filters: Filters, options: { apiVersion?: string }): Promise<VolumePruneResponse>;
}
