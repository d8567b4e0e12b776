import type { Readable } from 'node:stream';
import type {
  AttachRequest,
  CreateOptions,
  ListRequest,
  LogsRequest,
  RemoveOptions,
  StopOptions,
  WaitCondition,
} from '../../../engine/containers/service.js';
import type { LogEntry } from '../../../engine/containers/jsonlog.js';
import type { OutputSink } from '../../../engine/containers/stdio.js';
import type { CommitRequest } from '../../../engine/containers/commit.js';
import type {
  ContainerChange,
  ContainerCreateRequest,
  ContainerInspect,
  ContainerSummary,
  ContainerTopResponse,
  ContainerUpdateRequest,
  ContainerWaitResponse,
} from '../../../types/container.js';
import type { Filters } from '../../httputils.js';

/** What the container routes need from the engine (moby's container router backend). */
export interface ContainerBackend {
  create(
    request: ContainerCreateRequest,
    options: CreateOptions,
  ): Promise<{ Id: string; Warnings: string[] }>;
  list(request: ListRequest): Promise<ContainerSummary[]>;
  inspect(term: string, options: { size?: boolean }): Promise<ContainerInspect>;
  start(term: string): Promise<void>;
  stop(term: string, options: StopOptions): Promise<void>;
  restart(term: string, options: StopOptions): Promise<void>;
  kill(term: string, signal?: string): Promise<void>;
  pause(term: string): Promise<void>;
  unpause(term: string): Promise<void>;
  wait(term: string, condition: WaitCondition, signal?: AbortSignal): Promise<ContainerWaitResponse>;
  remove(term: string, options: RemoveOptions): Promise<void>;
  rename(term: string, name: string): Promise<void>;
  update(term: string, request: ContainerUpdateRequest): Promise<{ Warnings: string[] | null }>;
  top(term: string, psArgs: string): Promise<ContainerTopResponse>;
  changes(term: string): Promise<ContainerChange[]>;
  export(term: string): Promise<Readable>;
  prune(filters: Filters): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
  isTty(term: string): boolean;
  attach(term: string, request: AttachRequest, sink: OutputSink): Promise<void>;
  logs(term: string, request: LogsRequest): { tty: boolean; batches: AsyncGenerator<LogEntry[]> };
  resize(term: string, height: number, width: number): Promise<void>;
  commit(request: CommitRequest): Promise<{ Id: string }>;
}
