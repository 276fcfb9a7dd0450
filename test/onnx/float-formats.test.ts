import { describe, it, expect } from 'vitest';
import {
  decodeBfloat16,
  decodeFloat16,
  decodeFloat4E2M1,
  decodeFloat8E4M3FN,
  decodeFloat8E4M3FNUZ,
  decodeFloat8E5M2,
  decodeFloat8E5M2FNUZ,
  decodeFloat8E8M0,
  encodeBfloat16,
  encodeFloat16,
  encodeFloat4E2M1,
  encodeFloat8E4M3FN,
  encodeFloat8E4M3FNUZ,
  encodeFloat8E5M2,
  encodeFloat8E5M2FNUZ,
  encodeFloat8E8M0,
  isNarrowFloatDataType,
  narrowFloatDecoder,
  narrowFloatEncoder,
} from '../../src/onnx/float-formats.js';
import { DataType } from '../../src/onnx/types.js';

interface Format {
  name: string;
  bits: number;
  decode: (bits: number) => number;
  /** Encoding without saturation, so that infinities round-trip. */
  encode: (value: number) => number;
  nan: number;
  maxFinite: number;
  minSubnormal: number;
}

const formats: Format[] = [
  { name: 'float16', bits: 16, decode: decodeFloat16, encode: encodeFloat16, nan: 0x7e00, maxFinite: 65504, minSubnormal: 2 ** -24 },
  { name: 'bfloat16', bits: 16, decode: decodeBfloat16, encode: encodeBfloat16, nan: 0x7fc0, maxFinite: 3.3895313892515355e38, minSubnormal: 2 ** -133 },
  { name: 'e4m3fn', bits: 8, decode: decodeFloat8E4M3FN, encode: (v) => encodeFloat8E4M3FN(v, false), nan: 0x7f, maxFinite: 448, minSubnormal: 2 ** -9 },
  { name: 'e4m3fnuz', bits: 8, decode: decodeFloat8E4M3FNUZ, encode: (v) => encodeFloat8E4M3FNUZ(v, false), nan: 0x80, maxFinite: 240, minSubnormal: 2 ** -10 },
  { name: 'e5m2', bits: 8, decode: decodeFloat8E5M2, encode: (v) => encodeFloat8E5M2(v, false), nan: 0x7e, maxFinite: 57344, minSubnormal: 2 ** -16 },
  { name: 'e5m2fnuz', bits: 8, decode: decodeFloat8E5M2FNUZ, encode: (v) => encodeFloat8E5M2FNUZ(v, false), nan: 0x80, maxFinite: 57344, minSubnormal: 2 ** -17 },
  { name: 'e2m1', bits: 4, decode: decodeFloat4E2M1, encode: encodeFloat4E2M1, nan: 0x7, maxFinite: 6, minSubnormal: 0.5 },
];

const scratch = new DataView(new ArrayBuffer(8));

/** The adjacent double above (+1) or below (-1) a positive finite x. */
function adjacentDouble(x: number, direction: 1 | -1): number {
  scratch.setFloat64(0, x);
  scratch.setBigUint64(0, scratch.getBigUint64(0) + BigInt(direction));
  return scratch.getFloat64(0);
}

function allPatterns(bits: number): number[] {
  return Array.from({ length: 2 ** bits }, (_, i) => i);
}

describe.each(formats)('$name', (format) => {
  it('decodes then encodes every bit pattern back to itself (NaNs to the canonical NaN)', () => {
    let nanCount = 0;
    for (const bits of allPatterns(format.bits)) {
      const value = format.decode(bits);
      if (Number.isNaN(value)) {
        nanCount++;
        expect(format.encode(value)).toBe(format.nan);
      } else {
        expect(format.encode(value), `pattern 0x${bits.toString(16)} = ${value}`).toBe(bits);
      }
    }
    expect(Number.isNaN(format.decode(format.nan))).toBe(format.name !== 'e2m1');
    expect(nanCount).toBe({ float16: 2046, bfloat16: 254, e4m3fn: 2, e4m3fnuz: 1, e5m2: 6, e5m2fnuz: 1, e2m1: 0 }[format.name]);
  });

  it('has the documented range', () => {
    const finite = allPatterns(format.bits).map(format.decode).filter(Number.isFinite);
    expect(Math.max(...finite)).toBe(format.maxFinite);
    expect(Math.min(...finite)).toBe(-format.maxFinite);
    expect(Math.min(...finite.filter((v) => v > 0))).toBe(format.minSubnormal);
  });

  it('rounds to nearest, ties to even, between every pair of adjacent values', () => {
    const positives = allPatterns(format.bits)
      .map((bits) => ({ bits, value: format.decode(bits) }))
      .filter(({ value }) => Number.isFinite(value) && !Object.is(value, -0) && value >= 0)
      .sort((a, b) => a.value - b.value);
    for (let i = 0; i + 1 < positives.length; i++) {
      const low = positives[i]!;
      const high = positives[i + 1]!;
      const middle = (low.value + high.value) / 2;
      const even = low.bits % 2 === 0 ? low.bits : high.bits;
      expect(format.encode(middle), `tie ${middle}`).toBe(even);
      expect(format.encode(adjacentDouble(middle, -1))).toBe(low.bits);
      expect(format.encode(adjacentDouble(middle, 1))).toBe(high.bits);
      // Negative values mirror positive ones (fnuz too, except at zero).
      const lowNegative = format.encode(-adjacentDouble(middle, -1));
      expect(format.decode(lowNegative)).toBe(-low.value === 0 && format.name.endsWith('fnuz') ? 0 : -low.value);
    }
  });
});

