import { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WebSocket } from 'ws';
import { killGroup } from '../managedProcess';
import { bubblewrapArgs } from './containerProcess';
import { containerEnv } from './podEnv';
import { preparePodVolumes } from './podVolumes';
import { VolumeStore } from './VolumeStore';

/**
 * Collects a WebSocket's messages from the moment it is accepted, so that stdin sent while the
 * pod is looked up and its volumes prepared is not lost; `drain` hands them (and later ones) on.
 */
export function bufferMessages(socket: WebSocket) {
  const early: Buffer[] = [];
  let handler: ((data: Buffer) => void) | undefined;
  socket.on('message', (raw: Buffer, isBinary: boolean) => {
    const data = isBinary ? raw : Buffer.from(raw.toString());
    if (handler) handler(data);
    else early.push(data);
  });
  return {
    drain(next: (data: Buffer) => void) {
      handler = next;
      for (const data of early.splice(0)) next(data);
    },
  };
}

export type MessageInbox = ReturnType<typeof bufferMessages>;

/** Channels of the Kubernetes remote-command WebSocket protocols (v4/v5.channel.k8s.io). */
const channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export type ExecRequest = {
  core: CoreV1Api;
  store: VolumeStore;
  pod: V1Pod;
  podDir: string;
  containerName: string;
  command: string[];
  stdin: boolean;
  binDirs: string[];
  baseEnv: Record<string, string>;
  socket: WebSocket;
  inbox: MessageInbox;
};

function statusFrame(status: object): Buffer {
  return Buffer.concat([Buffer.from([channel.error]), Buffer.from(JSON.stringify(status))]);
}

function failure(message: string, exitCode?: number) {
  return exitCode === undefined
    ? { metadata: {}, status: 'Failure', message, reason: 'InternalError' }
    : {
        metadata: {},
        status: 'Failure',
        message: `command terminated with non-zero exit code: ${message}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
      };
}

/**
 * `kubectl exec` for the sandbox: runs the command as a new local process under bubblewrap with
 * the container's env and volumes (the pod has no real container to enter), streaming stdin,
 * stdout and stderr over the WebSocket and ending with a Status on the error channel.
 */
export async function runExecSession(request: ExecRequest): Promise<void> {
  const { socket, pod } = request;
  const send = (data: Buffer) => {
    if (socket.readyState === socket.OPEN) socket.send(data);
  };
  const finish = (status: object) => {
    send(statusFrame(status));
    socket.close(1000);
  };
  // Stdin may arrive while volumes are prepared: keep it until the process exists.
  const pendingInput: Array<Buffer | null> = [];
  // undefined: no process yet; null: the process has no stdin.
  const sink: { stdin?: NodeJS.WritableStream | null } = {};
  const deliver = (chunk: Buffer | null) => {
    if (sink.stdin === undefined) pendingInput.push(chunk);
    else if (sink.stdin && chunk) sink.stdin.write(chunk);
    else if (sink.stdin) sink.stdin.end();
  };
  request.inbox.drain(data => {
    if (data.length === 0) return;
    if (data[0] === channel.stdin && data.length > 1) deliver(data.subarray(1));
    if (data[0] === channel.close && data[1] === channel.stdin) deliver(null);
  });
  const container = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
    c => c.name === request.containerName,
  );
  if (!container) {
    finish(failure(`container ${request.containerName} is not valid for pod ${pod.metadata?.name}`));
    return;
  }
  let args: string[];
  let env: Record<string, string>;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-exec-'));
  try {
    const volumes = await preparePodVolumes({ core: request.core, store: request.store, pod, podDir: request.podDir });
    env = await containerEnv(request.core, pod, container);
    const terminationFile = path.join(scratch, 'termination-log');
    fs.writeFileSync(terminationFile, '');
    args = bubblewrapArgs(
      {
        pod,
        container,
        volumes,
        env,
        baseEnv: request.baseEnv,
        binDirs: request.binDirs,
        entrypoint: [],
        containerDir: scratch,
        logFile: path.join(scratch, 'log'),
      },
      terminationFile,
    );
  } catch (error) {
    fs.rmSync(scratch, { recursive: true, force: true });
    finish(failure(error instanceof Error ? error.message : String(error)));
    return;
  }
  const child = spawn('bwrap', [...args, '--', ...request.command], {
    env: {
      PATH: [...request.binDirs, process.env.PATH ?? '/usr/bin:/bin'].join(':'),
      HOME: '/root',
      HOSTNAME: pod.metadata!.name,
      ...request.baseEnv,
      ...env,
    },
    stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.on('data', (data: Buffer) => send(Buffer.concat([Buffer.from([channel.stdout]), data])));
  child.stderr?.on('data', (data: Buffer) => send(Buffer.concat([Buffer.from([channel.stderr]), data])));
  child.stdin?.on('error', () => undefined);
  sink.stdin = child.stdin ?? null;
  for (const chunk of pendingInput.splice(0)) deliver(chunk);
  socket.on('close', () => child.pid && killGroup(child.pid, 'SIGKILL'));
  child.once('error', error => finish(failure(`could not run ${request.command[0]}: ${error.message}`)));
  child.once('close', (code, signal) => {
    fs.rmSync(scratch, { recursive: true, force: true });
    const exitCode = code ?? 128 + (signal ? os.constants.signals[signal] ?? 0 : 0);
    finish(exitCode === 0 ? { metadata: {}, status: 'Success' } : failure(`${exitCode}`, exitCode));
  });
}
