import { Exec, KubeConfig, V1Status } from '@kubernetes/client-node';
import { Readable, Writable } from 'node:stream';

export type PodExecOptions = {
  namespace: string;
  pod: string;
  /** Default: the pod's first container (the API server's choice). */
  container?: string;
  command: string[];
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
  /** Default 60 s: the exec is given up (and an error thrown) after it. */
  timeoutMs?: number;
};

export type PodExecResult = { stdout: string; stderr: string; exitCode: number };

/** The exit code in an exec's final status (`Failure` with cause `ExitCode`), 0 on `Success`. */
function exitCodeOf(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find(c => c.reason === 'ExitCode');
  return cause?.message === undefined ? undefined : Number(cause.message);
}

/**
 * Runs a command in a pod's container through the API server (client-node's `Exec`, the
 * WebSocket remote-command protocol, as `kubectl exec`), collecting stdout, stderr and the exit
 * code. Throws when the exec cannot start or ends without an exit code (e.g. the container is gone).
 */
export async function execInPod(kubeConfig: KubeConfig, options: PodExecOptions): Promise<PodExecResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const where = `pod ${options.namespace}/${options.pod}${options.container ? `, container ${options.container}` : ''}`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const status = await new Promise<V1Status>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`exec of ${options.command.join(' ')} in ${where} did not end within ${timeoutMs} ms`)), timeoutMs);
    new Exec(kubeConfig)
      .exec(
        options.namespace,
        options.pod,
        options.container ?? '',
        options.command,
        sink(text => (stdout += text)),
        sink(text => (stderr += text)),
        options.stdin === undefined ? null : Readable.from([options.stdin]),
        false,
        resolve,
      )
      .then(socket => socket.on('close', () => setTimeout(() => reject(new Error(`exec in ${where} closed without a status`)), 1000)))
      .catch(error => reject(new Error(`exec in ${where} failed: ${error instanceof Error ? error.message : String(error)}`)));
  }).finally(() => clearTimeout(timer));
  const exitCode = exitCodeOf(status);
  if (exitCode === undefined) {
    throw new Error(`exec of ${options.command.join(' ')} in ${where} ended with ${status.status}: ${status.message ?? 'no exit code'}`);
  }
  return { stdout, stderr, exitCode };
}
