import { Exec, KubeConfig, V1Status } from '@kubernetes/client-node';
import { Writable } from 'node:stream';

export interface ExecResult {
  exitCode: number;
  /** The last lines of each stream, trimmed (see `TailBuffer`). */
  stdout: string;
  stderr: string;
}

/** The tail of a stream the status keeps: a hook's output can be large; a status cannot. */
const TAIL_LINES = 10;
const TAIL_CHARS = 1000;

/** Keeps the last characters written; `toString` gives their last lines, trimmed. */
export class TailBuffer extends Writable {
  private text = '';
  constructor(private readonly limit = 4 * TAIL_CHARS) {
    super();
  }
  _write(chunk: Buffer, _encoding: string, callback: () => void) {
    this.text = (this.text + chunk.toString('utf8')).slice(-this.limit);
    callback();
  }
  toString() {
    return this.text.trim().split('\n').slice(-TAIL_LINES).join('\n').slice(-TAIL_CHARS);
  }
}

/** A command that did not run to an exit code (timeout, lost connection): what it wrote so far. */
export class ExecFailure extends Error {
  constructor(message: string, readonly stdout: string, readonly stderr: string) {
    super(message);
    this.name = 'ExecFailure';
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
  const stdout = new TailBuffer();
  const stderr = new TailBuffer();
  const streams = () => ({ stdout: stdout.toString(), stderr: stderr.toString() });
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
      if (result instanceof Error) reject(new ExecFailure(result.message, stdout.toString(), stderr.toString()));
      else resolve(result);
    }
    function onStatus(status: V1Status) {
      if (status.status === 'Success') {
        finish({ exitCode: 0, ...streams() });
        return;
      }
      const cause = status.details?.causes?.find(c => c.reason === 'ExitCode');
      if (cause?.message) {
        finish({ exitCode: Number(cause.message), ...streams() });
      } else {
        finish(new Error(status.message ?? 'the command failed'));
      }
    }
    state.socket = new Exec(options.kubeConfig).exec(
      options.namespace,
      options.pod,
      options.container,
      options.command,
      stdout,
      stderr,
      null,
      false,
      onStatus,
    );
    state.timer = setTimeout(() => {
      state.socket?.then(ws => ws.close()).catch(() => undefined);
      finish(new Error(`timed out after ${Number((options.timeoutMs / 1000).toFixed(3))}s`));
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
