import { IntegrityError } from '../errors';
import { layout } from '../layout';
import type { Repository } from '../Repository';
import { imageIndexDigests } from '../schema/imageIndex';
import type { ObjectRef } from '../schema/objectRef';
import { ImageStore, checkImageIndexKey } from './ImageStore';

/**
 * Before a commit records an image index: it is the backup's own index, it reads back with its
 * digest and schema, and every blob it names is stored with its size (a blob that a concurrent
 * garbage collection removed would show here, before the backup exists).
 */
export async function checkImagesForCommit(repo: Repository, ref: ObjectRef, app: string, backupId: string): Promise<void> {
  checkImageIndexKey(ref, app, backupId);
  const store = new ImageStore(repo);
  const index = await store.readIndexRef(ref, { app, backupId });
  for (const b of imageIndexDigests(index)) {
    const info = await repo.target.head(layout.imageBlob(b.digest));
    if (!info || info.size !== b.size) {
      throw new IntegrityError(layout.imageBlob(b.digest), `blob named by ${ref.key} is ${info ? `${info.size} bytes, not ${b.size}` : 'missing'}`);
    }
  }
}
