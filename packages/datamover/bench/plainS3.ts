// Reference for the benchmark: the same bytes through plain @aws-sdk/lib-storage (upload) or one
// GetObject (download into a file or block device, then fdatasync), nothing else, with the datamover's part size
// and queue. Usage: plainS3.js upload|download <file or device> <key>; server from BENCH_* env.
import { closeSync, createReadStream, createWriteStream, fdatasyncSync, openSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

async function main() {
  const [op, file, key] = process.argv.slice(2);
  const e = process.env;
  const client = new S3Client({
    endpoint: e.BENCH_ENDPOINT,
    region: e.BENCH_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: e.BENCH_ACCESS_KEY_ID!, secretAccessKey: e.BENCH_SECRET_ACCESS_KEY! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (op === 'upload') {
    await new Upload({
      client,
      params: { Bucket: e.BENCH_BUCKET!, Key: key, Body: createReadStream(file, { highWaterMark: 1 << 20 }) },
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
    }).done();
  } else {
    const out = await client.send(new GetObjectCommand({ Bucket: e.BENCH_BUCKET!, Key: key }));
    const device = statSync(file, { throwIfNoEntry: false })?.isBlockDevice();
    // Synced at the end like the restores it stands beside (qemu-img and the datamover flush).
    const fd = openSync(file, device ? 'r+' : 'w');
    await pipeline(out.Body as Readable, createWriteStream(file, { fd, autoClose: false, highWaterMark: 1 << 20 }));
    fdatasyncSync(fd);
    closeSync(fd);
  }
  client.destroy();
}

main().catch(err => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
