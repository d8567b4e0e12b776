import {
  OCI_TYPE_URL_PREFIX,
  fromWireAny,
  jsonAny,
  timestampToDate,
  toWireAny,
  tryDecodeAny,
  type AnyMessage,
  type WireAny,
  type WireTimestamp,
} from '../any.js';
import type { CallOptions, Connection } from '../connection.js';
import type { CgroupV1Metrics, CgroupV2Metrics } from '../metrics.js';
import { toWireDescriptor, toWireMount, type Descriptor, type Mount } from '../types.js';

export type TaskStatus = 'unknown' | 'created' | 'running' | 'stopped' | 'paused' | 'pausing';

export interface ProcessState {
  containerId: string;
  /** Exec id for an exec process; the container id for the init process. */
  id: string;
  pid: number;
  status: TaskStatus;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  exitedAt?: Date;
}

export interface ExitStatus {
  /** 128+signal for a process killed by a signal. */
  exitStatus: number;
  exitedAt?: Date;
}

export interface DeletedProcess extends ExitStatus {
  pid: number;
}

/** FIFO paths (or '' for none) and terminal mode of a process's stdio. */
export interface ProcessIO {
  stdin?: string;
  stdout?: string;
  stderr?: string;
  terminal?: boolean;
}

export interface CreateTaskRequest extends ProcessIO {
  containerId: string;
  /** Mounts of the container's root filesystem (from Snapshots.prepare/mounts). */
  rootfs: Mount[];
  /** Per-task runtime options (containerd.runc.v1.Options); defaults to the container's. */
  options?: AnyMessage;
  checkpoint?: Descriptor;
  runtimePath?: string;
}

export interface ExecRequest extends ProcessIO {
  containerId: string;
  execId: string;
  /** OCI process spec object (sent as JSON), or a ready Any. */
  spec: Record<string, unknown> | AnyMessage;
}

export interface ProcessInfo {
  pid: number;
  /** Exec id when the PID belongs to an exec process started through containerd. */
  execId?: string;
}

export type TaskMetricsData =
  | { type: 'cgroups.v1'; metrics: CgroupV1Metrics }
  | { type: 'cgroups.v2'; metrics: CgroupV2Metrics }
  | { type: 'unknown'; any: AnyMessage };

export interface TaskMetrics {
  /** The container id. */
  id: string;
  timestamp?: Date;
  data: TaskMetricsData;
}

interface WireProcess {
  container_id: string;
  id: string;
  pid: number;
  status: string;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exit_status: number;
  exited_at: WireTimestamp | null;
}

interface WireExit {
  pid?: number;
  exit_status: number;
  exited_at: WireTimestamp | null;
}

function fromWireProcess(p: WireProcess, containerId?: string): ProcessState {
  const state: ProcessState = {
    // Get/List leave container_id empty and put the container id in id.
    containerId: containerId ?? (p.container_id || p.id),
    id: p.id,
    pid: p.pid,
    status: (p.status ?? 'UNKNOWN').toLowerCase() as TaskStatus,
    stdin: p.stdin,
    stdout: p.stdout,
    stderr: p.stderr,
    terminal: p.terminal,
    exitStatus: p.exit_status,
  };
  const exitedAt = timestampToDate(p.exited_at);
  if (exitedAt) state.exitedAt = exitedAt;
  return state;
}

function fromWireExit(e: WireExit): ExitStatus {
  const exit: ExitStatus = { exitStatus: e.exit_status };
  const exitedAt = timestampToDate(e.exited_at);
  if (exitedAt) exit.exitedAt = exitedAt;
  return exit;
}

function wireIO(io: ProcessIO): Record<string, unknown> {
  return {
    stdin: io.stdin ?? '',
    stdout: io.stdout ?? '',
    stderr: io.stderr ?? '',
    terminal: io.terminal ?? false,
  };
}

