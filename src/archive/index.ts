/** Safe in-root path resolution and in-process tar creation/extraction for `docker cp` and copy-up. */
export { copyDirectoryInto, type CopyResult } from './copy.js';
export { archivePath, createArchive, deviceNumbers, type CreateArchiveOptions } from './create.js';
export { decompressStream, detectCompression, type Compression } from './decompress.js';
export {
  containerFileNotFound,
  extractPointNotDirectory,
  PathNotFoundError,
  rootfsReadOnly,
  volumeReadOnly,
} from './errors.js';
export { extractArchive, type ExtractOptions } from './extract.js';
export {
  cleanPath,
  hasTrailingDirMarker,
  MAX_SYMLINKS,
  openDirInRoot,
  openInRoot,
  resolveInRoot,
  RootedPath,
  type ContainerMount,
  type ResolveOptions,
} from './resolve.js';
export {
  decodePathStat,
  encodePathStat,
  formatRFC3339,
  goFileMode,
  GO_MODE,
  PATH_STAT_HEADER,
  statPath,
  type PathStat,
} from './stat.js';
export { treeSize } from './size.js';
