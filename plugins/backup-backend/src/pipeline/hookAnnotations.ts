import type { V1Pod } from '@kubernetes/client-node';
import { parseGoDuration } from './goDuration';

/** Velero's backup hook annotations on a pod, per stage (velero `internal/hook`). */
export const HOOK_ANNOTATION_PREFIX = {
  pre: 'pre.hook.backup.velero.io/',
  post: 'post.hook.backup.velero.io/',
} as const;
/** Velero's older keys without a stage: a pre-hook, read only when `pre.…/command` is absent. */
export const LEGACY_HOOK_ANNOTATION_PREFIX = 'hook.backup.velero.io/';

/** Velero's default when `…/timeout` is absent or zero (`pkg/podexec`). */
export const DEFAULT_ANNOTATION_HOOK_TIMEOUT_MS = 30_000;

export type HookStage = 'pre' | 'post';
export type HookErrorMode = 'Fail' | 'Continue';

/** A hook a pod declares with annotations: ready to run, or invalid with the problem in words. */
export type AnnotationHook =
  | {
      valid: true;
      stage: HookStage;
      pod: string;
      container: string;
      command: string[];
      onError: HookErrorMode;
      timeoutMs: number;
    }
  | {
      valid: false;
      stage: HookStage;
      pod: string;
      container?: string;
      /** As written (the raw annotation when it is not a JSON array of strings). */
      command: string[];
      /** `Fail` unless the annotation says `Continue`. */
      onError: HookErrorMode;
      problem: string;
    };

/**
 * The hook of one stage that a pod's annotations declare, as Velero reads them, or undefined when
 * the pod has no `<stage>.hook.backup.velero.io/command` (for `pre`, nor the legacy
 * `hook.backup.velero.io/command`):
 * - `command`: a JSON array of strings when it starts with `[`, else the whole value is the one
 *   element (no shell splitting, as in Velero);
 * - `container`: default the pod's first container; it must be one of `spec.containers`;
 * - `on-error`: `Fail` (default) or `Continue`;
 * - `timeout`: a Go duration, default (and when zero) 30s.
 * Where Velero logs a bad value and falls back (a broken JSON array run as a one-word command, an
 * unknown on-error taken as Fail, an unparsable timeout taken as 30s), Ferry reports an invalid
 * hook naming the pod and annotation, so that a typo never quietly changes what runs.
 */
export function annotationHook(pod: V1Pod, stage: HookStage): AnnotationHook | undefined {
  const annotations = pod.metadata?.annotations ?? {};
  let prefix: string = HOOK_ANNOTATION_PREFIX[stage];
  if (!annotations[`${prefix}command`] && stage === 'pre' && annotations[`${LEGACY_HOOK_ANNOTATION_PREFIX}command`]) {
    prefix = LEGACY_HOOK_ANNOTATION_PREFIX;
  }
  const value = (field: string) => annotations[`${prefix}${field}`];
  const rawCommand = value('command');
  if (!rawCommand) return undefined;

  const podName = pod.metadata?.name ?? '';
  const problems: string[] = [];
  const problem = (field: string, text: string) =>
    problems.push(`annotation ${prefix}${field} of pod ${podName}: ${text}`);

  const command = parseCommand(rawCommand);
  if (typeof command === 'string') problem('command', command);

  const containers = (pod.spec?.containers ?? []).map(c => c.name);
  const named = value('container');
  let container: string | undefined = named || containers[0];
  if (named && !containers.includes(named)) {
    problem('container', `no container '${named}' in the pod (containers: ${containers.join(', ') || 'none'})`);
    container = undefined;
  } else if (!container) {
    problem('container', 'the pod has no container');
  }

  const onErrorValue = value('on-error');
  let onError: HookErrorMode = 'Fail';
  if (onErrorValue === 'Continue') onError = 'Continue';
  else if (onErrorValue && onErrorValue !== 'Fail') {
    problem('on-error', `'${onErrorValue}' is neither Fail nor Continue`);
  }

  let timeoutMs = DEFAULT_ANNOTATION_HOOK_TIMEOUT_MS;
  const timeoutValue = value('timeout');
  if (timeoutValue !== undefined && timeoutValue !== '') {
    try {
      const parsed = parseGoDuration(timeoutValue);
      if (parsed < 0) problem('timeout', `'${timeoutValue}' is negative`);
      else if (parsed > 0) timeoutMs = parsed;
    } catch (error) {
      problem('timeout', `${(error as Error).message}; expected a Go duration such as 30s or 1m30s`);
    }
  }

  const base = { stage, pod: podName, onError };
  if (problems.length > 0 || typeof command === 'string' || !container) {
    return {
      ...base,
      valid: false,
      container,
      command: typeof command === 'string' ? [rawCommand] : command,
      problem: problems.join('; '),
    };
  }
  return { ...base, valid: true, container, command, timeoutMs };
}

/** Velero's `parseStringToCommand`, strict: a string array, or the problem in words. */
function parseCommand(raw: string): string[] | string {
  if (!raw.startsWith('[')) return [raw];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return `not a valid JSON array (${(error as Error).message})`;
  }
  if (!Array.isArray(parsed) || !parsed.every(part => typeof part === 'string')) {
    return 'not a JSON array of strings';
  }
  if (parsed.length === 0) return 'an empty command';
  return parsed as string[];
}