describe('known values', () => {
  it.each([
    // float16: IEEE half
    [encodeFloat16, 65504, 0x7bff],
    [encodeFloat16, 65519.99, 0x7bff],
    [encodeFloat16, 65520, 0x7c00],
    [encodeFloat16, -65520, 0xfc00],
    [encodeFloat16, 1e9, 0x7c00],
    [encodeFloat16, 2 ** -24, 0x0001],
    [encodeFloat16, 2 ** -25, 0x0000],
    [encodeFloat16, 2 ** -25 * 1.0000001, 0x0001],
    [encodeFloat16, 3 * 2 ** -25, 0x0002],
    [encodeFloat16, 2 ** -14, 0x0400],
    [encodeFloat16, 2 ** -14 - 2 ** -25, 0x0400],
    [encodeFloat16, 0.1, 0x2e66],
    [encodeFloat16, 1 / 3, 0x3555],
    [encodeFloat16, 1, 0x3c00],
    [encodeFloat16, 1 + 2 ** -11, 0x3c00],
    [encodeFloat16, 1 + 3 * 2 ** -11, 0x3c02],
    [encodeFloat16, -2, 0xc000],
    [encodeFloat16, -0, 0x8000],
    [encodeFloat16, Infinity, 0x7c00],
    [encodeFloat16, -Infinity, 0xfc00],
    [encodeFloat16, NaN, 0x7e00],
    // bfloat16
    [encodeBfloat16, 1, 0x3f80],
    [encodeBfloat16, 0.1, 0x3dcd],
    [encodeBfloat16, 1 + 2 ** -8, 0x3f80],
    [encodeBfloat16, 1 + 3 * 2 ** -8, 0x3f82],
    [encodeBfloat16, 3.4028234663852886e38, 0x7f80],
    [encodeBfloat16, -Infinity, 0xff80],
    [encodeBfloat16, NaN, 0x7fc0],
    // e4m3fn (saturating by default)
    [encodeFloat8E4M3FN, 1, 0x38],
    [encodeFloat8E4M3FN, 0.5, 0x30],
    [encodeFloat8E4M3FN, 448, 0x7e],
    [encodeFloat8E4M3FN, 464, 0x7e],
    [encodeFloat8E4M3FN, 1e6, 0x7e],
    [encodeFloat8E4M3FN, -1e6, 0xfe],
    [encodeFloat8E4M3FN, Infinity, 0x7e],
    [encodeFloat8E4M3FN, -Infinity, 0xfe],
    [encodeFloat8E4M3FN, NaN, 0x7f],
    [encodeFloat8E4M3FN, -0, 0x80],
    [encodeFloat8E4M3FN, 2 ** -9, 0x01],
    [encodeFloat8E4M3FN, 2 ** -10, 0x00],
    [encodeFloat8E4M3FN, -(2 ** -10), 0x80],
    [encodeFloat8E4M3FN, 3 * 2 ** -10, 0x02],
    // e4m3fnuz
    [encodeFloat8E4M3FNUZ, 1, 0x40],
    [encodeFloat8E4M3FNUZ, -1, 0xc0],
    [encodeFloat8E4M3FNUZ, 240, 0x7f],
    [encodeFloat8E4M3FNUZ, 1000, 0x7f],
    [encodeFloat8E4M3FNUZ, Infinity, 0x7f],
    [encodeFloat8E4M3FNUZ, -Infinity, 0xff],
    [encodeFloat8E4M3FNUZ, NaN, 0x80],
    [encodeFloat8E4M3FNUZ, -0, 0x00],
    [encodeFloat8E4M3FNUZ, -(2 ** -12), 0x00],
    [encodeFloat8E4M3FNUZ, 2 ** -10, 0x01],
    // e5m2
    [encodeFloat8E5M2, 1, 0x3c],
    [encodeFloat8E5M2, 57344, 0x7b],
    [encodeFloat8E5M2, 61440, 0x7b],
    [encodeFloat8E5M2, Infinity, 0x7b],
    [encodeFloat8E5M2, -Infinity, 0xfb],
    [encodeFloat8E5M2, NaN, 0x7e],
    [encodeFloat8E5M2, 2 ** -16, 0x01],
    [encodeFloat8E5M2, -0, 0x80],
    // e5m2fnuz
    [encodeFloat8E5M2FNUZ, 1, 0x40],
    [encodeFloat8E5M2FNUZ, 57344, 0x7f],
    [encodeFloat8E5M2FNUZ, -1e9, 0xff],
    [encodeFloat8E5M2FNUZ, 2 ** -17, 0x01],
    [encodeFloat8E5M2FNUZ, NaN, 0x80],
    [encodeFloat8E5M2FNUZ, -0, 0x00],
    // e2m1: 0, 0.5, 1, 1.5, 2, 3, 4, 6; always saturating; NaN → 6
    [encodeFloat4E2M1, 0.25, 0x0],
    [encodeFloat4E2M1, 0.75, 0x2],
    [encodeFloat4E2M1, 1.25, 0x2],
    [encodeFloat4E2M1, 1.75, 0x4],
    [encodeFloat4E2M1, 2.5, 0x4],
    [encodeFloat4E2M1, 3.5, 0x6],
    [encodeFloat4E2M1, 5, 0x6],
    [encodeFloat4E2M1, 5.01, 0x7],
    [encodeFloat4E2M1, 100, 0x7],
    [encodeFloat4E2M1, -100, 0xf],
    [encodeFloat4E2M1, Infinity, 0x7],
    [encodeFloat4E2M1, -Infinity, 0xf],
    [encodeFloat4E2M1, NaN, 0x7],
    [encodeFloat4E2M1, -0, 0x8],
  ] as const)('%o(%d) = %i', (encode, value, bits) => {
    expect(encode(value)).toBe(bits);
  });

  it.each([
    [encodeFloat8E4M3FN, 464, 0x7e],
    [encodeFloat8E4M3FN, 465, 0x7f],
    [encodeFloat8E4M3FN, -1e6, 0xff],
    [encodeFloat8E4M3FN, Infinity, 0x7f],
    [encodeFloat8E4M3FN, -Infinity, 0xff],
    [encodeFloat8E4M3FN, 449, 0x7e],
    [encodeFloat8E4M3FNUZ, 1000, 0x80],
    [encodeFloat8E4M3FNUZ, -Infinity, 0x80],
    [encodeFloat8E5M2, 61440, 0x7c],
    [encodeFloat8E5M2, 61439, 0x7b],
    [encodeFloat8E5M2, -Infinity, 0xfc],
    [encodeFloat8E5M2FNUZ, Infinity, 0x80],
    [encodeFloat8E5M2FNUZ, 1e9, 0x80],
  ] as const)('without saturation %o(%d) = %i', (encode, value, bits) => {
    expect(encode(value, false)).toBe(bits);
  });

  it.each([
    [decodeFloat16, 0x7bff, 65504],
    [decodeFloat16, 0x0001, 2 ** -24],
    [decodeFloat16, 0x03ff, 1023 * 2 ** -24],
    [decodeFloat16, 0x3555, 0.333251953125],
    [decodeFloat16, 0x8000, -0],
    [decodeFloat16, 0xfc00, -Infinity],
    [decodeFloat16, 0x17c00, Infinity],
    [decodeBfloat16, 0x3dcd, 0.10009765625],
    [decodeBfloat16, 0x0001, 2 ** -133],
    [decodeFloat8E4M3FN, 0x7e, 448],
    [decodeFloat8E4M3FN, 0xfe, -448],
    [decodeFloat8E4M3FN, 0x01, 2 ** -9],
    [decodeFloat8E4M3FN, 0x80, -0],
    [decodeFloat8E4M3FN, 0x78, 256],
    [decodeFloat8E4M3FNUZ, 0x7f, 240],
    [decodeFloat8E4M3FNUZ, 0x01, 2 ** -10],
    [decodeFloat8E4M3FNUZ, 0x40, 1],
    [decodeFloat8E5M2, 0x7b, 57344],
    [decodeFloat8E5M2, 0x7c, Infinity],
    [decodeFloat8E5M2, 0xfc, -Infinity],
    [decodeFloat8E5M2, 0x01, 2 ** -16],
    [decodeFloat8E5M2FNUZ, 0x7f, 57344],
    [decodeFloat8E5M2FNUZ, 0x01, 2 ** -17],
    [decodeFloat8E5M2FNUZ, 0xff, -57344],
    [decodeFloat4E2M1, 0x5, 3],
    [decodeFloat4E2M1, 0xf, -6],
    [decodeFloat4E2M1, 0x8, -0],
    [decodeFloat8E8M0, 0, 2 ** -127],
    [decodeFloat8E8M0, 127, 1],
    [decodeFloat8E8M0, 254, 2 ** 127],
  ] as const)('%o(%i) = %d', (decode, bits, value) => {
    expect(Object.is(decode(bits), value)).toBe(true);
  });

  it.each([
    [decodeFloat16, 0x7c01],
    [decodeFloat16, 0xfe00],
    [decodeBfloat16, 0x7fc0],
    [decodeFloat8E4M3FN, 0x7f],
    [decodeFloat8E4M3FN, 0xff],
    [decodeFloat8E4M3FNUZ, 0x80],
    [decodeFloat8E5M2, 0x7d],
    [decodeFloat8E5M2, 0xff],
    [decodeFloat8E5M2FNUZ, 0x80],
    [decodeFloat8E8M0, 0xff],
  ] as const)('%o(%i) is NaN', (decode, bits) => {
    expect(decode(bits)).toBeNaN();
  });
});

