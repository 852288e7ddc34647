/** Bytes of a WebAssembly page: the unit (and the alignment) of the memory behind an aligned buffer. */
const WASM_PAGE = 64 * 1024;

/**
 * A zero-filled buffer whose memory starts on a page boundary, as reads of a device opened with
 * O_DIRECT need (the kernel refuses, EINVAL, a buffer not aligned to the logical block size).
 * Node cannot align a Buffer or tell its address; a WebAssembly memory is mapped page-aligned,
 * so its ArrayBuffer is. Rounded up to 64 KiB in memory, `size` bytes long.
 */
export function alignedBuffer(size: number): Buffer {
  const pages = Math.max(1, Math.ceil(size / WASM_PAGE));
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
}

/** The same expression as source text, for code compiled from strings (the scanning threads). */
export const ALIGNED_BUFFER_SOURCE = `(size => Buffer.from(new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(size / ${WASM_PAGE})), maximum: Math.max(1, Math.ceil(size / ${WASM_PAGE})) }).buffer, 0, size))`;
