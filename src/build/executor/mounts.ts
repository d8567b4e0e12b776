/**
 * `RUN --mount` made real: cache directories, binds of the context or of
 * another stage/image (resolved inside that tree: no host paths, no symlink
 * escapes; read-only unless `rw`, and then writes go to a throwaway copy),
 * tmpfs, and secrets given to the build. Also the mount-point stubs the
 * runtime leaves in the step's layer, which are removed before the commit
 * (Docker keeps them in a separate init layer).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { invalidParameter, notImplemented } from '../../common/errors.js';
import { openInRoot } from '../../archive/resolve.js';
import type { Mount } from '../../containerd/types.js';
import { layersOf } from '../../engine/containers/rootfs.js';
import type { OciMount } from '../../oci/index.js';
import type { CacheMountStore } from '../cache/mounts.js';
import type { ContextFilter } from '../context/dockerignore.js';
import type { RunMount } from '../dockerfile/mount.js';
import type { RunScript } from '../dockerfile/index.js';
import type { ImageView } from './rootfs.js';

export interface MountEnvironment {
  contextDir: string;
  filter: ContextFilter;
  cacheMounts: CacheMountStore;
  secrets: ReadonlyMap<string, Buffer>;
  scratchDir: string;
  /** A read-only view of the mount's `from` (stage or image). */
  viewFrom(index: number): Promise<ImageView>;
}

export interface PreparedMounts {
  mounts: OciMount[];
  /** Secrets exposed as environment variables. */
  env: string[];
  release(): Promise<void>;
}

/** Where a relative mount target points: below the working directory. */
export function mountTarget(target: string | undefined, workingDir: string): string {
  if (!target) throw invalidParameter('mount target must be specified');
  return path.posix.isAbsolute(target)
    ? path.posix.normalize(target)
    : path.posix.join('/', workingDir || '/', target);
}

export async function prepareRunMounts(
  specs: readonly RunMount[],
  scripts: readonly RunScript[],
  workingDir: string,
  env: MountEnvironment,
): Promise<PreparedMounts> {
  const mounts: OciMount[] = [];
  const extraEnv: string[] = [];
  const releases: (() => Promise<void>)[] = [];
  const dir = path.join(env.scratchDir, `mounts-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  releases.push(() => fs.rm(dir, { recursive: true, force: true }));
  const release = async (): Promise<void> => {
    for (const fn of releases.reverse()) await fn().catch(() => undefined);
  };
  try {
    for (const [index, spec] of specs.entries()) {
      switch (spec.type) {
        case 'cache': {
          const target = mountTarget(spec.target, workingDir);
          if (spec.from) throw notImplemented('cache mounts seeded from a stage (from=) are not supported');
          const acquired = await env.cacheMounts.acquire(spec.id || target, spec.sharing ?? 'shared', {
            mode: spec.mode,
            uid: spec.uid,
            gid: spec.gid,
          });
          releases.push(acquired.release);
          mounts.push(bind(acquired.path, target, spec.readOnly));
          break;
        }
        case 'bind': {
          const target = mountTarget(spec.target, workingDir);
          let root = env.contextDir;
          if (spec.from) {
            const view = await env.viewFrom(index);
            releases.push(view.release);
            root = view.root;
          }
          const source = await resolveSource(root, spec.source ?? '.', spec.from ? undefined : env.filter);
          if (spec.readOnly) {
            mounts.push(bind(source, target, true));
          } else {
            // Writes to a rw bind are discarded after the step (BuildKit): they go to a copy.
            const copy = path.join(dir, `bind-${index}`);
            await fs.cp(source, copy, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
            mounts.push(bind(copy, target, false));
          }
          break;
        }
        case 'tmpfs': {
          const options = ['nosuid', 'nodev', 'mode=1777'];
          if (spec.sizeLimit) options.push(`size=${spec.sizeLimit}`);
          mounts.push({
            destination: mountTarget(spec.target, workingDir),
            type: 'tmpfs',
            source: 'tmpfs',
            options,
          });
          break;
        }
        case 'secret': {
          const id = spec.id || (spec.target ? path.posix.basename(spec.target) : '');
          const value = env.secrets.get(id);
          if (value === undefined) {
            if (spec.required) throw invalidParameter(`secret ${id}: not found`);
            break;
          }
          if (spec.env) extraEnv.push(`${spec.env}=${value.toString('utf8')}`);
          if (spec.env && !spec.target) break;
          const file = path.join(dir, `secret-${index}`);
          await fs.writeFile(file, value, { mode: 0o600 });
          await fs.chown(file, spec.uid ?? 0, spec.gid ?? 0);
          await fs.chmod(file, spec.mode ?? 0o400);
          mounts.push(
            bind(file, spec.target ? mountTarget(spec.target, workingDir) : `/run/secrets/${id}`, true),
          );
          break;
        }
        case 'ssh':
          throw notImplemented('ssh mounts are not supported by berth');
      }
    }
    for (const [index, script] of scripts.entries()) {
      const file = path.join(dir, `script-${index}`);
      await fs.writeFile(file, script.data, { mode: script.mode });
      await fs.chmod(file, script.mode);
      mounts.push(bind(file, script.path, true));
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { mounts, env: extraEnv, release };
}

function bind(source: string, destination: string, readOnly: boolean): OciMount {
  return { destination, type: 'bind', source, options: ['rbind', readOnly ? 'ro' : 'rw'] };
}

/** The host path of `source` inside `root`: symlinks resolved within the root, .dockerignore applied. */
async function resolveSource(root: string, source: string, filter?: ContextFilter): Promise<string> {
  const relative = path.posix.normalize('/' + source).slice(1);
  if (filter && relative !== '' && !filter.includes(relative)) throw sourceMissing(source);
  let at;
  try {
    at = await openInRoot(root, '/' + relative, { followFinalSymlink: true });
  } catch {
    throw sourceMissing(source);
  }
  try {
    if (!at.exists) throw sourceMissing(source);
    // Bind the resolved location, pinned by the open directory fd until the path string is used.
    return await at.hostPath();
  } finally {
    await at.close();
  }
}

const sourceMissing = (source: string): Error =>
  invalidParameter(`failed to compute cache key: "/${source.replace(/^\/+/, '')}" not found`);

/**
 * Removes what the runtime created in the step's writable layer only to
 * mount something there: empty files and directories at mount points (and
 * their empty parents) that no lower layer has.
 */
export async function removeMountStubs(
  rootfs: readonly Mount[],
  destinations: readonly string[],
): Promise<void> {
  const layers = layersOf([...rootfs]);
  const candidates = new Set<string>();
  for (const destination of destinations) {
    let current = path.posix.normalize(destination);
    while (current !== '/' && current !== '.') {
      candidates.add(current);
      current = path.posix.dirname(current);
    }
  }
  const ordered = [...candidates].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const candidate of ordered) {
    const upperPath = path.join(layers.upper, candidate);
    const st = await fs.lstat(upperPath).catch(() => undefined);
    if (!st) continue;
    let below = false;
    for (const lower of layers.lowers) {
      if (await fs.lstat(path.join(lower, candidate)).catch(() => undefined)) {
        below = true;
        break;
      }
    }
    if (below) continue;
    if (st.isDirectory() && (await fs.readdir(upperPath)).length === 0)
      await fs.rmdir(upperPath).catch(() => undefined);
    else if (st.isFile() && st.size === 0) await fs.unlink(upperPath).catch(() => undefined);
  }
}
