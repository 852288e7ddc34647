import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { BackupStatus } from './BackupResource';
import { StatusRecorder } from './StatusRecorder';

/** A status subresource that answers each patch when the test lets it, and keeps every body. */
function fakeStatusApi() {
  const written: BackupStatus[] = [];
  const waiting: Array<() => void> = [];
  const api = {
    patchNamespacedCustomObjectStatus: (request: { body: { status: BackupStatus } }) =>
      new Promise<void>(resolve => {
        written.push(request.body.status);
        waiting.push(resolve);
      }),
  } as unknown as CustomObjectsApi;
  const answer = async () => {
    while (waiting.length === 0) await new Promise(resolve => setImmediate(resolve));
    waiting.shift()!();
    await new Promise(resolve => setImmediate(resolve));
  };
  return { api, written, answer };
}

const recorderOn = (api: CustomObjectsApi) =>
  new StatusRecorder({ api, plural: 'backups', namespace: 'shop', name: 'b', status: {} as BackupStatus });

describe('StatusRecorder', () => {
  it('coalesces changes made while a write is in flight into one queued write, in order', async () => {
    const { api, written, answer } = fakeStatusApi();
    const recorder = recorderOn(api);
    const first = recorder.volume('a', { phase: 'Transferring' });
    await new Promise(resolve => setImmediate(resolve)); // the first write has started
    // three volumes change while the first write is in flight
    const others = ['b', 'c', 'd'].map(pvc => recorder.volume(pvc, { phase: 'Transferring' }));
    await answer();
    await first;
    await answer();
    await Promise.all(others);
    expect(written.map(s => s.volumes?.map(v => v.pvc).join(','))).toEqual(['a', 'a,b,c,d']);
    // each caller's change was in a write that had landed when its promise resolved
    await recorder.close();
    expect(written).toHaveLength(2);
  });

  it('joins changes made before a write starts to that write', async () => {
    const { api, written, answer } = fakeStatusApi();
    const recorder = recorderOn(api);
    const both = [recorder.event('Start', 'one'), recorder.event('Plan', 'two')];
    await answer();
    await Promise.all(both);
    expect(written.map(s => s.timeline?.map(t => t.message).join(','))).toEqual(['one,two']);
  });

  it('writes a change made after the queued write started in a write of its own', async () => {
    const { api, written, answer } = fakeStatusApi();
    const recorder = recorderOn(api);
    const first = recorder.event('Start', 'one');
    await new Promise(resolve => setImmediate(resolve));
    const second = recorder.event('Plan', 'two');
    await answer(); // first lands; the queued write (with "two") starts
    await first;
    const third = recorder.event('Snapshots', 'three');
    await answer();
    await second;
    await answer();
    await third;
    expect(written.map(s => s.timeline?.map(t => t.message).join(','))).toEqual(['one', 'one,two', 'one,two,three']);
  });
});
