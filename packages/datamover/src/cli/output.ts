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
        const { type, operation, backupId, pvc, code, exitCode, message, record, image, virtualSize, index, images } = obj as Record<string, unknown>;
        const base = { type, operation, backupId, pvc, code, exitCode, message, record, image, virtualSize, index, truncated: true };
        text = JSON.stringify(base);
        for (const compact of compactImages(images)) {
          const candidate = JSON.stringify({ ...base, images: compact });
          if (Buffer.byteLength(candidate) <= TERMINATION_LIMIT) {
            text = candidate;
            break;
          }
        }
        text = text.slice(0, TERMINATION_LIMIT);
      }
      try {
        writeFileSync(p, text);
      } catch {
        // a missing or read-only termination path must not turn success into failure
      }
    },
  };
}

/**
 * Ever smaller forms of a per-image list for the termination message: every image with its
 * outcome (errors cut short), then only the failed ones, then only their names and codes.
 */
function compactImages(images: unknown): object[][] {
  if (!Array.isArray(images)) return [];
  const items = images as Array<Record<string, unknown>>;
  const name = (i: Record<string, unknown>) => ({ reference: i.reference ?? i.original });
  const cut = (e: unknown) => (typeof e === 'string' && e.length > 160 ? `${e.slice(0, 157)}...` : e);
  const failed = items.filter(i => i.error !== undefined || i.reachable === false);
  return [
    items.map(i => ({ ...name(i), digest: i.digest, restored: i.restored, tagChanged: i.tagChanged, reachable: i.reachable, code: i.code, error: cut(i.error ?? i.reason) })),
    failed.map(i => ({ ...name(i), code: i.code, error: cut(i.error ?? i.reason) })),
    failed.map(i => ({ ...name(i), code: i.code })),
  ];
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
