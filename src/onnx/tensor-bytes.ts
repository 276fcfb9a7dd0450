/**
 * Byte-level helpers of the tensor layer: little-endian reads and writes of
 * fixed-width elements, and packing of the 4-bit and 2-bit types. Internal to
 * src/onnx; exported for tensor-decode.ts, tensor-create.ts and their tests.
 */

/** True when this machine stores numbers little-endian, as ONNX `raw_data` does. */
export const hostIsLittleEndian: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The typed arrays whose elements span more than one byte. */
export type MultiByteArray =
  | Float32Array
  | Float64Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** The name of a {@link MultiByteArray} kind. */
export type MultiByteKind =
  | 'Float32Array'
  | 'Float64Array'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'BigInt64Array'
  | 'BigUint64Array';

interface Layout {
  readonly bytesPerElement: number;
  readonly view: (buffer: ArrayBufferLike, byteOffset: number, length: number) => MultiByteArray;
}

const layouts: Record<MultiByteKind, Layout> = {
  Float32Array: { bytesPerElement: 4, view: (b, o, n) => new Float32Array(b, o, n) },
  Float64Array: { bytesPerElement: 8, view: (b, o, n) => new Float64Array(b, o, n) },
  Int16Array: { bytesPerElement: 2, view: (b, o, n) => new Int16Array(b, o, n) },
  Uint16Array: { bytesPerElement: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  Int32Array: { bytesPerElement: 4, view: (b, o, n) => new Int32Array(b, o, n) },
  Uint32Array: { bytesPerElement: 4, view: (b, o, n) => new Uint32Array(b, o, n) },
  BigInt64Array: { bytesPerElement: 8, view: (b, o, n) => new BigInt64Array(b, o, n) },
  BigUint64Array: { bytesPerElement: 8, view: (b, o, n) => new BigUint64Array(b, o, n) },
};

/** True for the kinds {@link readLittleEndian} handles. */
export function isMultiByteKind(kind: string): kind is MultiByteKind {
  return Object.hasOwn(layouts, kind);
}

/** Reverses the bytes of each `size`-byte element of `bytes`, in place. */
function swapByteOrder(bytes: Uint8Array, size: number): void {
  for (let start = 0; start + size <= bytes.length; start += size) {
    for (let low = start, high = start + size - 1; low < high; low++, high--) {
      const byte = bytes[low]!;
      bytes[low] = bytes[high]!;
      bytes[high] = byte;
    }
  }
}

/**
 * Reads little-endian elements from `bytes` (whose length must be a multiple
 * of the element size).
 *
 * Zero-copy when the host is little-endian and `bytes.byteOffset` is a
 * multiple of the element size: the result then shares memory with `bytes`
 * and must not be mutated. Otherwise the bytes are copied into a fresh,
 * aligned buffer (and byte-swapped on a big-endian host).
 *
 * @param littleEndianHost - the host byte order; tests pass `false` to exercise the big-endian path.
 */
export function readLittleEndian(
  bytes: Uint8Array,
  kind: MultiByteKind,
  littleEndianHost: boolean = hostIsLittleEndian,
): MultiByteArray {
  const { bytesPerElement, view } = layouts[kind];
  const length = Math.floor(bytes.length / bytesPerElement);
  if (littleEndianHost && bytes.byteOffset % bytesPerElement === 0) {
    return view(bytes.buffer, bytes.byteOffset, length);
  }
  // Typed arrays cannot sit at an unaligned offset, so copy to a fresh
  // buffer. Not bytes.slice(): on a Node Buffer that shares memory.
  const copy = new Uint8Array(length * bytesPerElement);
  copy.set(bytes.subarray(0, copy.length));
  if (!littleEndianHost) swapByteOrder(copy, bytesPerElement);
  return view(copy.buffer, 0, length);
}

/**
 * The little-endian bytes of `array`, which the caller owns and will not use
 * again: on a big-endian host its buffer is byte-swapped in place.
 *
 * @param littleEndianHost - the host byte order; tests pass `false` to exercise the big-endian path.
 */
export function toLittleEndianBytes(
  array: MultiByteArray,
  littleEndianHost: boolean = hostIsLittleEndian,
): Uint8Array {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if (!littleEndianHost) swapByteOrder(bytes, array.BYTES_PER_ELEMENT);
  return bytes;
}

/** Bits per element of the packed types. */
export type SubByteWidth = 2 | 4;

/**
 * Unpacks `count` elements of `bits` bits each, lowest bits first, from
 * `packed` (bytes; entries of an `int32_data` field are masked to their low
 * byte). Signed elements are sign-extended.
 */
export function unpackSubByte(
  packed: ArrayLike<number>,
  bits: SubByteWidth,
  count: number,
  signed: boolean,
): Int8Array | Uint8Array {
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const unusedBits = 32 - bits;
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const byte = packed[Math.floor(i / perByte)]! & 0xff;
    const value = (byte >>> ((i % perByte) * bits)) & mask;
    out[i] = signed ? (value << unusedBits) >> unusedBits : value;
  }
  return out;
}

/**
 * Packs elements of `bits` bits each into bytes, lowest bits first; the
 * unused high bits of a final partial byte are zero. Each value is masked to
 * `bits` bits, so two's-complement negatives pack correctly.
 */
export function packSubByte(values: ArrayLike<number>, bits: SubByteWidth): Uint8Array {
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(Math.ceil(values.length / perByte));
  for (let i = 0; i < values.length; i++) {
    const byteIndex = Math.floor(i / perByte);
    out[byteIndex] = out[byteIndex]! | ((values[i]! & mask) << ((i % perByte) * bits));
  }
  return out;
}
