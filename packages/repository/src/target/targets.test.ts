import { randomBytes } from 'node:crypto';
import { testTargetKinds } from '../testing/testTargets';
import { ObjectNotFoundError, IntegrityError } from '../errors';

const MiB = 1024 * 1024;

describe.each(testTargetKinds())('$name target', kind => {
  beforeAll(() => kind.setup(), 60_000);
  afterAll(() => kind.teardown());

  it('writes the head last through the positional sink, in several parts, and reads ranges back', async () => {
    const target = await kind.make({ partSize: 5 * MiB });
    const head = 128 * 1024;
    const body = randomBytes(13 * MiB + 12345);
    const headBytes = randomBytes(head);
    const sink = await target.openSink('apps/a/volumes/p/x.qcow2');
    await sink.reserveHead(head);
    for (let off = 0; off < body.length; off += 700_001) {
      await sink.write(body.subarray(off, off + 700_001), head + off);
    }
    expect(await target.head('apps/a/volumes/p/x.qcow2')).toBeUndefined(); // invisible before commit
    await sink.write(headBytes.subarray(0, 1000), 0);
    await sink.write(headBytes.subarray(1000), 1000);
    const { size } = await sink.commit();
    expect(size).toBe(head + body.length);
    const all = Buffer.from(await target.get('apps/a/volumes/p/x.qcow2'));
    expect(all.equals(Buffer.concat([headBytes, body]))).toBe(true);
    const src = await target.openSource('apps/a/volumes/p/x.qcow2');
    expect(await src.size()).toBe(size);
    const r = await src.read(head + 6 * MiB - 3, 10);
    expect(Buffer.from(r).equals(body.subarray(6 * MiB - 3, 6 * MiB + 7))).toBe(true);
    await expect(src.read(size - 5, 10)).rejects.toBeInstanceOf(IntegrityError);
    await src.close();
    await target.close();
  });

  it('leaves nothing visible after abort, and lists an interrupted upload as incomplete', async () => {
    const target = await kind.make({ partSize: 5 * MiB });
    const sink = await target.openSink('apps/a/volumes/p/y.qcow2');
    await sink.reserveHead(65536);
    await sink.write(randomBytes(11 * MiB), 65536);
    // not committed, not aborted: like a process killed mid-upload
    const pending = [];
    for await (const u of target.listIncomplete('apps/a/')) pending.push(u);
    expect(pending.map(u => u.key)).toEqual(['apps/a/volumes/p/y.qcow2']);
    expect(await target.head('apps/a/volumes/p/y.qcow2')).toBeUndefined();
    for (const u of pending) await target.removeIncomplete(u);
    const after = [];
    for await (const u of target.listIncomplete('apps/a/')) after.push(u);
    expect(after).toEqual([]);
    // A killed process's descriptor is closed by the system; here the sink lets go of it.
    // Aborting what was removed already is harmless (S3: no such upload any more).
    await sink.abort();
    const s2 = await target.openSink('apps/a/volumes/p/z.qcow2');
    await s2.reserveHead(512);
    await s2.write(randomBytes(1000), 512);
    await s2.abort();
    expect(await target.head('apps/a/volumes/p/z.qcow2')).toBeUndefined();
    await target.close();
  });

  it('puts, streams, lists, deletes, and creates only if absent', async () => {
    const target = await kind.make();
    await target.put('apps/a/one', 'first');
    expect(await target.putIfAbsent('apps/a/one', 'second')).toBe(false);
    expect(Buffer.from(await target.get('apps/a/one')).toString()).toBe('first');
    expect(await target.putIfAbsent('apps/a/two', 'x')).toBe(true);
    const big = randomBytes(3 * MiB);
    const { size } = await target.putStream('apps/b/s', (async function* g() {
      for (let i = 0; i < big.length; i += 100_000) yield big.subarray(i, i + 100_000);
    })());
    expect(size).toBe(big.length);
    const chunks: Buffer[] = [];
    for await (const c of await target.getStream('apps/b/s')) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
    const keys = [];
    for await (const o of target.list('apps/')) keys.push(o.key);
    expect(keys).toEqual(['apps/a/one', 'apps/a/two', 'apps/b/s']);
    await target.delete('apps/a/one');
    await expect(target.get('apps/a/one')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await target.supportsAtomicCreate()).toBe(true);
    await target.close();
  });
});
