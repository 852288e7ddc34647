import type { BackingResolver, RangeSource } from '../io';
import { readU32 } from '../codec/bigEndian';
import { QCOW2_MAGIC } from '../format/constants';
import { corrupt, invalidArgument, unsupported } from '../format/errors';
import type { Passphrase } from '../luks/LuksKey';
import { LuksKeyCache } from '../luks/LuksKeyCache';
import { LUKS_SECTOR_BYTES } from '../luks/luksHeader';
import { CompressedPart, ImageLayer, LayerExtent } from './ImageLayer';
import { Qcow2Image } from './Qcow2Image';
import { RawImage } from './RawImage';
import { readSourceInto } from './readSource';

/** A guest byte range of a chain: read from one layer (as stored, or compressed), or zeros. */
export type ChainExtent =
  | {
      kind: 'data';
      offset: number;
      length: number;
      layer: number;
      hostOffset: number;
    }
  | (CompressedPart & { layer: number })
  | { kind: 'zero'; offset: number; length: number };

/**
 * The passphrase of the encrypted (LUKS) layers of a chain: one for all, or one per layer
 * (by the name the chain gives it: the top's own name, then what the resolver returned).
 */
export type ChainPassphrase =
  | Passphrase
  | ((layer: { name: string; depth: number }) =>
      | Passphrase
      | undefined
      | Promise<Passphrase | undefined>);

export const DEFAULT_MAX_CHAIN_DEPTH = 64;

export interface OpenChainOptions {
  source: RangeSource;
  /** Name of the top image; relative backing names are resolved against it. */
  name: string;
  /** Opens backing files; required when the image has one. */
  resolveBacking?: BackingResolver;
  /** Refuse chains longer than this (a loop or a hostile image); 64 by default. */
  maxDepth?: number;
  /** L2 cache bound per layer; 1 MiB by default (at least one table). */
  l2CacheBytes?: number;
  /**
   * Opens encrypted (LUKS) layers. Without it an encrypted layer is a `passphrase-missing`
   * error; a passphrase that opens none of its key slots, `passphrase-wrong`. Layers sharing a
   * LUKS header are unlocked once.
   */
  passphrase?: ChainPassphrase;
}

/**
 * A QCOW2 image and its backing files, top first. Resolves any guest range to the layer that
 * holds each part, and reads guest bytes.
 */
export class Qcow2Chain {
  private constructor(readonly layers: ImageLayer[]) {}

  get top(): ImageLayer {
    return this.layers[0];
  }

  get virtualSize(): number {
    return this.layers[0].virtualSize;
  }

  static async open(options: OpenChainOptions): Promise<Qcow2Chain> {
    const maxDepth = options.maxDepth ?? DEFAULT_MAX_CHAIN_DEPTH;
    const layers: ImageLayer[] = [];
    const seen = new Set<string>([options.name]);
    const keys = new LuksKeyCache();
    const passphraseFor = async (name: string, depth: number) =>
      typeof options.passphrase === 'function'
        ? options.passphrase({ name, depth })
        : options.passphrase;
    try {
      let layer: ImageLayer = await Qcow2Image.open({
        source: options.source,
        name: options.name,
        l2CacheBytes: options.l2CacheBytes,
        passphrase: await passphraseFor(options.name, 0),
        keys,
      });
      layers.push(layer);
      while (layer.backing) {
        const { backing } = layer;
        if (!options.resolveBacking) {
          throw invalidArgument(
            `image ${layer.name} has backing file "${backing.name}" but no backing resolver was given`,
          );
        }
        if (layers.length >= maxDepth) {
          throw unsupported(
            `backing chain of ${options.name} is deeper than ${maxDepth} images`,
          );
        }
        const opened = await options.resolveBacking({
          backingName: backing.name,
          childName: layer.name,
        });
        if (seen.has(opened.name)) {
          await opened.source.close();
          throw corrupt(
            `backing chain of ${options.name} loops back to ${opened.name}`,
          );
        }
        seen.add(opened.name);
        layer = await openLayer({
          ...opened,
          format: backing.format,
          l2CacheBytes: options.l2CacheBytes,
          passphrase: () => passphraseFor(opened.name, layers.length),
          keys,
        });
        layers.push(layer);
      }
      return new Qcow2Chain(layers);
    } catch (error) {
      // The top source belongs to the caller; close only what this function opened.
      await Promise.all(
        layers.slice(1).map(l => l.source.close().catch(() => undefined)),
      );
      throw error;
    }
  }

  /**
   * The extents covering `[offset, offset + length)` of the virtual disk (clipped to it):
   * each part comes from the topmost layer that has it allocated, or is zero.
   */
  async resolveRange(offset: number, length: number): Promise<ChainExtent[]> {
    const out: ChainExtent[] = [];
    const end = Math.min(offset + length, this.virtualSize);
    if (end > offset) await this.resolveIn(0, offset, end - offset, out);
    return out;
  }

