import * as zlib from 'node:zlib';
import { decompressClusterSync } from './clusterCodec';
import { zstdFrameLength } from './zstdFrames';

describe('zstd frames in compressed clusters', () => {
  const cluster = Buffer.alloc(65536);
  for (let i = 0; i < cluster.length; i++) cluster[i] = (i * 7) % 13 + (i >> 12);

  it('finds the end of a frame with or without checksum and content size, before what follows it', () => {
    for (const params of [
      {},
      { [zlib.constants.ZSTD_c_checksumFlag]: 1 },
      { [zlib.constants.ZSTD_c_contentSizeFlag]: 0 },
      { [zlib.constants.ZSTD_c_compressionLevel]: 19 },
    ]) {
      const frame = zlib.zstdCompressSync(cluster, { params });
      const followed = Buffer.concat([frame, Buffer.from('the next compressed cluster'), Buffer.alloc(300)]);
      expect(zstdFrameLength(followed, 0, 'a test cluster')).toBe(frame.length);
      expect(
        decompressClusterSync({ type: 'zstd', bytes: followed, clusterSize: 65536, what: 'a test cluster' }).equals(cluster),
      ).toBe(true);
    }
    const random = Buffer.from(zlib.zstdCompressSync(Buffer.alloc(4096, 7)));
    expect(zstdFrameLength(random, 0, 'x')).toBe(random.length);
  });

  it('refuses truncated frames, other magic and short output as corrupt', () => {
    const frame = zlib.zstdCompressSync(cluster);
    const what = 'guest offset 0 of t.qcow2';
    expect(() => zstdFrameLength(frame.subarray(0, frame.length - 3), 0, what)).toThrow(/zstd frame of guest offset 0 of t.qcow2 runs past/);
    expect(() => zstdFrameLength(Buffer.from('not zstd at all'), 0, what)).toThrow(/is not a zstd frame/);
    expect(() => decompressClusterSync({ type: 'zstd', bytes: frame, clusterSize: 131072, what })).toThrow(
      /decompresses to 65536 bytes, not a 131072-byte cluster/,
    );
    expect(() => decompressClusterSync({ type: 'deflate', bytes: Buffer.from([1, 2, 3, 4]), clusterSize: 65536, what })).toThrow(
      /compressed cluster at guest offset 0 of t.qcow2 does not decompress \(deflate\)/,
    );
  });
});
