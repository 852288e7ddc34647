/**
 * @ferry/qcow2: a streaming QCOW2 v3 writer, a chain reader, hydrate and extent iteration,
 * over byte sources and sinks that know nothing of where the bytes live.
 */
export type {
  PositionalSink,
  RangeSource,
  BackingResolver,
  DiskSink,
} from './io';
export { Qcow2Error, type Qcow2ErrorKind } from './format/errors';
export { ClusterGeometry } from './format/ClusterGeometry';
export {
  decodeHeader,
  type Qcow2Header,
  type CompressionType,
  type EncryptionHeaderPointer,
} from './format/header';
export {
  createQcow2Writer,
  DEFAULT_CLUSTER_SIZE,
  COMPRESSION_WITH_ENCRYPTION,
  type EncryptionOptions,
  type Qcow2Writer,
  type Qcow2WriterOptions,
  type Qcow2WriteResult,
} from './writer/Qcow2Writer';
export type { CompressionOptions } from './compress/clusterCodec';
export {
  LuksKey,
  DEFAULT_LUKS_ITERATIONS,
  type LuksCreateOptions,
  type Passphrase,
} from './luks/LuksKey';
export type { LuksCipher } from './luks/SectorCipher';
export { openLuksKey } from './luks/openLuksKey';
export {
  convertRawToQcow2,
  type ConvertRawOptions,
} from './writer/convertRawToQcow2';
export {
  writeOverlayFromRaw,
  type OverlayFromRawOptions,
  type OverlayWriteResult,
} from './writer/writeOverlayFromRaw';
export { Qcow2Image } from './reader/Qcow2Image';
export { RawImage } from './reader/RawImage';
export type {
  ImageLayer,
  LayerExtent,
  CompressedPart,
} from './reader/ImageLayer';
export {
  Qcow2Chain,
  extentPiece,
  type ChainExtent,
  type ChainPassphrase,
  type OpenChainOptions,
} from './reader/Qcow2Chain';
export { layerExtents } from './reader/layerExtents';
export { resolveBackingName } from './reader/resolveBackingName';
export {
  hydrate,
  type HydrateOptions,
  type HydrateResult,
} from './hydrate/hydrate';
export { FileSink } from './file/FileSink';
export { FileRangeSource } from './file/FileRangeSource';
export { FileDiskSink } from './file/FileDiskSink';
export { FlushBehind, DEFAULT_FLUSH_BEHIND_BYTES } from './file/FlushBehind';
export { fileBackingResolver } from './file/fileBackingResolver';
export { fileAllocation, parseFilefrag } from './file/fileAllocation';
export { WindowPool, type ScanHelper, type WindowPoolShared } from './file/WindowPool';
export { planSegments, type ByteRange, type Segment } from './plan/segments';
