import { randomBytes } from 'node:crypto';
import { createQcow2Writer, openLuksKey, type EncryptionOptions } from '@ferry/qcow2';
import { layout } from '../layout';
import type { Repository } from '../Repository';
import type { ObjectRef } from '../schema/objectRef';
import type { VolumeRecord } from '../schema/volumeRecord';

const CLUSTER = 65536;

async function* once(data: Uint8Array) {
  yield data;
}

/**
 * Writes one volume image of a backup the way the datamover does (image through the digest
 * sink, `.sums`, `.index`, record), with the given clusters (index → bytes). With the
 * repository's keys, the image is LUKS-encrypted with the current key's bytes as passphrase
 * (an overlay keeps its parent's LUKS key). Tests only: the datamover has the real delta engine.
 */
export async function writeTestVolume(o: {
  repo: Repository;
  app: string;
  pvc: string;
  backupId: string;
  virtualSize?: number;
  clusters: Map<number, Buffer>;
  parent?: { backupId: string; record: ObjectRef };
}): Promise<ObjectRef> {
  const virtualSize = o.virtualSize ?? 16 * CLUSTER;
  const keys = o.repo.keys;
  let encryption: EncryptionOptions | undefined;
  let keyId = keys?.current.id;
  if (keys && o.parent) {
    const parentRecord = await o.repo.readRecord(o.parent.record);
    keyId = parentRecord.protection?.encryption?.keyId ?? keyId;
    const source = await o.repo.target.openSource(parentRecord.image.key);
    const key = await openLuksKey({ source, name: parentRecord.image.key, passphrase: keys.byId(keyId!)!.secret });
    await source.close();
    encryption = { format: 'luks', key: key! };
  } else if (keys) {
    encryption = { format: 'luks', passphrase: keys.current.secret, iterations: 1000 };
  }
  const { key, sink } = await o.repo.openImageSink({ app: o.app, pvc: o.pvc, backupId: o.backupId });
  const writer = await createQcow2Writer({
    sink,
    virtualSize,
    clusterSize: CLUSTER,
    backing: o.parent ? { name: layout.backingName(o.parent.backupId), format: 'qcow2' } : undefined,
    encryption,
  });
  for (const index of [...o.clusters.keys()].sort((a, b) => a - b)) await writer.writeCluster(index, o.clusters.get(index)!);
  const written = await writer.finish();
  const sums = await o.repo.putObject(layout.sums(o.app, o.pvc, o.backupId), sink.sums());
  const index = await o.repo.putStreamObject(layout.index(o.app, o.pvc, o.backupId), once(randomBytes(64 + 16 * 16)));
  const record: VolumeRecord = {
    formatVersion: 1,
    app: o.app,
    pvc: o.pvc,
    backupId: o.backupId,
    kind: o.parent ? 'incremental' : 'full',
    parent: o.parent ?? null,
    virtualSize,
    clusterSize: CLUSTER,
    image: { key, size: written.imageSize, blockSize: o.repo.info.imageDigestBlockSize, sums },
    index,
    stats: { bytesRead: virtualSize, clusters: 16, dataClusters: o.clusters.size, zeroClusters: 0, changedClusters: o.clusters.size, durationMs: 1 },
    ...(keyId ? { protection: { encryption: { format: 'luks' as const, keyId } } } : {}),
    createdAt: new Date().toISOString(),
  };
  return o.repo.putRecord(record);
}
