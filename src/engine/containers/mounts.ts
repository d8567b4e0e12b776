/**
 * A container's volumes, bind mounts and tmpfs mounts, as Docker registers
 * them: resolved once at create (from --volumes-from, Binds, Mounts and the
 * image's VOLUMEs, anonymous volumes created and filled from the image),
 * mounted through the volume service at every start and released at every
 * exit.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveInRoot, type ContainerMount } from '../../archive/index.js';
import { errorMessage, invalidParameter, isEngineError, systemError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { parseTmpfsOptions } from '../../oci/mounts.js';
import type { OciMount } from '../../oci/types.js';
import type { HostConfig, Mount, MountPoint } from '../../types/container.js';
import type { ContainerVolumes } from './deps.js';

/** One mount of a container, as stored with it (Docker's MountPoint). */
export interface MountPointRecord {
  Type: 'volume' | 'bind' | 'tmpfs';
  /** The volume's name. */
  Name?: string;
  /** Host path of a bind. */
  Source: string;
  Destination: string;
  Driver?: string;
  /** The mode string the user gave (`ro`, `rw,rshared`, ...); `z` for a `-v` volume without one, as Docker shows. */
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** A volume created for this container: `rm -v` removes it. */
  Anonymous?: boolean;
  /** Fill the volume with the image's content at the destination when it is empty (not after volume-nocopy). */
  CopyData?: boolean;
  /** volume-subpath: the directory of the volume to mount. */
  Subpath?: string;
  /** tmpfs data options (`size=65536k,mode=1777`). */
  TmpfsData?: string;
  /** `-v /missing:/x`: the host directory is created at start (Docker's legacy behaviour). */
  CreateSource?: boolean;
}

const PROPAGATIONS: readonly string[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const LABEL_MODES = ['z', 'Z'];
const COPY_MODES = ['nocopy'];
const CONSISTENCY_MODES = ['consistent', 'cached', 'delegated'];
const DEFAULT_PROPAGATION = 'rprivate';

/** Docker's check of a `-v` mode string: known words, at most one of each kind. */
function validMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = [0, 0, 0, 0, 0];
  for (const word of mode.split(',')) {
    const kind = [['ro', 'rw'], LABEL_MODES, PROPAGATIONS, COPY_MODES, CONSISTENCY_MODES].findIndex((words) =>
      words.includes(word),
    );
    if (kind < 0) return false;
    counts[kind]++;
  }
  return counts.every((n) => n <= 1);
}

const readWrite = (mode: string): boolean => !mode.split(',').includes('ro');
const propagationOf = (mode: string): string =>
  mode.split(',').find((word) => PROPAGATIONS.includes(word)) ?? DEFAULT_PROPAGATION;

function cleanDestination(destination: string, fail: (reason: string) => Error): string {
  if (!destination.startsWith('/'))
    throw fail(`invalid mount path: '${destination}' mount path must be absolute`);
  const clean = path.posix.normalize(destination).replace(/(.)\/+$/, '$1');
  if (clean === '/') throw fail("invalid specification: destination can't be '/'");
  return clean;
}

/** A `-v`/Binds entry (`src:dst[:mode]`) as a mount point; volumes are not created yet. */
export function parseBind(raw: string): MountPointRecord {
  const invalidSpec = (reason?: string): Error =>
    invalidParameter(`invalid volume specification: '${raw}'${reason ? `: ${reason}` : ''}`);
  const parts = raw.split(':');
  if (parts[0] === '' || parts.length > 3) throw invalidSpec();
  if (parts.length === 1) throw invalidSpec();
  if (parts.length === 2 && validMode(parts[1]) && !parts[1].startsWith('/')) throw invalidSpec();
  const [source, target, mode = ''] = parts;
  if (!validMode(mode)) throw invalidParameter(`invalid mode: ${mode}`);
  const isBind = source.startsWith('/');
  const type = isBind ? 'bind' : 'volume';
  const destination = cleanDestination(target, (reason) =>
    invalidSpec(`invalid mount config for type "${type}": ${reason}`),
  );
  if (isBind) {
    return {
      Type: 'bind',
      Source: path.posix.normalize(source),
      Destination: destination,
      Mode: mode,
      RW: readWrite(mode),
      Propagation: propagationOf(mode),
      CreateSource: true,
    };
  }
  return {
    Type: 'volume',
    Name: source,
    Source: '',
    Destination: destination,
    Driver: 'local',
    Mode: mode || 'z',
    RW: readWrite(mode),
    Propagation: '',
    CopyData: !mode.split(',').includes('nocopy'),
  };
}

