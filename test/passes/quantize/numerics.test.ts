/**
 * The quantization formulas against values computed by hand, following ONNX
 * Runtime's quant_utils.py (compute_scale_zp, quantize_nparray): range
 * includes 0; float32 range, float64 scale, float32 stored scale; zero point
 * and values rounded half to even; x / scale rounded to float32 first.
 */
import { describe, expect, it } from 'vitest';
import {
  computeScaleZeroPoint,
  FLOAT32_SMALLEST_NORMAL,
  quantizeValue,
  quantRange,
  roundHalfEven,
  type QuantizedType,
} from '../../../src/passes/quantize/index.js';
import { typeRange } from '../../../src/passes/quantize/numerics.js';

/** Quantizes a list as one tensor: scale, zero point and values. */
function quantizeList(values: number[], type: QuantizedType, symmetric: boolean, reduceRange = false) {
  const data = values.map(Math.fround);
  const { scale, zeroPoint } = computeScaleZeroPoint(Math.min(...data), Math.max(...data), quantRange(type, symmetric, reduceRange), symmetric);
  return { scale, zeroPoint, q: data.map((x) => quantizeValue(x, scale, zeroPoint, typeRange(type))) };
}

describe('roundHalfEven', () => {
  it.each([
    [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [2.4999999, 2], [2.5000001, 3], [127.5, 128], [126.5, 126],
  ])('rounds %d to %d', (value, expected) => {
    // + 0 folds −0 into 0: the sign of a zero does not survive into an integer.
    expect(roundHalfEven(value) + 0).toBe(expected);
  });
  it('leaves huge values unchanged', () => {
    expect(roundHalfEven(2 ** 60 + 2 ** 10)).toBe(2 ** 60 + 2 ** 10);
    expect(roundHalfEven(Infinity)).toBe(Infinity);
  });
});

describe('quantRange', () => {
  it.each([
    ['int8', false, false, -128, 127],
    ['int8', true, false, -127, 127],
    ['int8', true, true, -64, 64],
    ['int8', false, true, -64, 64],
    ['uint8', false, false, 0, 255],
    ['uint8', true, false, 0, 254],
    ['uint8', false, true, 0, 127],
    ['uint8', true, true, 0, 127],
  ] as const)('%s symmetric=%s reduceRange=%s → [%d, %d]', (type, symmetric, reduceRange, qmin, qmax) => {
    expect(quantRange(type, symmetric, reduceRange)).toEqual({ qmin, qmax });
  });
});

describe('scale and zero point, by hand', () => {
  it('symmetric int8: scale = absmax / 127 as float32, zero point 0', () => {
    // absmax 2.54 → scale 5.08 / 254 = 0.02 → float32 0.019999999552965164.
    const result = quantizeList([-1, 0.5, 2.54], 'int8', true);
    expect(result.scale).toBe(Math.fround(0.02));
    expect(result.scale).toBe(0.019999999552965164);
    expect(result.zeroPoint).toBe(0);
    expect(result.q).toEqual([-50, 25, 127]);
  });

  it('symmetric int8 rounds values half to even', () => {
    // absmax 127 → scale exactly 1, so x / scale is x.
    const result = quantizeList([127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5], 'int8', true);
    expect(result.scale).toBe(1);
    expect(result.q).toEqual([127, 0, 2, 2, 0, -2, -2, 4]);
  });

  it('asymmetric uint8: scale = (max − min) / 255, zero point round(−min / scale)', () => {
    // [-1, 3]: scale 4/255, zero point round(63.75) = 64; 3/scale = 191.25 → 191 + 64 = 255.
    const result = quantizeList([-1, 3], 'uint8', false);
    expect(result.scale).toBe(Math.fround(4 / 255));
    expect(result.zeroPoint).toBe(64);
    expect(result.q).toEqual([0, 255]);
  });

  it('asymmetric int8 shifts the zero point by qmin = −128', () => {
    // round(−128 + 63.75) = round(−64.25) = −64.
    const result = quantizeList([-1, 3], 'int8', false);
    expect(result.zeroPoint).toBe(-64);
    expect(result.q).toEqual([-128, 127]);
  });

  it('the range always includes 0', () => {
    // All positive: rmin becomes 0, so scale = 1/255 and zero point 0.
    const result = quantizeList([0.5, 1.0], 'uint8', false);
    expect(result.scale).toBe(Math.fround(1 / 255));
    expect(result.zeroPoint).toBe(0);
    // 0.5 / float32(1/255) rounds to the float32 127.49999237…, not the tie 127.5: numpy divides in float32.
    expect(result.q).toEqual([127, 255]);
  });

  it('rounds the zero point half to even', () => {
    // Reduced uint8 [0, 127], data [-125, 129]: scale 254/127 = 2, zero point round(62.5) = 62 (not 63);
    // −125/2 = −62.5 → −62, 129/2 = 64.5 → 64.
    const result = quantizeList([-125, 129], 'uint8', false, true);
    expect(result.scale).toBe(2);
    expect(result.zeroPoint).toBe(62);
    expect(result.q).toEqual([0, 126]);
  });

  it('symmetric uint8 centres the zero point at 127 (and 64 for reduce-range, round(63.5))', () => {
    // absmax 2 → scale 4/254; 1/scale = 63.5 → 64 (even) + 127 = 191.
    const full = quantizeList([-2, 1], 'uint8', true);
    expect(full.scale).toBe(Math.fround(4 / 254));
    expect(full.zeroPoint).toBe(127);
    expect(full.q).toEqual([0, 191]);
    const reduced = quantizeList([-2, 1], 'uint8', true, true);
    expect(reduced.scale).toBe(Math.fround(4 / 127));
    expect(reduced.zeroPoint).toBe(64);
    expect(reduced.q).toEqual([0, 96]);
  });

  it('reduce-range int8 uses [−64, 64]', () => {
    // absmax 64 → scale 128 / 128 = 1; 10.5 → 10, 11.5 → 12.
    const result = quantizeList([64, -64, 10.5, 11.5], 'int8', true, true);
    expect(result.scale).toBe(1);
    expect(result.q).toEqual([64, -64, 10, 12]);
  });

  it('an all-zero tensor gets scale 1 and zero point 0', () => {
    expect(quantizeList([0, 0, 0], 'int8', true)).toEqual({ scale: 1, zeroPoint: 0, q: [0, 0, 0] });
    expect(quantizeList([0, 0], 'uint8', false)).toEqual({ scale: 1, zeroPoint: 0, q: [0, 0] });
  });

  it('a scale below float32 smallest normal becomes 1 with zero point 0', () => {
    // absmax 1e-40 (a float32 subnormal): 2e-40 / 254 < 1.1754944e-38.
    expect(quantizeList([1e-40, -1e-41], 'int8', true)).toEqual({ scale: 1, zeroPoint: 0, q: [0, 0] });
    const atLimit = computeScaleZeroPoint(-FLOAT32_SMALLEST_NORMAL * 127, FLOAT32_SMALLEST_NORMAL * 127, quantRange('int8', true, false), true);
    expect(atLimit.scale).not.toBe(1);
  });

  it('clips to the full type range', () => {
    expect(quantizeValue(1000, 1, 0, typeRange('int8'))).toBe(127);
    expect(quantizeValue(-1000, 1, 0, typeRange('int8'))).toBe(-128);
    expect(quantizeValue(-5, 1, 3, typeRange('uint8'))).toBe(0);
    expect(quantizeValue(300, 1, 3, typeRange('uint8'))).toBe(255);
  });
});
