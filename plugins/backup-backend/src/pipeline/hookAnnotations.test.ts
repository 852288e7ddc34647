import type { V1Pod } from '@kubernetes/client-node';
import { annotationHook } from './hookAnnotations';

function pod(annotations: Record<string, string>, containers = ['db', 'sidecar']): V1Pod {
  return {
    metadata: { name: 'demo-db-0', annotations },
    spec: { containers: containers.map(name => ({ name })) },
  };
}
const pre = (field: string) => `pre.hook.backup.velero.io/${field}`;
const post = (field: string) => `post.hook.backup.velero.io/${field}`;

describe('annotationHook (Velero backup hook annotations)', () => {
  it('has no hook without a command annotation (or an empty one)', () => {
    expect(annotationHook(pod({}), 'pre')).toBeUndefined();
    expect(annotationHook(pod({ [pre('container')]: 'db', [pre('timeout')]: '1m' }), 'pre')).toBeUndefined();
    expect(annotationHook(pod({ [pre('command')]: '' }), 'pre')).toBeUndefined();
    expect(annotationHook(pod({ [pre('command')]: '["true"]' }), 'post')).toBeUndefined();
  });

  it('reads a JSON array command, with the defaults: first container, Fail, 30s', () => {
    expect(annotationHook(pod({ [pre('command')]: '["/bin/sh", "-c", "echo a b"]' }), 'pre')).toEqual({
      valid: true,
      stage: 'pre',
      pod: 'demo-db-0',
      container: 'db',
      command: ['/bin/sh', '-c', 'echo a b'],
      onError: 'Fail',
      timeoutMs: 30_000,
    });
  });

  it('takes a plain string as the one element of the command, unsplit, as Velero does', () => {
    const hook = annotationHook(pod({ [post('command')]: '/scripts/resume.sh --now' }), 'post');
    expect(hook).toMatchObject({ valid: true, stage: 'post', command: ['/scripts/resume.sh --now'] });
  });

  it('reads every field of each stage from its own prefix', () => {
    const annotations = {
      [pre('command')]: '["pre"]',
      [pre('container')]: 'sidecar',
      [pre('on-error')]: 'Continue',
      [pre('timeout')]: '1m30s',
      [post('command')]: '["post"]',
      [post('timeout')]: '500ms',
    };
    expect(annotationHook(pod(annotations), 'pre')).toMatchObject({
      valid: true,
      container: 'sidecar',
      command: ['pre'],
      onError: 'Continue',
      timeoutMs: 90_000,
    });
    expect(annotationHook(pod(annotations), 'post')).toMatchObject({
      valid: true,
      container: 'db',
      command: ['post'],
      onError: 'Fail',
      timeoutMs: 500,
    });
  });

  it('takes on-error Fail as given, and a zero or empty timeout as the 30s default (Velero)', () => {
    expect(
      annotationHook(pod({ [pre('command')]: 'x', [pre('on-error')]: 'Fail', [pre('timeout')]: '0s' }), 'pre'),
    ).toMatchObject({ valid: true, onError: 'Fail', timeoutMs: 30_000 });
    expect(annotationHook(pod({ [pre('command')]: 'x', [pre('timeout')]: '' }), 'pre')).toMatchObject({
      timeoutMs: 30_000,
    });
  });

  it('reads the legacy stage-less keys as a pre-hook, only when pre.… has no command', () => {
    const legacy = {
      'hook.backup.velero.io/command': '["legacy"]',
      'hook.backup.velero.io/container': 'sidecar',
      'hook.backup.velero.io/timeout': '5s',
    };
    expect(annotationHook(pod(legacy), 'pre')).toMatchObject({
      valid: true,
      container: 'sidecar',
      command: ['legacy'],
      timeoutMs: 5000,
    });
    expect(annotationHook(pod(legacy), 'post')).toBeUndefined();
    expect(annotationHook(pod({ ...legacy, [pre('command')]: '["new"]' }), 'pre')).toMatchObject({
      container: 'db',
      command: ['new'],
      timeoutMs: 30_000,
    });
  });

  it.each([
    ['["unterminated"', /annotation pre.hook.backup.velero.io\/command of pod demo-db-0: not a valid JSON array \(/],
    ['[1, 2]', /annotation pre.hook.backup.velero.io\/command of pod demo-db-0: not a JSON array of strings/],
    ['[]', /annotation pre.hook.backup.velero.io\/command of pod demo-db-0: an empty command/],
  ])('reports a bad command %p as invalid, naming the pod and annotation', (command, problem) => {
    const hook = annotationHook(pod({ [pre('command')]: command }), 'pre');
    expect(hook).toMatchObject({ valid: false, onError: 'Fail', command: [command], container: 'db' });
    expect(hook!.valid === false && hook!.problem).toMatch(problem);
  });

  it('reports an unknown container, naming the pod, the annotation and the containers', () => {
    const hook = annotationHook(pod({ [post('command')]: '["x"]', [post('container')]: 'postgres' }), 'post');
    expect(hook).toEqual({
      valid: false,
      stage: 'post',
      pod: 'demo-db-0',
      command: ['x'],
      onError: 'Fail',
      container: undefined,
      problem:
        "annotation post.hook.backup.velero.io/container of pod demo-db-0: no container 'postgres' in the pod (containers: db, sidecar)",
    });
  });

  it.each([
    ['soon', /timeout of pod demo-db-0: 'soon' is not a duration .*expected a Go duration such as 30s/],
    ['30', /timeout of pod demo-db-0: '30' has a number without a unit/],
    ['1d', /timeout of pod demo-db-0: '1d' has an unknown unit 'd'/],
    ['-5s', /timeout of pod demo-db-0: '-5s' is negative/],
  ])('reports a bad timeout %p', (timeout, problem) => {
    const hook = annotationHook(pod({ [pre('command')]: '["x"]', [pre('timeout')]: timeout }), 'pre');
    expect(hook).toMatchObject({ valid: false, command: ['x'], container: 'db' });
    expect(hook!.valid === false && hook!.problem).toMatch(problem);
  });

  it('reports an on-error that is neither Fail nor Continue (case matters, as in Velero), keeping Fail', () => {
    const hook = annotationHook(pod({ [pre('command')]: '["x"]', [pre('on-error')]: 'continue' }), 'pre');
    expect(hook).toMatchObject({
      valid: false,
      onError: 'Fail',
      problem: "annotation pre.hook.backup.velero.io/on-error of pod demo-db-0: 'continue' is neither Fail nor Continue",
    });
  });

  it('keeps on-error Continue of an otherwise invalid hook, and lists every problem', () => {
    const hook = annotationHook(
      pod({ [pre('command')]: '[', [pre('on-error')]: 'Continue', [pre('timeout')]: 'x' }),
      'pre',
    );
    expect(hook).toMatchObject({ valid: false, onError: 'Continue' });
    const problem = hook!.valid === false ? hook!.problem : '';
    expect(problem).toContain('pre.hook.backup.velero.io/command of pod demo-db-0');
    expect(problem).toContain("; annotation pre.hook.backup.velero.io/timeout of pod demo-db-0: 'x'");
  });
});