/** tmpfs data options of a Mounts entry (Docker's ConvertTmpfsOptions). */
function tmpfsData(options: Mount['TmpfsOptions'], readOnly: boolean): string {
  const data: string[] = [];
  if (readOnly) data.push('ro');
  if (options?.Mode) data.push(`mode=${options.Mode.toString(8)}`);
  if (options?.SizeBytes) {
    let size = options.SizeBytes;
    let suffix = '';
    for (const [unit, divisor] of [
      ['g', 2 ** 30],
      ['m', 2 ** 20],
      ['k', 2 ** 10],
    ] as const) {
      if (size % divisor === 0) {
        size /= divisor;
        suffix = unit;
        break;
      }
    }
    data.push(`size=${size}${suffix}`);
  }
  for (const option of options?.Options ?? []) {
    if (option.length < 1 || option.length > 2) throw new Error('invalid option array length');
    if (option[0] !== 'exec' && option[0] !== 'noexec') throw new Error(`invalid option: ${option[0]}`);
    data.push(option.join('='));
  }
  return data.join(',');
}

/** A HostConfig.Mounts entry as a mount point, checked as Docker checks it. */
export async function parseMountSpec(spec: Mount): Promise<MountPointRecord> {
  const type = spec.Type ?? '';
  const fail = (reason: string): Error =>
    invalidParameter(`invalid mount config for type "${type}": ${reason}`);
  if (!spec.Target) throw fail('field Target must not be empty');
  const destination = cleanDestination(spec.Target, fail);
  const readOnly = spec.ReadOnly === true;
  switch (type) {
    case 'bind': {
      if (!spec.Source) throw fail('field Source must not be empty');
      if (spec.VolumeOptions) throw fail('field VolumeOptions must not be specified');
      if (!spec.Source.startsWith('/'))
        throw fail(`invalid mount path: '${spec.Source}' mount path must be absolute`);
      const propagation = spec.BindOptions?.Propagation || DEFAULT_PROPAGATION;
      if (!PROPAGATIONS.includes(propagation)) throw fail(`invalid propagation mode: ${propagation}`);
      const source = path.posix.normalize(spec.Source);
      const create = spec.BindOptions?.CreateMountpoint === true;
      if (!create && !(await exists(source))) throw fail(`bind source path does not exist: ${source}`);
      return {
        Type: 'bind',
        Source: source,
        Destination: destination,
        Mode: '',
        RW: !readOnly,
        Propagation: propagation,
        CreateSource: create,
      };
    }
    case 'volume': {
      if (spec.BindOptions) throw fail('field BindOptions must not be specified');
      const anonymous = !spec.Source;
      const subpath = spec.VolumeOptions?.Subpath ?? '';
      if (subpath) {
        if (anonymous) throw fail('must not set Subpath when using anonymous volumes');
        const clean = path.posix.normalize(subpath);
        if (subpath.startsWith('/') || clean === '..' || clean.startsWith('../'))
          throw fail('subpath must be a relative path within the volume');
      }
      if (readOnly && anonymous) throw fail('must not set ReadOnly mode when using anonymous volumes');
      return {
        Type: 'volume',
        Name: spec.Source || undefined,
        Source: '',
        Destination: destination,
        Driver: spec.VolumeOptions?.DriverConfig?.Name || 'local',
        Mode: '',
        RW: !readOnly,
        Propagation: '',
        CopyData: spec.VolumeOptions?.NoCopy !== true,
        Subpath: subpath || undefined,
      };
    }
    case 'tmpfs': {
      if (spec.BindOptions) throw fail('field BindOptions must not be specified');
      if (spec.Source) throw fail('field Source must not be specified');
      let data: string;
      try {
        data = tmpfsData(spec.TmpfsOptions, readOnly);
        parseTmpfsOptions(data);
      } catch (err) {
        throw fail(errorMessage(err));
      }
      return {
        Type: 'tmpfs',
        Source: '',
        Destination: destination,
        Mode: '',
        RW: !readOnly,
        Propagation: '',
        TmpfsData: data,
      };
    }
    default:
      throw fail('mount type unknown');
  }
}