function isAnyMessage(value: unknown): value is AnyMessage {
  const v = value as AnyMessage;
  return typeof v?.typeUrl === 'string' && Buffer.isBuffer(v.value);
}

function decodeMetrics(any: AnyMessage | undefined): TaskMetricsData {
  if (!any) return { type: 'unknown', any: { typeUrl: '', value: Buffer.alloc(0) } };
  switch (any.typeUrl) {
    case 'io.containerd.cgroups.v1.Metrics':
      return { type: 'cgroups.v1', metrics: tryDecodeAny(any) as CgroupV1Metrics };
    case 'io.containerd.cgroups.v2.Metrics':
      return { type: 'cgroups.v2', metrics: tryDecodeAny(any) as CgroupV2Metrics };
    default:
      return { type: 'unknown', any };
  }
}

/**
 * containerd's Tasks service: the running side of a container (its init
 * process and execs) managed through the shim.
 */
export class TasksService {
  constructor(private readonly conn: Connection) {}

  /**
   * Creates the task (shim + runtime create; the process does not run yet).
   * Open the read ends of stdout/stderr FIFOs before calling this: the shim
   * blocks until a reader exists.
   */
  async create(request: CreateTaskRequest, options?: CallOptions): Promise<{ pid: number }> {
    const wire: Record<string, unknown> = {
      container_id: request.containerId,
      rootfs: request.rootfs.map(toWireMount),
      ...wireIO(request),
      runtime_path: request.runtimePath ?? '',
    };
    if (request.options) wire.options = toWireAny(request.options);
    if (request.checkpoint) wire.checkpoint = toWireDescriptor(request.checkpoint);
    const res = await this.conn.unary<{ pid: number }>('tasks', 'Create', wire, options);
    return { pid: res.pid };
  }

  /** Starts the init process, or exec `execId`. Issue wait() before this so a fast exit is not missed. */
  async start(containerId: string, execId = '', options?: CallOptions): Promise<{ pid: number }> {
    const res = await this.conn.unary<{ pid: number }>(
      'tasks',
      'Start',
      { container_id: containerId, exec_id: execId },
      options,
    );
    return { pid: res.pid };
  }

  /**
   * Resolves when the process exits (immediately if it already has and the
   * task is not deleted). Fails Unavailable if containerd goes away meanwhile:
   * re-issue it after reconnecting.
   */
  async wait(containerId: string, execId = '', options?: CallOptions): Promise<ExitStatus> {
    const request = { container_id: containerId, exec_id: execId };
    return fromWireExit(await this.conn.unary<WireExit>('tasks', 'Wait', request, options));
  }

  /** Sends `signal` to the process (or every process of the task with `all`). */
  async kill(
    containerId: string,
    signal: number,
    opts: { execId?: string; all?: boolean } = {},
    options?: CallOptions,
  ): Promise<void> {
    const request = { container_id: containerId, exec_id: opts.execId ?? '', signal, all: opts.all ?? false };
    await this.conn.unary('tasks', 'Kill', request, options);
  }

  /** Deletes a stopped task (runtime delete, shim exit, rootfs unmount). */
  async delete(containerId: string, options?: CallOptions): Promise<DeletedProcess> {
    const res = await this.conn.unary<WireExit>('tasks', 'Delete', { container_id: containerId }, options);
    return { pid: res.pid ?? 0, ...fromWireExit(res) };
  }

  /** Releases an exited exec process. */
  async deleteProcess(containerId: string, execId: string, options?: CallOptions): Promise<DeletedProcess> {
    const request = { container_id: containerId, exec_id: execId };
    const res = await this.conn.unary<WireExit>('tasks', 'DeleteProcess', request, options);
    return { pid: res.pid ?? 0, ...fromWireExit(res) };
  }

  async get(containerId: string, execId = '', options?: CallOptions): Promise<ProcessState> {
    const request = { container_id: containerId, exec_id: execId };
    const res = await this.conn.unary<{ process: WireProcess }>('tasks', 'Get', request, options);
    return fromWireProcess(res.process, containerId);
  }

