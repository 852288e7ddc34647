// Reference for the benchmark: the same bytes through plain @aws-sdk/lib-storage (upload) or
// GetObject (download), nothing else. Usage: plainS3.js upload|download <file> <key>; target from env.
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

async function main() {
  const [op, file, key] = process.argv.slice(2);
  const e = process.env;
  const client = new S3Client({
    endpoint: e.FERRY_S3_ENDPOINT,
    region: e.FERRY_S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: e.BENCH_ACCESS_KEY_ID!, secretAccessKey: e.BENCH_SECRET_ACCESS_KEY! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (op === 'upload') {
    await new Upload({
      client,
      params: { Bucket: e.FERRY_S3_BUCKET!, Key: key, Body: createReadStream(file, { highWaterMark: 1 << 20 }) },
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
    }).done();
  } else {
    const out = await client.send(new GetObjectCommand({ Bucket: e.FERRY_S3_BUCKET!, Key: key }));
    await pipeline(out.Body as Readable, createWriteStream(file));
  }
  client.destroy();
}

main().catch(err => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