/** `container[:mode]` of --volumes-from. */
export function parseVolumesFrom(spec: string): { container: string; mode: string } {
  if (spec === '') throw invalidParameter('volumes-from specification cannot be an empty string');
  const colon = spec.indexOf(':');
  const container = colon < 0 ? spec : spec.slice(0, colon);
  const mode = colon < 0 ? '' : spec.slice(colon + 1);
  const words = mode.split(',');
  if (!validMode(mode) || words.some((w) => PROPAGATIONS.includes(w) || COPY_MODES.includes(w)))
    throw invalidParameter(`invalid mode: ${mode}`);
  return { container, mode };
}

const duplicate = (destination: string): Error => invalidParameter(`Duplicate mount point: ${destination}`);

export interface MountPlanInput {
  hostConfig: HostConfig;
  /** Config.Volumes after merging the image's (anonymous `-v /path` and image VOLUMEs). */
  configVolumes: Record<string, unknown> | null | undefined;
  /** The mount points of a --volumes-from container (NotFound when there is none). */
  mountsOf: (container: string) => MountPointRecord[];
}

/**
 * The container's mount points, in Docker's order of precedence: mounts of
 * --volumes-from containers, replaced by Binds at the same destination,
 * then Mounts (a Mounts destination already bound is a duplicate), then an
 * anonymous volume for each remaining Config.Volumes path. Volumes are not
 * created here (see ContainerMounts.createVolumes).
 */
export async function planMounts(input: MountPlanInput): Promise<MountPointRecord[]> {
  const hc = input.hostConfig;
  const points = new Map<string, MountPointRecord>();
  for (const spec of hc.VolumesFrom ?? []) {
    const { container, mode } = parseVolumesFrom(spec);
    for (const point of input.mountsOf(container)) {
      if (point.Type === 'tmpfs') continue;
      points.set(point.Destination, {
        ...point,
        RW: point.RW && (mode === '' || readWrite(mode)),
        CopyData: false,
      });
    }
  }
  const bound = new Set<string>();
  const tmpfs = new Set(Object.keys(hc.Tmpfs ?? {}).map((d) => path.posix.normalize(d)));
  for (const raw of hc.Binds ?? []) {
    const point = parseBind(raw);
    if (bound.has(point.Destination) || tmpfs.has(point.Destination)) throw duplicate(point.Destination);
    bound.add(point.Destination);
    points.set(point.Destination, point);
  }
  for (const spec of hc.Mounts ?? []) {
    const point = await parseMountSpec(spec);
    if (bound.has(point.Destination) || tmpfs.has(point.Destination)) throw duplicate(point.Destination);
    bound.add(point.Destination);
    points.set(point.Destination, point);
  }
  for (const raw of Object.keys(input.configVolumes ?? {})) {
    const destination = cleanDestination(raw, (reason) =>
      invalidParameter(`invalid volume specification: '${raw}': ${reason}`),
    );
    if (points.has(destination) || tmpfs.has(destination)) continue;
    points.set(destination, {
      Type: 'volume',
      Source: '',
      Destination: destination,
      Driver: 'local',
      Mode: '',
      RW: true,
      Propagation: '',
      CopyData: true,
      Anonymous: true,
    });
  }
  return [...points.values()];
}

/** `Mounts` of inspect and list: what Docker shows for each kind. */
export function mountPointView(point: MountPointRecord, volumePath: (name: string) => string): MountPoint {
  if (point.Type === 'volume') {
    return {
      Type: 'volume',
      Name: point.Name ?? '',
      Source: point.Name ? volumePath(point.Name) : '',
      Destination: point.Destination,
      Driver: point.Driver ?? 'local',
      Mode: point.Mode,
      RW: point.RW,
      Propagation: point.Propagation,
    };
  }
  return {
    Type: point.Type,
    Source: point.Source,
    Destination: point.Destination,
    Mode: point.Mode,
    RW: point.RW,
    Propagation: point.Propagation,
  };
}

