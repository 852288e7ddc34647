import { existsSync, writeFileSync } from 'node:fs';
import type { DatamoverError } from '../errors';

/** Kubernetes reads at most 4096 bytes of a termination message. */
const TERMINATION_LIMIT = 4096;

export interface Output {
  line(obj: object): void;
  log(message: string): void;
  /** Writes the final JSON (result or error) to the termination-message path, if there is one. */
  terminate(obj: object): void;
}

export function terminationPath(env: NodeJS.ProcessEnv): string | undefined {
  if (env.FERRY_TERMINATION_MESSAGE_PATH) return env.FERRY_TERMINATION_MESSAGE_PATH;
  return existsSync('/dev/termination-log') ? '/dev/termination-log' : undefined;
}

export function createOutput(env: NodeJS.ProcessEnv, stdout = process.stdout, stderr = process.stderr): Output {
  return {
    line: obj => stdout.write(`${JSON.stringify(obj)}\n`),
    log: message => stderr.write(`${message}\n`),
    terminate: obj => {
      const p = terminationPath(env);
      if (!p) return;
      let text = JSON.stringify(obj);
      if (Buffer.byteLength(text) > TERMINATION_LIMIT) {
        // keep what a controller needs; the full result is on stdout
        const { type, operation, backupId, pvc, code, exitCode, message, record, image, virtualSize, index } = obj as Record<string, unknown>;
        text = JSON.stringify({ type, operation, backupId, pvc, code, exitCode, message, record, image, virtualSize, index, truncated: true }).slice(0, TERMINATION_LIMIT);
      }
      try {
        writeFileSync(p, text);
      } catch {
        // a missing or read-only termination path must not turn success into failure
      }
    },
  };
}

export function errorLine(e: DatamoverError): object {
  const images = (e.result as { images?: unknown } | undefined)?.images;
  return {
    type: 'error',
    code: e.code,
    exitCode: e.exitCode,
    message: e.message,
    ...(e.hint ? { hint: e.hint } : {}),
    ...(images ? { images } : {}),
  };
}
