/** Bytes of a WebAssembly page: the unit (and the alignment) of the memory behind an aligned buffer. */
const WASM_PAGE = 64 * 1024;

/**
 * The function as source text, for code compiled from strings (the scanning threads), and the one
 * definition `alignedBuffer` is compiled from.
 */
export const ALIGNED_BUFFER_SOURCE = `(size => {
  const pages = Math.max(1, Math.ceil(size / ${WASM_PAGE}));
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
})`;

/**
 * A zero-filled buffer whose memory starts on a page boundary, as reads of a device opened with
 * O_DIRECT need (the kernel refuses, EINVAL, a buffer not aligned to the logical block size).
 * Node cannot align a Buffer or tell its address; a WebAssembly memory is mapped page-aligned,
 * so its ArrayBuffer is. Rounded up to 64 KiB in memory, `size` bytes long.
 */
// eslint-disable-next-line no-new-func
export const alignedBuffer = new Function(`return ${ALIGNED_BUFFER_SOURCE}`)() as (size: number) => Buffer;