/** OCI mounts for the points, given the host path of each volume or bind. */
export function ociMountsOf(
  points: readonly MountPointRecord[],
  hostPaths: ReadonlyMap<string, string>,
): OciMount[] {
  return points.map((point) => {
    if (point.Type === 'tmpfs') {
      return {
        destination: point.Destination,
        type: 'tmpfs',
        source: 'tmpfs',
        options: parseTmpfsOptions(point.TmpfsData ?? ''),
      };
    }
    return {
      destination: point.Destination,
      type: 'bind',
      source: hostPaths.get(point.Destination) ?? point.Source,
      options: ['rbind', point.RW ? 'rw' : 'ro', point.Propagation || DEFAULT_PROPAGATION],
    };
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * The container service's side of volumes: creates what a container's
 * mount points need, mounts them for each run and lets go after it.
 */
export class ContainerMounts {
  /** Volumes each container has mounted for its current run. */
  private readonly mounted = new Map<string, string[]>();

  constructor(private readonly volumes: ContainerVolumes | undefined) {}

  volumePath(name: string): string {
    return this.volumes?.dataPath(name) ?? '';
  }

  /**
   * Creates the volumes of new mount points: named ones that do not exist
   * yet, and a fresh anonymous volume for each point without a name. Returns
   * the names of the volumes created (to remove them if the create fails).
   */
  async createVolumes(points: MountPointRecord[], specs: readonly Mount[] | undefined): Promise<string[]> {
    const created: string[] = [];
    const volumes = this.volumes;
    for (const point of points) {
      if (point.Type !== 'volume') continue;
      if (!volumes) throw systemError('volumes are not available in this berthd');
      if (point.Name && volumes.has(point.Name)) continue;
      const spec = specs?.find(
        (m) =>
          m.Type === 'volume' &&
          m.Target &&
          cleanDestination(m.Target, (r) => new Error(r)) === point.Destination,
      );
      const volume = await volumes.create({
        Name: point.Name,
        Driver: point.Driver,
        DriverOpts: spec?.VolumeOptions?.DriverConfig?.Options ?? null,
        Labels: spec?.VolumeOptions?.Labels ?? null,
      });
      point.Name = volume.Name;
      created.push(volume.Name);
    }
    return created;
  }

  /** Docker's copy-up: each new volume that wants it is filled from the image root. */
  async copyUp(points: MountPointRecord[], imageRoot: string): Promise<void> {
    for (const point of points) {
      if (point.Type !== 'volume' || !point.CopyData || point.Subpath || !point.Name) continue;
      await this.volumes?.copyUp(point.Name, imageRoot, point.Destination);
    }
  }

  /** Removes volumes (a failed create's, or rm -v's anonymous ones); volumes still in use stay. */
  async removeVolumes(names: readonly string[]): Promise<void> {
    for (const name of names) {
      try {
        await this.volumes?.remove(name);
      } catch (err) {
        if (!isEngineError(err, 'NotFound'))
          log.warn('could not remove the volume of a removed container', {
            volume: name,
            error: errorMessage(err),
          });
      }
    }
  }

  /**
   * Mounts what a run needs: each volume through the volume service (its
   * `mount` event), bind sources created where Docker creates them. Returns
   * the OCI mounts. On failure everything mounted so far is released.
   */
  async mountForRun(containerId: string, points: readonly MountPointRecord[]): Promise<OciMount[]> {
    await this.unmountAfterRun(containerId);
    const hostPaths = new Map<string, string>();
    const taken: string[] = [];
    this.mounted.set(containerId, taken);
    try {
      for (const point of points) {
        if (point.Type === 'volume' && point.Name && this.volumes) {
          const dataPath = await this.volumes.mountForContainer(point.Name, containerId, {
            destination: point.Destination,
            readWrite: point.RW,
            propagation: point.Propagation,
          });
          taken.push(point.Name);
          hostPaths.set(
            point.Destination,
            point.Subpath ? await subpathOf(dataPath, point.Subpath) : dataPath,
          );
        } else if (point.Type === 'bind') {
          await prepareBindSource(point);
        }
      }
    } catch (err) {
      await this.unmountAfterRun(containerId);
      throw err;
    }
    return ociMountsOf(points, hostPaths);
  }

  /** The OCI mounts a run would get, without mounting anything (the spec written at create). */
  plannedMounts(points: readonly MountPointRecord[]): OciMount[] {
    const hostPaths = new Map<string, string>();
    for (const point of points) {
      if (point.Type === 'volume' && point.Name) {
        const dataPath = this.volumePath(point.Name);
        hostPaths.set(point.Destination, point.Subpath ? path.join(dataPath, point.Subpath) : dataPath);
      }
    }
    return ociMountsOf(points, hostPaths);
  }

  /** After the run: every volume it mounted is released (its `unmount` event). */
  async unmountAfterRun(containerId: string): Promise<void> {
    const names = this.mounted.get(containerId);
    this.mounted.delete(containerId);
    for (const name of names ?? []) {
      await this.volumes?.unmountForContainer(name, containerId).catch((err: unknown) =>
        log.warn('releasing a volume failed', {
          volume: name,
          container: containerId,
          error: errorMessage(err),
        }),
      );
    }
  }

  /** After a berthd restart: a container still running has its volumes back in the books. */
  async restoreRun(containerId: string, points: readonly MountPointRecord[]): Promise<void> {
    const taken: string[] = [];
    for (const point of points) {
      if (point.Type !== 'volume' || !point.Name || !this.volumes) continue;
      try {
        await this.volumes.restoreMount(point.Name, containerId);
        taken.push(point.Name);
      } catch (err) {
        log.warn('restoring a volume mount failed', { volume: point.Name, error: errorMessage(err) });
      }
    }
    this.mounted.set(containerId, taken);
  }

  /**
   * The mounts an archive operation sees in the container: volumes and binds
   * (tmpfs contents live only inside the container).
   */
  archiveMounts(points: readonly MountPointRecord[]): ContainerMount[] {
    const mounts: ContainerMount[] = [];
    for (const point of points) {
      if (point.Type === 'tmpfs') continue;
      let source = point.Source;
      if (point.Type === 'volume') {
        if (!point.Name) continue;
        source = this.volumePath(point.Name);
        if (point.Subpath) source = path.join(source, point.Subpath);
      }
      mounts.push({ destination: point.Destination, source, readOnly: !point.RW });
    }
    return mounts;
  }

  /** The volume service re-measures volumes an archive wrote into. */
  noteWritten(points: readonly MountPointRecord[], containerPath: string): void {
    const target = path.posix.normalize(containerPath);
    for (const point of points) {
      if (point.Type !== 'volume' || !point.Name) continue;
      const d = point.Destination;
      if (target === d || target.startsWith(`${d}/`) || d.startsWith(`${target === '/' ? '' : target}/`))
        this.volumes?.noteChanged(point.Name);
    }
  }
}

/** The host directory of a volume's sub-path, resolved inside the volume (its symlinks cannot lead out). */
async function subpathOf(dataPath: string, subpath: string): Promise<string> {
  const resolved = await resolveInRoot(dataPath, `/${subpath}`, { followFinalSymlink: true });
  try {
    const st = await fs.stat(resolved);
    if (!st.isDirectory() && !st.isFile()) throw new Error('not a directory or file');
  } catch (err) {
    throw invalidParameter(
      `cannot access path ${path.join(dataPath, subpath)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : errorMessage(err)}`,
    );
  }
  return resolved;
}

/** A bind source that is missing: `-v` creates it as a directory, as Docker always has; --mount refuses. */
async function prepareBindSource(point: MountPointRecord): Promise<void> {
  if (await exists(point.Source)) return;
  if (!point.CreateSource)
    throw invalidParameter(
      `invalid mount config for type "bind": bind source path does not exist: ${point.Source}`,
    );
  try {
    await fs.mkdir(point.Source, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw systemError(`error while creating mount source path '${point.Source}': ${errorMessage(err)}`, err);
  }
}
