import type { Readable, Writable } from 'node:stream';
import type { BuildPruneResponse, BuildRequest, BuildResult, PruneRequest } from '../../../build/service.js';
import type { JSONMessage } from '../../../types/image.js';

/** What the build routes need from the engine (moby's build router backend). */
export interface BuildBackend {
  build(
    body: Readable,
    request: BuildRequest,
    sink: (message: JSONMessage) => void,
    signal: AbortSignal,
  ): Promise<BuildResult>;
  prune(request: PruneRequest): Promise<BuildPruneResponse>;
  /** Checks the image, then returns the writer of its filesystem tar. */
  exportFilesystem(id: string): Promise<(out: Writable) => Promise<void>>;
}
