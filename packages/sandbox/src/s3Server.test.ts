import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { isPortOpen } from './ports';
import { startS3Server } from './s3Server';

describe('startS3Server', () => {
  it('serves a bucket whose objects round-trip, and stop() frees the port', async () => {
    const s3 = await startS3Server();
    const port = Number(new URL(s3.endpoint).port);
    try {
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      await client.send(new CreateBucketCommand({ Bucket: 'ferry-test' }));
      const body = Buffer.from('bytes that must come back\n'.repeat(1000));
      await client.send(new PutObjectCommand({ Bucket: 'ferry-test', Key: 'a/b.bin', Body: body }));
      const got = await client.send(new GetObjectCommand({ Bucket: 'ferry-test', Key: 'a/b.bin' }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      expect(bytes.equals(body)).toBe(true);
      // The posix backend stores the object as a plain file.
      expect(fs.readFileSync(path.join(s3.dataDir, 'ferry-test', 'a', 'b.bin')).equals(body)).toBe(true);

      const stranger = new S3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: 'nobody', secretAccessKey: 'wrong-secret-key' },
      });
      await expect(
        stranger.send(new GetObjectCommand({ Bucket: 'ferry-test', Key: 'a/b.bin' })),
      ).rejects.toThrow();
    } finally {
      await s3.stop();
    }
    expect(await isPortOpen(port)).toBe(false);
    expect(fs.existsSync(s3.dataDir)).toBe(false);
  }, 60_000);
});
