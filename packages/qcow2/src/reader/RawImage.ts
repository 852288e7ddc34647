import type { RangeSource } from '../io';
import { ImageLayer, LayerExtent, pushExtent } from './ImageLayer';

/** A raw file used as a backing file (`-F raw`): guest offset = host offset. */
export class RawImage implements ImageLayer {
  readonly format = 'raw' as const;
  readonly granularity = 512;

  private constructor(
    readonly name: string,
    readonly source: RangeSource,
    readonly fileSize: number,
  ) {}

  get virtualSize(): number {
    return this.fileSize;
  }

  static async open(options: {
    source: RangeSource;
    name: string;
  }): Promise<RawImage> {
    return new RawImage(
      options.name,
      options.source,
      await options.source.size(),
    );
  }

  async mapRange(
    offset: number,
    length: number,
    out: LayerExtent[],
  ): Promise<void> {
    const end = Math.min(offset + length, this.fileSize);
    if (end > offset)
      pushExtent(out, {
        kind: 'data',
        offset,
        length: end - offset,
        hostOffset: offset,
      });
  }
}
