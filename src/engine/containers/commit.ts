/** docker commit: a new image from a container's filesystem changes. */
import type { ContainerConfig } from '../../types/container.js';

export interface CommitRequest {
  container: string;
  repo: string;
  tag: string;
  comment: string;
  author: string;
  /** Pause the container while its changes are read (default true). */
  pause: boolean;
  /** Dockerfile instructions applied to the new image's config (CMD, ENV, ...). */
  changes: string[];
  /** Config overrides from the request body. */
  config?: ContainerConfig;
}
