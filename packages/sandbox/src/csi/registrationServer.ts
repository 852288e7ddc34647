import * as grpc from '@grpc/grpc-js';
import fs from 'node:fs';
import path from 'node:path';
import { csiDriverName, registrationSocketName } from './constants';
import { listenOnUnixSocket } from './csiDriver';
import { unaryHandlers } from './csiErrors';
import { loadCsiProtos } from './csiProto';

export type RegistrationServerOptions = {
  /** The kubelet's plugins_registry folder (`<kubelet root dir>/plugins_registry`). */
  registrationDir: string;
  /** The CSI driver's socket, which the kubelet then dials for the Node service. */
  driverSocketPath: string;
  log?: (message: string) => void;
};

export type RegistrationServer = {
  socketPath: string;
  /** Resolves with the kubelet's verdict once NotifyRegistrationStatus arrived. */
  registered: Promise<{ registered: boolean; error: string }>;
  stop(): Promise<void>;
};

/**
 * Plays node-driver-registrar's part (that sidecar is not served as a Go module here): serves the
 * kubelet's plugin-registration API (`pluginregistration.Registration`, k8s.io/kubelet
 * pkg/apis/pluginregistration/v1) on `<registrationDir>/sandbox.ferry.io-reg.sock`. The kubelet's
 * plugin watcher finds the socket, calls GetInfo (type CSIPlugin, the driver's name and socket,
 * CSI version 1.0.0), registers the driver (NodeGetInfo, CSINode) and reports the outcome with
 * NotifyRegistrationStatus.
 */
export async function startRegistrationServer(options: RegistrationServerOptions): Promise<RegistrationServer> {
  const log = options.log ?? (() => undefined);
  const protos = loadCsiProtos();
  let settle: (status: { registered: boolean; error: string }) => void = () => undefined;
  const registered = new Promise<{ registered: boolean; error: string }>(resolve => {
    settle = resolve;
  });
  const server = new grpc.Server();
  server.addService(
    protos.registration.service,
    unaryHandlers(
      'Registration',
      {
        GetInfo: async () => ({
          type: 'CSIPlugin',
          name: csiDriverName,
          endpoint: options.driverSocketPath,
          supported_versions: ['1.0.0'],
        }),
        NotifyRegistrationStatus: async (status: { plugin_registered: boolean; error: string }) => {
          if (status.plugin_registered) log(`The kubelet registered CSI driver ${csiDriverName}`);
          else log(`The kubelet refused CSI driver ${csiDriverName}: ${status.error}`);
          settle({ registered: status.plugin_registered, error: status.error });
          return {};
        },
      },
      log,
    ),
  );
  const socketPath = path.join(path.resolve(options.registrationDir), registrationSocketName);
  await listenOnUnixSocket(server, socketPath);
  log(`Plugin registration socket at ${socketPath}`);
  return {
    socketPath,
    registered,
    async stop() {
      server.forceShutdown();
      // Removing the socket makes the kubelet deregister the driver.
      fs.rmSync(socketPath, { force: true });
    },
  };
}