  /** Tasks of the namespace (init processes only). */
  async list(filter = '', options?: CallOptions): Promise<ProcessState[]> {
    const res = await this.conn.unary<{ tasks: WireProcess[] }>('tasks', 'List', { filter }, options);
    return res.tasks.map((p) => fromWireProcess(p));
  }

  /** Adds exec process `execId` to a running task; start it with start(containerId, execId). */
  async exec(request: ExecRequest, options?: CallOptions): Promise<void> {
    const spec = isAnyMessage(request.spec)
      ? request.spec
      : jsonAny(`${OCI_TYPE_URL_PREFIX}Process`, request.spec);
    const wire = {
      container_id: request.containerId,
      exec_id: request.execId,
      ...wireIO(request),
      spec: toWireAny(spec),
    };
    await this.conn.unary('tasks', 'Exec', wire, options);
  }

  async resizePty(
    containerId: string,
    size: { width: number; height: number },
    execId = '',
    options?: CallOptions,
  ): Promise<void> {
    const request = { container_id: containerId, exec_id: execId, width: size.width, height: size.height };
    await this.conn.unary('tasks', 'ResizePty', request, options);
  }

  /**
   * Closes the process's stdin: the shim drops its own write end of the stdin
   * FIFO, so once ours is closed too the process reads what is left, then EOF.
   */
  async closeIO(containerId: string, execId = '', options?: CallOptions): Promise<void> {
    await this.conn.unary(
      'tasks',
      'CloseIO',
      { container_id: containerId, exec_id: execId, stdin: true },
      options,
    );
  }

  async pause(containerId: string, options?: CallOptions): Promise<void> {
    await this.conn.unary('tasks', 'Pause', { container_id: containerId }, options);
  }

  async resume(containerId: string, options?: CallOptions): Promise<void> {
    await this.conn.unary('tasks', 'Resume', { container_id: containerId }, options);
  }

  /** PIDs (host namespace) of every process in the task. */
  async listPids(containerId: string, options?: CallOptions): Promise<ProcessInfo[]> {
    const res = await this.conn.unary<{ processes: { pid: number; info: WireAny | null }[] }>(
      'tasks',
      'ListPids',
      { container_id: containerId },
      options,
    );
    return res.processes.map((p) => {
      const info: ProcessInfo = { pid: p.pid };
      const any = fromWireAny(p.info);
      const details = any && (tryDecodeAny(any) as { execId?: string } | undefined);
      if (details?.execId) info.execId = details.execId;
      return info;
    });
  }

  /**
   * Updates the task's resources: an OCI LinuxResources object (sent as JSON)
   * or a ready Any; annotations are passed to the runtime.
   */
  async update(
    containerId: string,
    resources: Record<string, unknown> | AnyMessage,
    annotations: Record<string, string> = {},
    options?: CallOptions,
  ): Promise<void> {
    const any = isAnyMessage(resources)
      ? resources
      : jsonAny(`${OCI_TYPE_URL_PREFIX}LinuxResources`, resources);
    await this.conn.unary(
      'tasks',
      'Update',
      { container_id: containerId, resources: toWireAny(any), annotations },
      options,
    );
  }

  /** cgroup metrics of the given containers' tasks (all tasks of the namespace when empty). */
  async metrics(containerIds: string[] = [], options?: CallOptions): Promise<TaskMetrics[]> {
    const filters = containerIds.map((id) => `id==${JSON.stringify(id)}`);
    const res = await this.conn.unary<{
      metrics: { id: string; timestamp: WireTimestamp | null; data: WireAny | null }[];
    }>('tasks', 'Metrics', { filters }, options);
    return res.metrics.map((m) => ({
      id: m.id,
      timestamp: timestampToDate(m.timestamp),
      data: decodeMetrics(fromWireAny(m.data)),
    }));
  }
}
