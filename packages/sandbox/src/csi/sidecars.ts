import path from 'node:path';
import { ManagedProcess, startProcess } from '../managedProcess';
import { csiBinaryPath, CsiBinary } from './csiBinaries';

export type SidecarOptions = {
  kubeconfigPath: string;
  /** The CSI driver's socket. */
  csiSocketPath: string;
  /** Logs go to `<logDir>/<name>.log`. */
  logDir: string;
  /** Pid files (process groups), for the clean-up after a crash. */
  pidDir: string;
  log: (message: string) => void;
};

type Sidecar = { name: CsiBinary; args: string[] };

/**
 * The upstream sidecars, as host processes with the caller's kubeconfig and leader election off:
 * external-provisioner (CreateVolume/DeleteVolume for claims; refuses volume-mode changes from a
 * snapshot without `snapshot.storage.kubernetes.io/allow-volume-mode-change`), csi-snapshotter
 * (CreateSnapshot/DeleteSnapshot for VolumeSnapshotContents) and snapshot-controller
 * (VolumeSnapshot <-> VolumeSnapshotContent).
 */
export function sidecarCommands(options: Pick<SidecarOptions, 'kubeconfigPath' | 'csiSocketPath'>): Sidecar[] {
  // client-go's default budget in these programs is 5 requests/s (burst 10); one snapshot costs the
  // snapshot-controller about 15 requests (finalizers, content, status GET+PUT per sync, events),
  // so four at once waited ~4 s for their turn. 50/100 is what kube-scheduler uses by default.
  const apiBudget = ['--kube-api-qps=50', '--kube-api-burst=100'];
  const common = [`--kubeconfig=${options.kubeconfigPath}`, '--leader-election=false', '--v=3', ...apiBudget];
  const csi = [`--csi-address=${options.csiSocketPath}`, '--timeout=60s'];
  // Faster retries than the 5 min default, so an object waiting for another is handled soon.
  const retries = ['--retry-interval-start=500ms', '--retry-interval-max=10s'];
  return [
    {
      name: 'csi-provisioner',
      args: [
        ...common,
        ...csi,
        '--extra-create-metadata',
        '--prevent-volume-mode-conversion=true',
        '--default-fstype=ext4',
        ...retries,
      ],
    },
    { name: 'csi-snapshotter', args: [...common, ...csi, ...retries, '--extra-create-metadata'] },
    { name: 'snapshot-controller', args: [...common, ...retries, '--prevent-volume-mode-conversion=true'] },
  ];
}

/** Starts the sidecars; throws (after stopping the others) when one exits at once. */
export async function startSidecars(options: SidecarOptions): Promise<ManagedProcess[]> {
  const processes: ManagedProcess[] = [];
  try {
    for (const sidecar of sidecarCommands(options)) {
      options.log(`Starting ${sidecar.name}`);
      processes.push(
        startProcess({
          name: sidecar.name,
          command: csiBinaryPath(sidecar.name),
          args: sidecar.args,
          logFile: path.join(options.logDir, `${sidecar.name}.log`),
          pidDir: options.pidDir,
          env: { PATH: process.env.PATH, HOME: process.env.HOME },
        }),
      );
    }
    // Bad flags or an unreachable API server make them exit within a moment.
    await new Promise(resolve => setTimeout(resolve, 500));
    for (const child of processes) {
      if (child.hasExited()) throw new Error(`${child.name} exited during start-up; last log lines:\n${child.logTail()}`);
    }
    return processes;
  } catch (error) {
    await Promise.all(processes.map(child => child.stop(2000)));
    throw error;
  }
}
