import type { Readable, Writable } from 'node:stream';
import type { Filters } from '../../httputils.js';
import type { ProgressWriter } from '../../../engine/images/progress.js';
import type {
  ImportRequest,
  ListRequest,
  PullRequest,
  PushRequest,
  RemoveRequest,
} from '../../../engine/images/service.js';
import type {
  HistoryItem,
  ImageDeleteResponseItem,
  ImageInspect,
  ImagePruneResponse,
  ImageSummary,
} from '../../../types/image.js';

/** What the image routes need from the engine (moby's image router backend). */
export interface ImageBackend {
  pull(request: PullRequest, progress: ProgressWriter): Promise<void>;
  importImage(source: Readable, request: ImportRequest, progress: ProgressWriter): Promise<void>;
  push(request: PushRequest, progress: ProgressWriter): Promise<void>;
  list(request: ListRequest): Promise<ImageSummary[]>;
  inspect(refOrId: string): Promise<ImageInspect>;
  history(refOrId: string): Promise<HistoryItem[]>;
  tag(source: string, repo: string, tag: string): Promise<void>;
  remove(refOrId: string, request: RemoveRequest): Promise<ImageDeleteResponseItem[]>;
  prune(filters: Filters): Promise<ImagePruneResponse>;
  /** Checks the names, then returns the writer of the archive (so unknown names fail before any byte). */
  exportImages(names: string[]): Promise<(out: Writable) => Promise<void>>;
  load(source: Readable, quiet: boolean, progress: ProgressWriter): Promise<void>;
}
