import { layerExtents } from '../reader/layerExtents';
import type { Passphrase } from '../luks/LuksKey';
import { openFileChain } from './images';

const MiB = 1024 * 1024;

/** Zeros to compare clusters with (the largest cluster is 2 MiB). */
const ZEROS = Buffer.alloc(2 * MiB);
const allZero = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).equals(
    ZEROS.subarray(0, bytes.length),
  );

/**
 * What is wrong (the first few clusters) with the top image of a chain of local files, given
 * the volume it was written from (`now`) and, for an overlay, the volume its backing chain holds
 * (`before`). A base image stores exactly the clusters that are not all zeros. An overlay stores
 * only what changed: data clusters differ from their previous bytes and are not all zeros,
 * zero-flagged clusters are all zeros, unallocated clusters are unchanged (bytes past the
 * previous volume's end were zeros). A zero flag may also cover previous zeros: a hole of the
 * volume where the previous chain has data is flagged without reading the previous bytes.
 * Empty when the image is right.
 */
export async function imageDifferences(options: {
  image: string;
  now: Uint8Array;
  before?: Uint8Array;
  /** Opens encrypted images. */
  passphrase?: Passphrase;
}): Promise<string[]> {
  const { image, now, before, passphrase } = options;
  if (!before)
    return clusterDifferences(image, now, passphrase, (kind, cluster) =>
      kind === 'data' ? !allZero(cluster.now) : allZero(cluster.now),
    );
  const previous = new Uint8Array(now.length);
  previous.set(before.subarray(0, now.length));
  return clusterDifferences(image, now, passphrase, (kind, cluster) => {
    const then = previous.subarray(cluster.offset, cluster.end);
    const same = Buffer.from(cluster.now).equals(Buffer.from(then));
    if (kind === 'unallocated') return same;
    if (kind === 'zero') return allZero(cluster.now);
    return !same && !allZero(cluster.now);
  });
}

/** Checks every cluster of the image's top layer; returns the first few that are wrong. */
async function clusterDifferences(
  image: string,
  now: Uint8Array,
  passphrase: Passphrase | undefined,
  right: (
    kind: 'data' | 'zero' | 'unallocated',
    cluster: { offset: number; end: number; now: Uint8Array },
  ) => boolean,
): Promise<string[]> {
  const { chain, close } = await openFileChain(image, { passphrase });
  const wrong: string[] = [];
  try {
    const clusterSize = chain.top.granularity;
    for await (const extent of layerExtents(chain.top)) {
      for (
        let offset = extent.offset;
        offset < extent.offset + extent.length && wrong.length < 5;
        offset += clusterSize
      ) {
        const end = Math.min(offset + clusterSize, now.length);
        if (
          !right(extent.kind === 'compressed' ? 'data' : extent.kind, {
            offset,
            end,
            now: now.subarray(offset, end),
          })
        )
          wrong.push(`${extent.kind} cluster at ${offset}`);
      }
    }
  } finally {
    await close();
  }
  return wrong;
}
