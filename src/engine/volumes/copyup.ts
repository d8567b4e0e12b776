import { copyDirectoryInto, type CopyResult } from '../../archive/index.js';

/**
 * Docker's volume copy-up: if `volumeDataDir` is empty and the image has a
 * directory at `pathInImage` (resolved inside `imageRootfsDir`, symlinks
 * followed as in the container), copies its content in, keeping owners,
 * modes, times, symlinks and hard links, and gives the volume's root the
 * source directory's owner and mode. Never follows a symlink out of the
 * image root. VolumeService.copyUp wraps this with mounting and size
 * accounting; this form is for callers holding a data directory already.
 */
export function copyUp(
  imageRootfsDir: string,
  pathInImage: string,
  volumeDataDir: string,
): Promise<CopyResult> {
  return copyDirectoryInto(imageRootfsDir, pathInImage, volumeDataDir);
}
