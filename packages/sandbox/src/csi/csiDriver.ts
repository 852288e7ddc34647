import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs';
import path from 'node:path';
import { controllerService } from './controllerService';
import { unaryHandlers } from './csiErrors';
import { loadCsiProtos } from './csiProto';
import { DriverState } from './driverState';
import { identityService } from './identityService';
import { KeyedLock } from './keyedLock';
import { nodeService } from './nodeService';
import { VolumeAttachments } from './volumeAttachments';
import { VolumeFiles } from './volumeFiles';

export type StartCsiDriverOptions = {
  /** The unix socket to serve on (made anew; its folder is created). */
  socketPath: string;
  /** Volumes, snapshots and the driver's state file live here. */
  storageDir: string;
  /** Reported by NodeGetInfo (the Kubernetes node name). */
  nodeName: string;
  log?: (message: string) => void;
};

export type CsiDriver = {
  socketPath: string;
  files: VolumeFiles;
  /** The JSON file recording loop devices and mounts (see releaseRecordedState). */
  stateFile: string;
  /** Stops serving (in-flight calls are cancelled). Mounts and loop devices stay: see releaseRecordedState. */
  stop(): Promise<void>;
};

/** Path of the driver's state file under its storage folder. */
export const driverStateFile = (storageDir: string) => path.join(storageDir, 'driver-state.json');

/**
 * Starts the CSI driver sandbox.ferry.io in this process: Identity, Controller and Node
 * services over gRPC on a unix socket.
 */
export async function startCsiDriver(options: StartCsiDriverOptions): Promise<CsiDriver> {
  const log = options.log ?? (() => undefined);
  const protos = loadCsiProtos();
  const files = new VolumeFiles(options.storageDir);
  const stateFile = driverStateFile(options.storageDir);
  const state = new DriverState(stateFile);
  const lock = new KeyedLock();
  const attachments = new VolumeAttachments(files, state, log);

  const server = new grpc.Server();
  server.addService(protos.identity.service, unaryHandlers('Identity', identityService(), log));
  server.addService(
    protos.controller.service,
    unaryHandlers('Controller', controllerService({ files, attachments, lock, log }), log),
  );
  server.addService(
    protos.node.service,
    unaryHandlers('Node', nodeService({ nodeName: options.nodeName, files, attachments, state, lock, log }), log),
  );
  const socketPath = path.resolve(options.socketPath);
  await listenOnUnixSocket(server, socketPath);
  log(`CSI driver listening on ${socketPath}`);
  return {
    socketPath,
    files,
    stateFile,
    async stop() {
      await Promise.race([
        new Promise<void>(resolve => server.tryShutdown(() => resolve())),
        new Promise<void>(resolve => setTimeout(resolve, 2000).unref()),
      ]);
      server.forceShutdown();
      fs.rmSync(socketPath, { force: true });
    },
  };
}

/** Binds a gRPC server to a fresh unix socket (a stale socket file of a dead process is removed). */
export async function listenOnUnixSocket(server: grpc.Server, socketPath: string): Promise<void> {
  if (Buffer.byteLength(socketPath) > 107) {
    throw new Error(`socket path ${socketPath} is longer than the 107 bytes a unix socket address holds`);
  }
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  fs.rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), error =>
      error ? reject(new Error(`could not listen on ${socketPath}: ${error.message}`)) : resolve(),
    ),
  );
}