  /** Fills `target` with the guest bytes at `offset` (which must lie inside the disk). */
  async readInto(target: Uint8Array, offset: number): Promise<void> {
    if (offset < 0 || offset + target.length > this.virtualSize) {
      throw invalidArgument(
        `read of ${target.length} bytes at ${offset} is outside the ${this.virtualSize}-byte disk`,
      );
    }
    await this.readResolved(
      target,
      offset,
      await this.resolveRange(offset, target.length),
    );
  }

  /** Fills `target` (guest bytes at `offset`) from extents {@link resolveRange} returned for it. */
  async readResolved(
    target: Uint8Array,
    offset: number,
    extents: ChainExtent[],
  ): Promise<void> {
    await Promise.all(
      extents.map(extent => {
        const part = target.subarray(
          extent.offset - offset,
          extent.offset - offset + extent.length,
        );
        if (extent.kind === 'zero') {
          part.fill(0);
          return undefined;
        }
        return this.readExtent(extent, part);
      }),
    );
  }

  /**
   * Reads a data or compressed extent (or a piece of one: the same extent with a later
   * `offset`, a shorter `length`, and for data the `hostOffset` moved along) into `target`.
   */
  async readExtent(
    extent: Exclude<ChainExtent, { kind: 'zero' }>,
    target: Uint8Array,
    blocking = false,
  ): Promise<void> {
    if (extent.kind === 'compressed') {
      const layer = this.layers[extent.layer];
      if (!layer.readCompressed)
        throw corrupt(`layer ${layer.name} has no compressed clusters`);
      await layer.readCompressed(extent, target, blocking);
    } else if (!blocking || !this.readHostSync(extent.layer, extent.hostOffset, target)) {
      await this.readHost(extent.layer, extent.hostOffset, target);
    }
  }

  /**
   * {@link readResolved} with blocking reads (the layers' `readIntoSync`) where the sources
   * have them, one extent after the other on the calling thread.
   */
  async readResolvedBlocking(
    target: Uint8Array,
    offset: number,
    extents: ChainExtent[],
  ): Promise<void> {
    for (const extent of extents) {
      const part = target.subarray(
        extent.offset - offset,
        extent.offset - offset + extent.length,
      );
      if (extent.kind === 'zero') part.fill(0);
      else await this.readExtent(extent, part, true);
    }
  }

  /** True when every layer's source can read without the thread pool (`readIntoSync`). */
  get canReadBlocking(): boolean {
    return this.layers.every(layer => Boolean(layer.source.readIntoSync));
  }

  /**
   * {@link readHost} done on the calling thread; false (nothing read) when the layer's source
   * has no `readIntoSync`.
   */
  readHostSync(layer: number, hostOffset: number, target: Uint8Array): boolean {
    const image = this.layers[layer];
    if (!image.source.readIntoSync) return false;
    if (image.cipher) {
      const span = sectorSpan(hostOffset, target);
      readRawSync(image, span.offset, span.buffer);
      span.finish(image.cipher);
      return true;
    }
    readRawSync(image, hostOffset, target);
    return true;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const target = new Uint8Array(length);
    await this.readInto(target, offset);
    return target;
  }

  /**
   * Reads host bytes of a layer. A data cluster may end past the end of the file (QEMU does
   * not always extend the file over the last cluster): that tail reads as zeros, as in QEMU.
   */
  async readHost(
    layer: number,
    hostOffset: number,
    target: Uint8Array,
  ): Promise<void> {
    const image = this.layers[layer];
    if (image.cipher) {
      // Whole sectors are read and decrypted (each with its host sector number).
      const span = sectorSpan(hostOffset, target);
      await this.readRaw(image, span.offset, span.buffer);
      span.finish(image.cipher);
      return;
    }
    await this.readRaw(image, hostOffset, target);
  }

  private async readRaw(
    image: ImageLayer,
    hostOffset: number,
    target: Uint8Array,
  ): Promise<void> {
    const available = image.fileSize - hostOffset;
    if (available >= target.length) {
      await readSourceInto(image.source, target, hostOffset);
      return;
    }
    if (available <= 0) {
      throw corrupt(
        `data at host offset ${hostOffset} of ${image.name} is past the end of the file`,
      );
    }
    await readSourceInto(
      image.source,
      target.subarray(0, available),
      hostOffset,
    );
    target.fill(0, available);
  }

  /** Closes the backing files this chain opened (the top source stays the caller's). */
  async close(): Promise<void> {
    await Promise.all(this.layers.slice(1).map(l => l.source.close()));
  }

