/**
 * The WebAssembly SIMD kernel against the reference loop of kernel.ts: the
 * same bytes, scales and zero points for every type, symmetry, range and
 * channel layout (vector bodies and scalar tails), ties, signed zeros,
 * clamping, transposes and tensors handed over in several chunks; the same
 * SQNR within 1e-3 dB; the same refusal of NaN and infinities.
 */
import { describe, expect, it } from 'vitest';
import { KernelScratch, NonFiniteWeightError, quantizeWeights, transposeBytes, type KernelOptions, type KernelResult } from '../../../src/passes/quantize/index.js';
import { SimdKernel, type FloatBytesSource } from '../../../src/passes/quantize/simd-kernel.js';
import { seeded } from './helpers.js';

function source(values: Float32Array, reads?: number[]): FloatBytesSource {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return (target, byteOffset) => {
    reads?.push(byteOffset);
    target.set(bytes.subarray(byteOffset, byteOffset + target.length));
  };
}

function expectSame(actual: KernelResult, expected: KernelResult, label: string): void {
  expect(Array.from(actual.bytes), label).toEqual(Array.from(expected.bytes));
  expect(Array.from(actual.scales), label).toEqual(Array.from(expected.scales));
  expect(Array.from(actual.zeroPoints), label).toEqual(Array.from(expected.zeroPoints));
  if (Number.isFinite(expected.sqnrDb)) expect(Math.abs(actual.sqnrDb - expected.sqnrDb), label).toBeLessThan(1e-3);
  else expect(actual.sqnrDb, label).toBe(expected.sqnrDb);
}

/** Weights shaped and scaled to hit every path: per-channel columns and runs, widths around the 16-float group, per-tensor. */
const layouts: [number[], number | undefined][] = [
  [[16, 24], 1],
  [[37, 19], 1],
  [[7, 33], 1],
  [[3, 4, 5], 2],
  [[6, 5, 3, 3], 0],
  [[5, 6, 3, 3], 1],
  [[19, 37], 0],
  [[4, 3, 3, 3], 3],
  [[1000], undefined],
  [[64, 64], undefined],
  [[5], 0],
  [[1, 1], 1],
];

const simd = SimdKernel.create()!;

describe('SimdKernel', () => {
  it('is available on this engine', () => {
    expect(simd).toBeDefined();
  });

  for (const type of ['int8', 'uint8'] as const) {
    for (const symmetric of [true, false]) {
      for (const reduceRange of [false, true]) {
        it(`matches the reference loop: ${type} symmetric=${symmetric} reduceRange=${reduceRange}`, () => {
          layouts.forEach(([dims, axis], n) => {
            const count = dims.reduce((a, b) => a * b, 1);
            const values = seeded(count, 31 + n, n % 3 === 0 ? 3 : n % 3 === 1 ? 0.02 : 1e-3);
            // Signed zeros, a one-signed channel (zero point at an end) and exact ties of x / scale.
            values[0] = -0;
            if (count > 8) values[7] = 0;
            if (n === 2) for (let i = 0; i < count; i += 7) values[i] = Math.abs(values[i]!);
            const options: KernelOptions = { type, symmetric, reduceRange, axis };
            expectSame(simd.quantize(source(values), dims, options, false), quantizeWeights(values, dims, options), `${dims} axis ${axis}`);
          });
        });
      }
    }
  }

  it('rounds exact ties to even and clamps as the reference does', () => {
    const ties = Float32Array.from([127, -127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5, -11.5, 100.5, 126.5]);
    for (const options of [
      { type: 'int8', symmetric: true, reduceRange: false, axis: undefined },
      { type: 'uint8', symmetric: false, reduceRange: true, axis: undefined },
    ] as const) {
      expectSame(simd.quantize(source(ties), [ties.length], options, false), quantizeWeights(ties, [ties.length], options), options.type);
    }
  });

  it('transposes, and hands big tensors over in chunks and slices with the same result', () => {
    const small = SimdKernel.create({ chunkElements: 1000, sliceElements: 100 })!;
    // Both sides multiples of 16 (SIMD tiles, in bands of rows) or not (kernel.ts's transpose).
    for (const [dims, axis] of [[[48, 40], 1], [[40, 48], 0], [[36, 28], undefined], [[64, 48], 0], [[32, 80], 1], [[48, 16], undefined]] as const) {
      const values = seeded(dims[0] * dims[1], 5, 0.7);
      const options: KernelOptions = { type: 'int8', symmetric: true, reduceRange: false, axis };
      const reference = quantizeWeights(values, dims, options);
      const reads: number[] = [];
      expectSame(small.quantize(source(values, reads), dims, options, false), reference, `chunked ${dims}`);
      // More than one chunk is read twice (ranges, then quantize); one chunk once.
      if (dims[0] * dims[1] > 1000) expect(reads.filter((offset) => offset === 0).length).toBe(2);
      else expect(reads).toEqual([0]);
      const transposed = { ...reference, bytes: transposeBytes(reference.bytes, dims[0], dims[1]) };
      expectSame(small.quantize(source(values), dims, options, true), transposed, `chunked transposed ${dims}`);
      expectSame(simd.quantize(source(values), dims, options, true), transposed, `transposed ${dims}`);
    }
  });

  it('refuses NaN and infinite weights', () => {
    for (const [bad, message] of [[NaN, 'the weight holds NaN'], [Infinity, 'the weight holds an infinity'], [-Infinity, 'the weight holds an infinity']] as const) {
      for (const axis of [1, 0, undefined]) {
        const values = seeded(100, 1, 1);
        values[57] = bad;
        expect(() => simd.quantize(source(values), [10, 10], { type: 'int8', symmetric: true, reduceRange: false, axis }, false)).toThrow(
          new NonFiniteWeightError(message),
        );
      }
    }
  });

  it('keeps one memory across tensors, grown to the largest', () => {
    const kernel = SimdKernel.create()!;
    const options: KernelOptions = { type: 'int8', symmetric: true, reduceRange: false, axis: 1 };
    kernel.quantize(source(seeded(256 * 256, 1, 1)), [256, 256], options, false);
    const grown = kernel.memoryBytes;
    kernel.quantize(source(seeded(64 * 64, 2, 1)), [64, 64], options, false);
    expect(kernel.memoryBytes).toBe(grown);
  });
});

describe('KernelScratch', () => {
  it('gives the SIMD and the reference kernel the same answers from floats, unaligned bytes and readers', () => {
    const values = seeded(24 * 40, 9, 0.5);
    const unaligned = new Uint8Array(values.byteLength + 3).subarray(3);
    unaligned.set(new Uint8Array(values.buffer));
    const reader = { byteLength: values.byteLength, read: source(values) };
    const options: KernelOptions = { type: 'uint8', symmetric: false, reduceRange: false, axis: 0 };
    const expected = quantizeWeights(values, [24, 40], options);
    for (const scratch of [new KernelScratch(), new KernelScratch(false)]) {
      for (const input of [values, unaligned, reader]) expectSame(scratch.quantize(input, [24, 40], options, false), expected, 'scratch');
    }
  });
});
