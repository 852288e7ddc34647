import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { csiProtoDir } from './csiBinaries';

/**
 * Options shared by the driver and its clients: field names as in the .proto (snake_case),
 * enums as their names, int64 as JS numbers (sizes stay far below 2^53), oneof members named.
 */
const loaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

type ServiceClient = grpc.ServiceClientConstructor;

export type CsiProtos = {
  identity: ServiceClient;
  controller: ServiceClient;
  node: ServiceClient;
  registration: ServiceClient;
};

let cached: { dir: string; protos: CsiProtos } | undefined;

/**
 * The CSI spec's services (csi.v1 Identity, Controller, Node from `csi.proto` of
 * github.com/container-storage-interface/spec) and the kubelet's plugin-registration service
 * (`pluginregistration.Registration` from k8s.io/kubelet), loaded with @grpc/proto-loader from
 * the files the build script caches.
 */
export function loadCsiProtos(dir = csiProtoDir()): CsiProtos {
  if (cached?.dir === dir) return cached.protos;
  const csi = grpc.loadPackageDefinition(protoLoader.loadSync(path.join(dir, 'csi.proto'), loaderOptions));
  const registration = grpc.loadPackageDefinition(
    protoLoader.loadSync(path.join(dir, 'pluginregistration', 'api.proto'), loaderOptions),
  );
  const protos: CsiProtos = {
    identity: lookupService(csi, 'csi.v1.Identity'),
    controller: lookupService(csi, 'csi.v1.Controller'),
    node: lookupService(csi, 'csi.v1.Node'),
    registration: lookupService(registration, 'pluginregistration.Registration'),
  };
  cached = { dir, protos };
  return protos;
}

function lookupService(root: grpc.GrpcObject, dotted: string): ServiceClient {
  let node: unknown = root;
  for (const part of dotted.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (typeof node !== 'function' || !('service' in node)) {
    throw new Error(`service ${dotted} is missing from the loaded proto files`);
  }
  return node as ServiceClient;
}
