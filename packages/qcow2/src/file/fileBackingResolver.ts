import * as path from 'node:path';
import type { BackingResolver } from '../io';
import { resolveBackingName } from '../reader/resolveBackingName';
import { FileRangeSource } from './FileRangeSource';

/**
 * Opens backing files on the local file system, resolving relative names against the
 * overlay's directory as QEMU does. Returned names are absolute so loops are detected.
 */
export const fileBackingResolver: BackingResolver = async ({
  backingName,
  childName,
}) => {
  const name = path.resolve(resolveBackingName({ childName, backingName }));
  return { name, source: await FileRangeSource.open({ path: name }) };
};