  private async resolveIn(
    index: number,
    offset: number,
    length: number,
    out: ChainExtent[],
  ): Promise<void> {
    const layer = this.layers[index];
    const end = offset + length;
    const inside = Math.min(end, layer.virtualSize);
    if (inside > offset) {
      const extents: LayerExtent[] = [];
      await layer.mapRange(offset, inside - offset, extents);
      for (const extent of extents) {
        if (extent.kind === 'data') {
          pushChainExtent(out, {
            kind: 'data',
            offset: extent.offset,
            length: extent.length,
            layer: index,
            hostOffset: extent.hostOffset,
          });
        } else if (extent.kind === 'compressed') {
          out.push({ ...extent, layer: index });
        } else if (
          extent.kind === 'unallocated' &&
          index + 1 < this.layers.length
        ) {
          await this.resolveIn(index + 1, extent.offset, extent.length, out);
        } else {
          pushChainExtent(out, {
            kind: 'zero',
            offset: extent.offset,
            length: extent.length,
          });
        }
      }
    }
    if (end > Math.max(inside, offset)) {
      const from = Math.max(inside, offset);
      pushChainExtent(out, { kind: 'zero', offset: from, length: end - from });
    }
  }
}

/** The piece `[at, at + length)` of a data or compressed extent, as {@link Qcow2Chain.readExtent} takes it. */
export function extentPiece(
  extent: Exclude<ChainExtent, { kind: 'zero' }>,
  at: number,
  length: number,
): Exclude<ChainExtent, { kind: 'zero' }> {
  return extent.kind === 'data'
    ? { ...extent, offset: extent.offset + at, length, hostOffset: extent.hostOffset + at }
    : { ...extent, offset: extent.offset + at, length };
}

/** Host bytes of a layer on the calling thread, with the tail past the file's end as zeros. */
function readRawSync(image: ImageLayer, hostOffset: number, target: Uint8Array): void {
  const available = image.fileSize - hostOffset;
  if (available >= target.length) {
    image.source.readIntoSync!(target, hostOffset);
    return;
  }
  if (available <= 0) {
    throw corrupt(
      `data at host offset ${hostOffset} of ${image.name} is past the end of the file`,
    );
  }
  image.source.readIntoSync!(target.subarray(0, available), hostOffset);
  target.fill(0, available);
}

/**
 * The sector-aligned host range around `target` at `hostOffset`: `buffer` is `target` itself
 * when both are aligned, else a temporary one; `finish` decrypts it and copies `target`'s part.
 */
function sectorSpan(hostOffset: number, target: Uint8Array) {
  const offset = Math.floor(hostOffset / LUKS_SECTOR_BYTES) * LUKS_SECTOR_BYTES;
  const end =
    Math.ceil((hostOffset + target.length) / LUKS_SECTOR_BYTES) *
    LUKS_SECTOR_BYTES;
  const aligned = offset === hostOffset && end === hostOffset + target.length;
  const buffer = aligned ? target : new Uint8Array(end - offset);
  return {
    offset,
    buffer,
    finish(cipher: NonNullable<ImageLayer['cipher']>) {
      cipher.decrypt(buffer, offset / LUKS_SECTOR_BYTES);
      if (!aligned)
        target.set(
          buffer.subarray(hostOffset - offset, hostOffset - offset + target.length),
        );
    },
  };
}

function pushChainExtent(out: ChainExtent[], extent: ChainExtent): void {
  const last = out[out.length - 1];
  if (
    last &&
    last.kind !== 'compressed' &&
    last.kind === extent.kind &&
    last.offset + last.length === extent.offset
  ) {
    if (
      last.kind === 'zero' ||
      (extent.kind === 'data' &&
        last.layer === extent.layer &&
        last.hostOffset + last.length === extent.hostOffset)
    ) {
      last.length += extent.length;
      return;
    }
  }
  out.push(extent);
}

async function openLayer(options: {
  name: string;
  source: RangeSource;
  format?: string;
  l2CacheBytes?: number;
  passphrase: () => Promise<Passphrase | undefined>;
  keys: LuksKeyCache;
}): Promise<ImageLayer> {
  let format = options.format;
  if (format === undefined) {
    // No backing format extension: probe like QEMU does (qcow2 magic, else raw).
    const size = await options.source.size();
    const magic =
      size >= 4 ? await options.source.read(0, 4) : new Uint8Array(0);
    format =
      magic.length === 4 && readU32(magic, 0) === QCOW2_MAGIC ? 'qcow2' : 'raw';
  }
  try {
    if (format === 'qcow2') {
      return await Qcow2Image.open({
        ...options,
        passphrase: await options.passphrase(),
      });
    }
    if (format === 'raw') return await RawImage.open(options);
  } catch (error) {
    await options.source.close().catch(() => undefined);
    throw error;
  }
  await options.source.close().catch(() => undefined);
  throw unsupported(
    `backing file ${options.name} has format "${format}"; only qcow2 and raw are supported`,
  );
}
