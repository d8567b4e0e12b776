/**
 * Docker Engine API volume models (API v1.41). Field names are exactly as on
 * the wire.
 */

export interface VolumeUsageData {
  /** Bytes; -1 when not computed. */
  Size: number;
  /** Containers using the volume; -1 when not computed. */
  RefCount: number;
}

/** `GET /volumes/{name}` and entries of `GET /volumes`. */
export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  /** RFC 3339. */
  CreatedAt?: string;
  Status?: Record<string, unknown>;
  Labels: Record<string, string> | null;
  Scope: 'local' | 'global';
  Options: Record<string, string> | null;
  UsageData?: VolumeUsageData | null;
  /** Swarm cluster volumes only (API 1.42+). */
  ClusterVolume?: unknown;
}

/** Body of `POST /volumes/create`. */
export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  /** Swarm cluster volumes only (API 1.42+). */
  ClusterVolumeSpec?: unknown;
}

export interface VolumeListResponse {
  Volumes: Volume[];
  Warnings: string[] | null;
}

export interface VolumePruneResponse {
  VolumesDeleted: string[] | null;
  SpaceReclaimed: number;
}
