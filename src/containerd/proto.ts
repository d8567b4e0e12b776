/**
 * Loads berth's containerd .proto files once: a gRPC package definition for
 * the services and a protobufjs Root for the payloads containerd wraps in Any
 * (events, runc options, cgroup metrics), which proto-loader leaves encoded.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

/** proto/containerd at the repository root, from dist/src/containerd or src/containerd. */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/containerd', import.meta.url));

const PROTO_FILES = [
  'services/version.proto',
  'services/introspection.proto',
  'services/namespaces.proto',
  'services/events.proto',
  'services/leases.proto',
  'services/content.proto',
  'services/diff.proto',
  'services/snapshots.proto',
  'services/images.proto',
  'services/containers.proto',
  'services/tasks.proto',
  'events/events.proto',
  'events/image_events.proto',
  'runc_options.proto',
  'cgroups/v1_metrics.proto',
  'cgroups/v2_metrics.proto',
];

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // Well-known google/protobuf imports resolve to protobufjs' bundled copies
  // when left relative; everything else lives under PROTO_DIR.
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') || path.isAbsolute(target) ? target : path.join(PROTO_DIR, target);
  root.loadSync(PROTO_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

let cachedRoot: protobuf.Root | undefined;
let cachedServices: grpc.GrpcObject | undefined;

/** The protobufjs Root with every message berth knows (snake_case field names). */
export function protoRoot(): protobuf.Root {
  cachedRoot ??= loadRoot();
  return cachedRoot;
}

/** The loaded gRPC object tree (containerd.services.<name>.v1.<Service>). */
export function grpcServices(): grpc.GrpcObject {
  cachedServices ??= grpc.loadPackageDefinition(protoLoader.fromJSON(protoRoot().toJSON(), LOADER_OPTIONS));
  return cachedServices;
}

export type ServiceName =
  | 'version'
  | 'introspection'
  | 'namespaces'
  | 'events'
  | 'leases'
  | 'content'
  | 'diff'
  | 'snapshots'
  | 'images'
  | 'containers'
  | 'tasks';

const SERVICE_PATHS: Record<ServiceName, string> = {
  version: 'containerd.services.version.v1.Version',
  introspection: 'containerd.services.introspection.v1.Introspection',
  namespaces: 'containerd.services.namespaces.v1.Namespaces',
  events: 'containerd.services.events.v1.Events',
  leases: 'containerd.services.leases.v1.Leases',
  content: 'containerd.services.content.v1.Content',
  diff: 'containerd.services.diff.v1.Diff',
  snapshots: 'containerd.services.snapshots.v1.Snapshots',
  images: 'containerd.services.images.v1.Images',
  containers: 'containerd.services.containers.v1.Containers',
  tasks: 'containerd.services.tasks.v1.Tasks',
};

export const SERVICE_NAMES = Object.keys(SERVICE_PATHS) as ServiceName[];

export function serviceConstructor(name: ServiceName): grpc.ServiceClientConstructor {
  let node: unknown = grpcServices();
  for (const part of SERVICE_PATHS[name].split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function')
    throw new Error(`containerd service ${SERVICE_PATHS[name]} missing from protos`);
  return node as grpc.ServiceClientConstructor;
}
