import { Exec, KubeConfig, V1Status } from '@kubernetes/client-node';
import { Writable } from 'node:stream';

export interface ExecResult {
  exitCode: number;
  output: string;
}

/** Keeps the last bytes written (a hook's output can be large; the status cannot). */
class TailBuffer extends Writable {
  private text = '';
  constructor(private readonly limit: number) {
    super();
  }
  _write(chunk: Buffer, _encoding: string, callback: () => void) {
    this.text = (this.text + chunk.toString('utf8')).slice(-this.limit);
    callback();
  }
  toString() {
    return this.text.trim();
  }
}

/** Runs a command in a pod's container (client-node Exec), bounded by `timeoutMs`. */
export async function execInPod(options: {
  kubeConfig: KubeConfig;
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  timeoutMs: number;
}): Promise<ExecResult> {
  const output = new TailBuffer(2000);
  return new Promise<ExecResult>((resolve, reject) => {
    const state: {
      settled: boolean;
      timer?: NodeJS.Timeout;
      socket?: ReturnType<Exec['exec']>;
    } = { settled: false };
    function finish(result: ExecResult | Error) {
      if (state.settled) return;
      state.settled = true;
      clearTimeout(state.timer);
      if (result instanceof Error) reject(result);
      else resolve(result);
    }
    function onStatus(status: V1Status) {
      if (status.status === 'Success') {
        finish({ exitCode: 0, output: output.toString() });
        return;
      }
      const cause = status.details?.causes?.find(c => c.reason === 'ExitCode');
      if (cause?.message) {
        finish({ exitCode: Number(cause.message), output: output.toString() });
      } else {
        finish(new Error(status.message ?? 'the command failed'));
      }
    }
    state.socket = new Exec(options.kubeConfig).exec(
      options.namespace,
      options.pod,
      options.container,
      options.command,
      output,
      output,
      null,
      false,
      onStatus,
    );
    state.timer = setTimeout(() => {
      state.socket?.then(ws => ws.close()).catch(() => undefined);
      finish(new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s`));
    }, options.timeoutMs);
    state.socket
      .then(ws =>
        ws.on('close', () =>
          setTimeout(() => finish(new Error('the connection closed without an exit status')), 1000),
        ),
      )
      .catch(error => finish(error instanceof Error ? error : new Error(String(error))));
  });
}
