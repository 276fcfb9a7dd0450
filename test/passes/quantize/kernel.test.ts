/**
 * The bulk kernel: per-channel layouts, agreement with the scalar formulas,
 * SQNR, and rejection of non-finite weights.
 */
import { describe, expect, it } from 'vitest';
import {
  computeScaleZeroPoint,
  NonFiniteWeightError,
  quantizeValue,
  quantizeWeights,
  quantRange,
  type QuantizedType,
} from '../../../src/passes/quantize/index.js';
import { channelLayout } from '../../../src/passes/quantize/kernel.js';
import { typeRange } from '../../../src/passes/quantize/numerics.js';

function signed(bytes: Uint8Array): number[] {
  return Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
}

/** A seeded pseudo-random float32 array. */
function noise(count: number, seed: number, amplitude = 1): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * amplitude;
  });
}

/** The scalar reference: each channel's elements gathered, quantized with the formulas one by one. */
function reference(data: Float32Array, dims: number[], axis: number | undefined, type: QuantizedType, symmetric: boolean, reduceRange: boolean) {
  const [outer, channels, inner] = channelLayout(dims, axis);
  const q = new Array<number>(data.length);
  const scales: number[] = [];
  const zeroPoints: number[] = [];
  for (let c = 0; c < channels; c++) {
    const indices: number[] = [];
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) indices.push((o * channels + c) * inner + i);
    const values = indices.map((k) => data[k]!);
    const { scale, zeroPoint } = computeScaleZeroPoint(Math.min(...values), Math.max(...values), quantRange(type, symmetric, reduceRange), symmetric);
    scales.push(scale);
    zeroPoints.push(zeroPoint);
    for (const k of indices) q[k] = quantizeValue(data[k]!, scale, zeroPoint, typeRange(type));
  }
  return { q, scales, zeroPoints };
}

describe('channelLayout', () => {
  it.each([
    [[4, 6], undefined, [1, 1, 24]],
    [[4, 6], 0, [1, 4, 6]],
    [[4, 6], 1, [4, 6, 1]],
    [[8, 3, 3, 3], 0, [1, 8, 27]],
    [[3, 8, 2, 2], 1, [3, 8, 4]],
  ] as const)('dims %j axis %s → %j', (dims, axis, expected) => {
    expect(channelLayout(dims, axis)).toEqual(expected);
  });
});

describe('quantizeWeights', () => {
  it('quantizes a [2, 3] MatMul weight per column (axis 1), by hand', () => {
    // Columns [1, -4], [2, 0.5], [-127, 63.5]: scales 4/127, 2/127, 1; symmetric int8.
    const data = new Float32Array([1, 2, -127, -4, 0.5, 63.5]);
    const result = quantizeWeights(data, [2, 3], { type: 'int8', symmetric: true, reduceRange: false, axis: 1 });
    expect(Array.from(result.scales)).toEqual([Math.fround(8 / 254), Math.fround(4 / 254), 1]);
    expect(Array.from(result.zeroPoints)).toEqual([0, 0, 0]);
    // 1 / (4/127) = 31.75 → 32; 2 / (2/127) = 127; 0.5 / (2/127) = 31.75 → 32; 63.5 → 64 (half to even).
    expect(signed(result.bytes)).toEqual([32, 127, -127, -127, 32, 64]);
  });

  it('quantizes a Conv weight per output channel (axis 0)', () => {
    const data = new Float32Array([0.5, -1, 0.25, 0, 10, 20, -30, 5]);
    const result = quantizeWeights(data, [2, 1, 2, 2], { type: 'uint8', symmetric: false, reduceRange: false, axis: 0 });
    // Channel 0: [-1, 0.5] → scale 1.5/255, zero point round(170) = 170. Channel 1: [-30, 20] → 50/255, round(153) = 153.
    expect(Array.from(result.zeroPoints)).toEqual([170, 153]);
    expect(Array.from(result.scales)).toEqual([Math.fround(1.5 / 255), Math.fround(50 / 255)]);
    // 0.25 / scale = 42.5 → 42 and 5 / scale = 25.5 → 26 (both half to even).
    expect(Array.from(result.bytes)).toEqual([255, 0, 212, 170, 204, 255, 0, 179]);
  });

  const layouts: Array<[number[], number | undefined]> = [
    [[37], undefined],
    [[16, 24], undefined],
    [[16, 24], 0],
    [[16, 24], 1],
    [[6, 5, 3, 3], 0],
    [[5, 6, 3, 3], 1],
    [[3, 4, 5], 2],
  ];
  for (const type of ['int8', 'uint8'] as const) {
    for (const symmetric of [true, false]) {
      for (const reduceRange of [false, true]) {
        it(`agrees with the scalar formulas: ${type} symmetric=${symmetric} reduceRange=${reduceRange}`, () => {
          layouts.forEach(([dims, axis], n) => {
            const count = dims.reduce((a, b) => a * b, 1);
            const data = noise(count, 17 + n, n % 2 === 0 ? 3 : 0.02);
            const result = quantizeWeights(data, dims, { type, symmetric, reduceRange, axis });
            const expected = reference(data, dims, axis, type, symmetric, reduceRange);
            expect(Array.from(result.scales)).toEqual(expected.scales);
            expect(Array.from(result.zeroPoints)).toEqual(expected.zeroPoints);
            expect(type === 'int8' ? signed(result.bytes) : Array.from(result.bytes)).toEqual(expected.q);
          });
        });
      }
    }
  }

  it('measures SQNR: infinite for exactly representable data, about 6 dB per bit otherwise', () => {
    const exact = quantizeWeights(new Float32Array([-127, 0, 5, 127]), [4], { type: 'int8', symmetric: true, reduceRange: false, axis: undefined });
    expect(exact.sqnrDb).toBe(Infinity);
    const uniform = quantizeWeights(noise(100_000, 5), [100_000], { type: 'int8', symmetric: true, reduceRange: false, axis: undefined });
    // Uniform data on [−a, a] with step Δ = 2a/254: signal a²/3, noise Δ²/12, SQNR = 10·log10(254²) ≈ 48.1 dB.
    expect(uniform.sqnrDb).toBeGreaterThan(47.6);
    expect(uniform.sqnrDb).toBeLessThan(48.6);
    const reduced = quantizeWeights(noise(100_000, 5), [100_000], { type: 'int8', symmetric: true, reduceRange: true, axis: undefined });
    expect(uniform.sqnrDb - reduced.sqnrDb).toBeGreaterThan(5);
  });

  it('writes into a given buffer', () => {
    const out = new Uint8Array(10);
    const result = quantizeWeights(new Float32Array([1, -1]), [2], { type: 'int8', symmetric: true, reduceRange: false, axis: undefined }, out.subarray(4));
    expect(result.bytes.byteOffset).toBe(4);
    expect(signed(out).slice(4, 6)).toEqual([127, -127]);
  });

  it('rejects NaN and infinite weights', () => {
    const options = { type: 'int8', symmetric: true, reduceRange: false, axis: undefined } as const;
    expect(() => quantizeWeights(new Float32Array([1, NaN]), [2], options)).toThrow(NonFiniteWeightError);
    expect(() => quantizeWeights(new Float32Array([1, Infinity]), [2], options)).toThrow(NonFiniteWeightError);
    expect(() => quantizeWeights(new Float32Array([-Infinity, 1]), [2], { ...options, axis: 0 })).toThrow(NonFiniteWeightError);
  });
});
