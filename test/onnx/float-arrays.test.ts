import { describe, it, expect } from 'vitest';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  narrowFloatBitsToFloat32,
} from '../../src/onnx/float-arrays.js';
import {
  decodeBfloat16,
  decodeFloat16,
  encodeBfloat16,
  encodeFloat16,
  isNarrowFloatDataType,
  narrowFloatDecoder,
} from '../../src/onnx/float-formats.js';
import { DataType } from '../../src/onnx/types.js';

const every16BitPattern = Uint16Array.from({ length: 65536 }, (_, i) => i);

/**
 * float32 bit patterns that probe rounding into a 16-bit format: every
 * representable value, every midpoint between neighbours, one float32 ulp on
 * either side of each, and a spread of pseudo-random patterns.
 */
function probeFloat32Values(decode: (bits: number) => number): Float32Array {
  const values: number[] = [];
  const positives = Array.from(every16BitPattern, decode)
    .filter((v) => Number.isFinite(v) && v >= 0)
    .sort((a, b) => a - b);
  const bits = new Uint32Array(1);
  const float = new Float32Array(bits.buffer);
  for (let i = 0; i < positives.length; i++) {
    const value = positives[i]!;
    const next = positives[i + 1] ?? value * 2;
    float[0] = (value + next) / 2;
    const middle = bits[0]!;
    for (const pattern of [middle - 1, middle, middle + 1]) {
      bits[0] = pattern;
      values.push(float[0]!, -float[0]!);
    }
    values.push(value, -value);
  }
  let state = 0x12345678;
  for (let i = 0; i < 200_000; i++) {
    // xorshift32: deterministic coverage of arbitrary float32 patterns.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bits[0] = state >>> 0;
    values.push(float[0]!);
  }
  values.push(0, -0, Infinity, -Infinity, NaN, 3.4028234663852886e38, 1e-45);
  return Float32Array.from(values);
}

describe.each([
  { name: 'float16', toBits: float32ToFloat16Bits, fromBits: float16BitsToFloat32, encode: encodeFloat16, decode: decodeFloat16, nanWithPayload: 0x7c01 },
  { name: 'bfloat16', toBits: float32ToBfloat16Bits, fromBits: bfloat16BitsToFloat32, encode: encodeBfloat16, decode: decodeBfloat16, nanWithPayload: 0x7f81 },
])('$name arrays', ({ toBits, fromBits, encode, decode, nanWithPayload }) => {
  it('decode every bit pattern exactly as the scalar decoder does', () => {
    const decoded = fromBits(every16BitPattern);
    for (let bits = 0; bits < 65536; bits++) {
      const expected = decode(bits);
      if (Number.isNaN(expected)) expect(decoded[bits]).toBeNaN();
      else expect(Object.is(decoded[bits], expected), `0x${bits.toString(16)}`).toBe(true);
    }
  });

  it('keep NaN payloads when decoding', () => {
    const decoded = fromBits(Uint16Array.of(nanWithPayload));
    const payload = new Uint32Array(decoded.buffer)[0]!;
    expect(payload & 0x7fffff).not.toBe(0);
    expect(payload & 0x7f800000).toBe(0x7f800000);
  });

  it('encode with the same rounding as the scalar encoder', () => {
    const values = probeFloat32Values(decode);
    const encoded = toBits(values);
    for (let i = 0; i < values.length; i++) {
      const expected = encode(values[i]!);
      if (encoded[i] !== expected) expect(`${values[i]} -> 0x${encoded[i]!.toString(16)}`).toBe(`${values[i]} -> 0x${expected.toString(16)}`);
    }
  });

  it('round-trip every non-NaN pattern', () => {
    const back = toBits(fromBits(every16BitPattern));
    for (let bits = 0; bits < 65536; bits++) {
      if (!Number.isNaN(decode(bits))) expect(back[bits]).toBe(bits);
    }
  });

  it('read and write arrays at a byte offset and into a given output', () => {
    const buffer = new ArrayBuffer(64);
    const values = new Float32Array(buffer, 12, 3);
    values.set([1, -2, 0.5]);
    const out = new Uint16Array(new ArrayBuffer(32), 6, 4);
    expect(toBits(values, out)).toBe(out);
    expect(Array.from(out.subarray(0, 3), decode)).toEqual([1, -2, 0.5]);
    const floats = new Float32Array(new ArrayBuffer(32), 8, 3);
    expect(Array.from(fromBits(out.subarray(0, 3), floats))).toEqual([1, -2, 0.5]);
  });

  it('reject a short output array', () => {
    expect(() => toBits(new Float32Array(4), new Uint16Array(3))).toThrow('output Uint16Array holds 3 elements, but 4 are needed');
    expect(() => fromBits(new Uint16Array(4), new Float32Array(2))).toThrow(RangeError);
  });
});

describe('narrowFloatBitsToFloat32', () => {
  const types = (Object.values(DataType) as number[]).filter(isNarrowFloatDataType);

  it.each(types)('decodes every pattern of data type %i like the scalar decoder', (dt) => {
    if (!isNarrowFloatDataType(dt)) throw new Error('unreachable');
    const wide = dt === DataType.FLOAT16 || dt === DataType.BFLOAT16;
    const bits = wide ? every16BitPattern : Uint8Array.from({ length: dt === DataType.FLOAT4E2M1 ? 16 : 256 }, (_, i) => i);
    const decoded = narrowFloatBitsToFloat32(dt, bits);
    const decode = narrowFloatDecoder(dt);
    bits.forEach((pattern, i) => {
      const expected = Math.fround(decode(pattern));
      if (Number.isNaN(expected)) expect(decoded[i]).toBeNaN();
      else expect(Object.is(decoded[i], expected)).toBe(true);
    });
  });

  it('is exact for e8m0 within float32 range', () => {
    expect(narrowFloatBitsToFloat32(DataType.FLOAT8E8M0, Uint8Array.of(0, 127, 254))).toEqual(
      Float32Array.of(2 ** -127, 1, 2 ** 127),
    );
  });

  it('rejects bit patterns of the wrong width', () => {
    expect(() => narrowFloatBitsToFloat32(DataType.FLOAT16, new Uint8Array(2))).toThrow(
      'bit patterns of data type 10 must be a Uint16Array',
    );
    expect(() => narrowFloatBitsToFloat32(DataType.FLOAT8E5M2, new Uint16Array(2))).toThrow(RangeError);
  });
});
