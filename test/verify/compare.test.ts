/**
 * Output comparison metrics against values computed by hand.
 */
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/runtime/types.js';
import { compareOutputs, compareTensors, looksLikeClassScores, worstCosine } from '../../src/verify/compare.js';

const f32 = (dims: number[], values: number[]): HostTensor => ({ dtype: 'float32', dims, data: new Float32Array(values) });

describe('compareTensors', () => {
  it('computes cosine, max abs error and relative L2 by hand', () => {
    // a = [3, 4], b = [3, 5]: cos = (9 + 20) / (5 · √34); |a − b| = [0, 1]; ‖a − b‖ / ‖a‖ = 1 / 5.
    const result = compareTensors('y', f32([2], [3, 4]), f32([2], [3, 5]));
    expect(result.cosine).toBeCloseTo(29 / (5 * Math.sqrt(34)), 12);
    expect(result.maxAbsError).toBe(1);
    expect(result.relativeL2).toBeCloseTo(0.2, 12);
    expect(result.top1Agreement).toBeNull();
    expect(result.shapeMatches).toBe(true);
  });

  it('gives orthogonal outputs cosine 0 and identical ones cosine 1, relative L2 0', () => {
    expect(compareTensors('y', f32([2], [1, 0]), f32([2], [0, 1])).cosine).toBe(0);
    const same = compareTensors('y', f32([3], [1, -2, 3]), f32([3], [1, -2, 3]));
    expect(same).toMatchObject({ cosine: 1, maxAbsError: 0, relativeL2: 0 });
    expect(compareTensors('y', f32([2], [0, 0]), f32([2], [0, 0]))).toMatchObject({ cosine: 1, relativeL2: 0 });
  });

  it('counts top-1 agreement row by row for class scores', () => {
    // Rows: argmax 2 vs 2 (agree), 0 vs 1 (differ), 1 vs 1 (agree), 0 vs 0 (agree).
    const reference = f32([4, 3], [0.1, 0.2, 0.7, 0.9, 0.05, 0.05, 0, 1, 0, 5, 4, 3]);
    const candidate = f32([4, 3], [0.1, 0.2, 0.6, 0.4, 0.5, 0.1, 0, 2, 1, 9, 4, 3]);
    expect(compareTensors('probs', reference, candidate).top1Agreement).toBe(0.75);
  });

  it('scores NaN as an infinite error', () => {
    const result = compareTensors('y', f32([2], [1, 2]), f32([2], [1, NaN]));
    expect(result.maxAbsError).toBe(Infinity);
    expect(result.relativeL2).toBe(Infinity);
  });

  it('flags a shape mismatch and compares integer outputs by value', () => {
    expect(compareTensors('y', f32([2], [1, 2]), f32([1, 2], [1, 2])).shapeMatches).toBe(false);
    const ints = compareTensors('n', { dtype: 'int32', dims: [2], data: new Int32Array([1, 5]) }, { dtype: 'int32', dims: [2], data: new Int32Array([1, 7]) });
    expect(ints).toMatchObject({ cosine: null, maxAbsError: 2, relativeL2: null });
    const big = compareTensors('n', { dtype: 'int64', dims: [1], data: new BigInt64Array([3n]) }, { dtype: 'int64', dims: [1], data: new BigInt64Array([3n]) });
    expect(big.maxAbsError).toBe(0);
  });
});

describe('looksLikeClassScores', () => {
  it.each([
    [[1, 1000], true], [[8, 10], true], [[2, 5, 7], true], [[10], false], [[1, 1], false], [[1, 3, 224, 224], false],
  ])('dims %j → %s', (dims, expected) => {
    expect(looksLikeClassScores({ dtype: 'float32', dims, data: new Float32Array(0) })).toBe(expected);
  });
});

describe('compareOutputs and worstCosine', () => {
  it('reports a missing output and takes the lowest cosine', () => {
    const reference = { a: f32([2], [1, 0]), b: f32([2], [1, 1]), c: f32([1], [1]) };
    const comparisons = compareOutputs(reference, { a: f32([2], [1, 0]), b: f32([2], [1, 0]) });
    expect(comparisons.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    expect(comparisons[2]).toMatchObject({ shapeMatches: false, maxAbsError: Infinity });
    expect(worstCosine(comparisons)).toBe(0);
    expect(worstCosine(comparisons.slice(0, 2))).toBeCloseTo(Math.SQRT1_2, 12);
    expect(worstCosine([])).toBeNull();
  });
});
