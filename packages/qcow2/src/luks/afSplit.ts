import { createHash, randomFillSync } from 'node:crypto';

/*
 * The LUKS anti-forensic splitter (cryptsetup's af.c, qemu's crypto/afsplit.c): a key of
 * `blockBytes` is spread over `stripes` blocks so that losing any one block loses the key.
 * Hand-written because no npm library implements it; the hashing is node:crypto's.
 *
 * diffuse(block): the block cut into pieces of the digest size (the last one shorter); piece
 * i becomes hash(be32(i) || piece) cut to the piece's length.
 * split: stripes 0..n-2 are random; d starts as zeros and for each of them becomes
 * diffuse(d xor stripe); the last stripe is key xor d. merge undoes it.
 */

function diffuse(block: Buffer, hash: string): void {
  const digestBytes = createHash(hash).digest().length;
  const counter = Buffer.alloc(4);
  for (let i = 0, at = 0; at < block.length; i++, at += digestBytes) {
    const piece = block.subarray(at, Math.min(at + digestBytes, block.length));
    counter.writeUInt32BE(i, 0);
    const digest = createHash(hash).update(counter).update(piece).digest();
    digest.copy(piece, 0, 0, piece.length);
  }
}

function xorInto(target: Buffer, source: Uint8Array): void {
  for (let i = 0; i < target.length; i++) target[i] ^= source[i];
}

/** Spreads `key` over `stripes` blocks (random but for the last one). */
export function afSplit(key: Uint8Array, stripes: number, hash: string): Buffer {
  const blockBytes = key.length;
  const out = Buffer.alloc(blockBytes * stripes);
  const d = Buffer.alloc(blockBytes);
  randomFillSync(out, 0, blockBytes * (stripes - 1));
  for (let i = 0; i < stripes - 1; i++) {
    xorInto(d, out.subarray(i * blockBytes, (i + 1) * blockBytes));
    diffuse(d, hash);
  }
  xorInto(d, key);
  d.copy(out, (stripes - 1) * blockBytes);
  d.fill(0);
  return out;
}

/** Recovers the key of `blockBytes` from the output of {@link afSplit}. */
export function afMerge(
  split: Uint8Array,
  blockBytes: number,
  stripes: number,
  hash: string,
): Buffer {
  const d = Buffer.alloc(blockBytes);
  for (let i = 0; i < stripes - 1; i++) {
    xorInto(d, split.subarray(i * blockBytes, (i + 1) * blockBytes));
    diffuse(d, hash);
  }
  xorInto(d, split.subarray((stripes - 1) * blockBytes, stripes * blockBytes));
  return d;
}
