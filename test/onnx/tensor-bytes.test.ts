import { describe, it, expect } from 'vitest';
import {
  hostIsLittleEndian,
  packSubByte,
  readLittleEndian,
  toLittleEndianBytes,
  unpackSubByte,
  type MultiByteKind,
} from '../../src/onnx/tensor-bytes.js';

const kinds: [MultiByteKind, number][] = [
  ['Float32Array', 4],
  ['Float64Array', 8],
  ['Int16Array', 2],
  ['Uint16Array', 2],
  ['Int32Array', 4],
  ['Uint32Array', 4],
  ['BigInt64Array', 8],
  ['BigUint64Array', 8],
];

/** `bytes` with each `size`-byte element reversed: the big-endian spelling. */
function reversedElements(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i - (i % size) + (size - 1 - (i % size))]!;
  return out;
}

function placeAt(bytes: Uint8Array, offset: number): Uint8Array {
  const view = new Uint8Array(new ArrayBuffer(bytes.length + offset + 8), offset, bytes.length);
  view.set(bytes);
  return view;
}

describe('readLittleEndian', () => {
  it('runs on a little-endian host here', () => {
    expect(hostIsLittleEndian).toBe(true);
  });

  it.each(kinds)('%s: reads little-endian bytes at every offset', (kind, size) => {
    const bytes = Uint8Array.from({ length: size * 3 }, (_, i) => (i * 37 + 11) & 0xff);
    const expected = readLittleEndian(placeAt(bytes, 0), kind);
    const view = new DataView(bytes.buffer);
    expect(Number(expected[1])).toBe(
      Number(
        {
          Float32Array: () => view.getFloat32(size, true),
          Float64Array: () => view.getFloat64(size, true),
          Int16Array: () => view.getInt16(size, true),
          Uint16Array: () => view.getUint16(size, true),
          Int32Array: () => view.getInt32(size, true),
          Uint32Array: () => view.getUint32(size, true),
          BigInt64Array: () => view.getBigInt64(size, true),
          BigUint64Array: () => view.getBigUint64(size, true),
        }[kind](),
      ),
    );
    for (let offset = 1; offset <= size; offset++) {
      const placed = placeAt(bytes, offset);
      const read = readLittleEndian(placed, kind);
      expect(read).toEqual(expected);
      const aligned = offset % size === 0;
      // Zero-copy only when aligned; an unaligned view is copied.
      expect(read.buffer === placed.buffer).toBe(aligned);
    }
  });

  it.each(kinds)('%s: the big-endian host path swaps bytes', (kind, size) => {
    const bytes = Uint8Array.from({ length: size * 4 }, (_, i) => (i * 53 + 7) & 0xff);
    const expected = readLittleEndian(bytes, kind, true);
    for (const offset of [0, 1, 3]) {
      // On this (little-endian) host, native reads of the swapped copy of
      // big-endian bytes give the values the little-endian bytes hold.
      const read = readLittleEndian(placeAt(reversedElements(bytes, size), offset), kind, false);
      expect(read).toEqual(expected);
    }
  });
});

describe('toLittleEndianBytes', () => {
  it('returns the array bytes on a little-endian host, without copying', () => {
    const values = Int32Array.of(1, -2);
    const bytes = toLittleEndianBytes(values);
    expect(Array.from(bytes)).toEqual([1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
    expect(bytes.buffer).toBe(values.buffer);
  });

  it('swaps each element on the big-endian host path', () => {
    // Native bytes here are [2, 1, 4, 3]; the big-endian path reverses each element in place.
    const values = Uint16Array.of(0x0102, 0x0304);
    const bytes = toLittleEndianBytes(values, false);
    expect(Array.from(bytes)).toEqual([1, 2, 3, 4]);
    expect(bytes.buffer).toBe(values.buffer);
  });
});

describe('packSubByte / unpackSubByte', () => {
  it.each([
    [4, false, [1, 2, 3], [0x21, 0x03]],
    [4, true, [-8, 7, -1], [0x78, 0x0f]],
    [2, false, [0, 1, 2, 3, 3], [0b11100100, 0b11]],
    [2, true, [-2, -1, 0, 1, 1, -2], [0b01001110, 0b1001]],
  ] as const)('%i-bit signed=%s: packs %o low bits first', (bits, signed, values, packed) => {
    expect(Array.from(packSubByte(values, bits))).toEqual(packed);
    const unpacked = unpackSubByte(packed, bits, values.length, signed);
    expect(unpacked).toBeInstanceOf(signed ? Int8Array : Uint8Array);
    expect(Array.from(unpacked)).toEqual(values);
  });

  it.each([
    [4, false],
    [4, true],
    [2, false],
    [2, true],
  ] as const)('%i-bit signed=%s: every byte unpacks and packs back', (bits, signed) => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const perByte = 8 / bits;
    const values = unpackSubByte(bytes, bits, 256 * perByte, signed);
    const [min, max] = signed ? [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1];
    expect(Math.min(...values)).toBe(min);
    expect(Math.max(...values)).toBe(max);
    expect(packSubByte(values, bits)).toEqual(bytes);
  });

  it('masks int32_data entries to their low byte and ignores padding bits', () => {
    expect(Array.from(unpackSubByte([-8, 0x1f7], 4, 3, true))).toEqual([-8, -1, 7]);
    expect(Array.from(unpackSubByte([0xff], 2, 1, false))).toEqual([3]);
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7, 9])('handles %i elements (odd counts pad with zero bits)', (count) => {
    const values = Array.from({ length: count }, (_, i) => (i % 3) - 1);
    for (const bits of [2, 4] as const) {
      const packed = packSubByte(values, bits);
      expect(packed.length).toBe(Math.ceil(count / (8 / bits)));
      expect(Array.from(unpackSubByte(packed, bits, count, true))).toEqual(values);
      const usedBits = (count * bits) % 8;
      if (usedBits !== 0) expect(packed[packed.length - 1]! >> usedBits).toBe(0);
    }
  });
});