describe('float8e8m0', () => {
  it('round-trips every bit pattern', () => {
    for (const bits of allPatterns(8)) {
      const value = decodeFloat8E8M0(bits);
      for (const roundMode of ['up', 'down', 'nearest'] as const) {
        expect(encodeFloat8E8M0(value, { roundMode })).toBe(bits);
        expect(encodeFloat8E8M0(value, { roundMode, saturate: false })).toBe(bits);
      }
    }
  });

  it.each([
    [1, 'up', true, 127],
    [0.75, 'up', true, 127],
    [0.75, 'down', true, 126],
    [0.75, 'nearest', true, 127],
    [1.4, 'nearest', true, 127],
    [1.5, 'nearest', true, 128],
    [1.0000001, 'up', true, 128],
    [1.9999, 'down', true, 127],
    [-4, 'up', true, 129],
    [2 ** 127, 'up', true, 254],
    [1.5 * 2 ** 127, 'up', true, 254],
    [1.5 * 2 ** 127, 'up', false, 255],
    [1.5 * 2 ** 127, 'down', false, 254],
    [Infinity, 'up', true, 254],
    [Infinity, 'up', false, 255],
    [0, 'up', true, 0],
    [0, 'nearest', false, 255],
    [2 ** -128, 'up', true, 0],
    [2 ** -128, 'up', false, 255],
    [1.5 * 2 ** -128, 'up', false, 0],
    [Number.MIN_VALUE, 'up', true, 0],
    [Number.MIN_VALUE, 'up', false, 255],
    [NaN, 'up', true, 255],
  ] as const)('encode(%d, %s, saturate %s) = %i', (value, roundMode, saturate, bits) => {
    expect(encodeFloat8E8M0(value, { roundMode, saturate })).toBe(bits);
  });

  it('defaults to saturate and round up, as ONNX Cast does', () => {
    expect(encodeFloat8E8M0(3)).toBe(129);
    expect(encodeFloat8E8M0(Infinity)).toBe(254);
  });
});

describe('narrow float registry', () => {
  const narrow = [
    DataType.FLOAT16,
    DataType.BFLOAT16,
    DataType.FLOAT8E4M3FN,
    DataType.FLOAT8E4M3FNUZ,
    DataType.FLOAT8E5M2,
    DataType.FLOAT8E5M2FNUZ,
    DataType.FLOAT4E2M1,
    DataType.FLOAT8E8M0,
  ];

  it('knows exactly the narrow float types', () => {
    const all = Object.values(DataType) as number[];
    expect(all.filter(isNarrowFloatDataType)).toEqual(narrow);
  });

  it.each(narrow)('data type %i encodes with the ONNX defaults', (dt) => {
    if (!isNarrowFloatDataType(dt)) throw new Error('unreachable');
    const encode = narrowFloatEncoder(dt);
    const decode = narrowFloatDecoder(dt);
    expect(decode(encode(1))).toBe(1);
    expect(decode(encode(-0.5))).toBe(dt === DataType.FLOAT8E8M0 ? 0.5 : -0.5);
    // Saturating: out of range stays finite for the float8 and float4 types.
    expect(Number.isFinite(decode(encode(1e300)))).toBe(dt !== DataType.FLOAT16 && dt !== DataType.BFLOAT16);
  });
});
