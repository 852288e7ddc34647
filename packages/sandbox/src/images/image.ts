import { putBlob } from './blobStore';
import type { Layer } from './layer';

/** The runtime part of an OCI image config (Docker's names, as in a Dockerfile). */
export type ImageRuntimeConfig = {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  /** Signal the runtime stops the container with (containerd's CRI honours it), e.g. `SIGINT`. */
  StopSignal?: string;
  /** Documentation of the ports the program listens on (`'5432/tcp': {}`). */
  ExposedPorts?: Record<string, Record<string, never>>;
};

/** An image whose config, manifest and layers are blobs in the store. */
export type Image = {
  manifest: Buffer;
  /** Digest of the manifest (what `<repo>@sha256:…` pins). */
  digest: string;
  config: { digest: string; size: number };
  layers: Layer[];
  /** Sum of the compressed layers. */
  compressedSize: number;
  /** Sum of the uncompressed layers (about the unpacked size). */
  size: number;
};

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Writes the image config and the OCI manifest of `layers` (bottom first) into the blob store. */
export function assembleImage(layers: Layer[], runtime: ImageRuntimeConfig): Image {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: runtime,
      rootfs: { type: 'layers', diff_ids: layers.map(l => l.diffId) },
      history: layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'ferry sandbox image builder' })),
    }),
  );
  const configBlob = putBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configBlob.digest, size: configBlob.size },
      layers: layers.map(l => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const { digest } = putBlob(manifest);
  return { manifest, digest, config: configBlob, layers, compressedSize: layers.reduce((sum, l) => sum + l.size, 0), size: layers.reduce((sum, l) => sum + l.tarSize, 0) };
}
