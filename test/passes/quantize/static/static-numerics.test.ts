/**
 * Activation scale/zero point and int32 bias numerics of static quantization,
 * pinned with hand-computed values (ONNX Runtime's compute_scale_zp and
 * quantize_bias_static_impl).
 */
import { describe, expect, it } from 'vitest';
import { activationParams, quantizeBias, raiseWeightScalesForBias } from '../../../../src/passes/quantize/static/index.js';

describe('activationParams (asymmetric, full type range, range widened to include 0)', () => {
  const cases: { range: [number, number]; type: 'uint8' | 'int8'; scale: number; zeroPoint: number; why: string }[] = [
    { range: [-1, 3], type: 'uint8', scale: 4 / 255, zeroPoint: 64, why: 'zp = round(0 − (−1)/(4/255)) = round(63.75)' },
    { range: [-1, 3], type: 'int8', scale: 4 / 255, zeroPoint: -64, why: 'zp = round(−128 + 63.75) = round(−64.25)' },
    { range: [0.5, 2], type: 'uint8', scale: 2 / 255, zeroPoint: 0, why: 'rmin = min(0.5, 0) = 0' },
    { range: [-2, -1], type: 'uint8', scale: 2 / 255, zeroPoint: 255, why: 'rmax = max(−1, 0) = 0' },
    { range: [0, 0], type: 'uint8', scale: 1, zeroPoint: 0, why: 'an all-zero tensor' },
    { range: [-127.5, 127.5], type: 'uint8', scale: 1, zeroPoint: 128, why: 'round(127.5) is 128, half to even' },
    { range: [-128.5, 126.5], type: 'uint8', scale: 1, zeroPoint: 128, why: 'round(128.5) is 128, half to even' },
    { range: [0, 6], type: 'int8', scale: 6 / 255, zeroPoint: -128, why: 'a Relu6 output in int8' },
  ];
  for (const { range, type, scale, zeroPoint, why } of cases) {
    it(`[${range.join(', ')}] as ${type}: ${why}`, () => {
      const params = activationParams(range[0], range[1], type);
      expect(params.scale).toBe(Math.fround(scale));
      expect(params.zeroPoint).toBe(zeroPoint);
    });
  }
});

describe('quantizeBias (int32, zero point 0, scale = float32(input_scale × weight_scale))', () => {
  it('per channel: q = round(b / scale[c]) in float64', () => {
    const result = quantizeBias(Float32Array.from([1, -2.5, 0.3]), 0.5, Float32Array.from([0.1, 0.2, 0.3]))!;
    expect(Array.from(result.scales)).toEqual([0.1, 0.2, 0.3].map((w) => Math.fround(0.5 * Math.fround(w))));
    expect(Array.from(result.values)).toEqual([20, -25, 2]);
    expect(result.clipped).toBe(0);
  });

  it('per tensor, rounding half to even', () => {
    const result = quantizeBias(Float32Array.from([0.125, 0.375, -0.125, 0.625]), 0.5, Float32Array.from([0.5]))!;
    expect(Array.from(result.scales)).toEqual([0.25]);
    expect(Array.from(result.values)).toEqual([0, 2, 0, 2]);
  });

  it('clips to int32 and counts the clipped values', () => {
    const result = quantizeBias(Float32Array.from([1e10, -1e10, 1]), 1e-3, Float32Array.from([1e-3]))!;
    expect(Array.from(result.values)).toEqual([2147483647, -2147483648, Math.round(1 / Math.fround(1e-3 * Math.fround(1e-3)))]);
    expect(result.clipped).toBe(2);
  });

  it('refuses a scale that underflows float32 (the bias stays float)', () => {
    expect(quantizeBias(Float32Array.from([1]), 1e-30, Float32Array.from([1e-30]))).toBeUndefined();
  });
});

describe('raiseWeightScalesForBias (ONNX Runtime\'s weight-scale adjustment for int32 biases)', () => {
  it('raises a channel whose input_scale × weight_scale is below 1.0001 · 2 · |b| / (2^32 − 2), and only that one', () => {
    const weightScales = Float32Array.from([0.01, 1e-12]);
    const bias = Float32Array.from([5, 3]);
    const { scales, raised } = raiseWeightScalesForBias(weightScales, bias, 0.5);
    expect(raised).toEqual([1]);
    expect(scales[0]).toBe(Math.fround(0.01));
    const smallestValid = (1.0001 * 2 * 3) / 4294967294;
    expect(scales[1]).toBe(Math.fround(Math.fround(1e-12) * (smallestValid / (0.5 * Math.fround(1e-12)))));
    // The bias now fits: its quotient is about 2^31 / 1.0001.
    const bias1 = quantizeBias(Float32Array.from([3]), 0.5, scales.subarray(1))!;
    expect(bias1.clipped).toBe(0);
    expect(bias1.values[0]).toBeGreaterThan(2 ** 31 * 0.9998);
  });

  it('per tensor, uses the bias\'s largest magnitude; leaves valid scales as they are', () => {
    expect(raiseWeightScalesForBias(Float32Array.from([1e-12]), Float32Array.from([1, -4]), 1).raised).toEqual([0]);
    const unchanged = Float32Array.from([0.1]);
    expect(raiseWeightScalesForBias(unchanged, Float32Array.from([1, -4]), 1).scales).toBe(unchanged);
  });
});
