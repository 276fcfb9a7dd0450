/**
 * The exact k-smallest-magnitude selection behind magnitude pruning,
 * checked against sorting.
 */
import { describe, expect, it } from 'vitest';
import { applyMagnitudeCut, smallestMagnitudeCut, targetCount } from '../../../src/passes/prune/index.js';
import { seeded } from './helpers.js';

/** Zeroes the k smallest |x| by sorting (ties by position), as a reference. */
function bySorting(arrays: Float32Array[], k: number): Float32Array[] {
  const all = arrays.flatMap((values, a) => Array.from(values, (value, i) => ({ a, i, key: Number.isNaN(value) ? Infinity : Math.abs(value), nan: Number.isNaN(value) })));
  all.sort((x, y) => (x.nan === y.nan ? x.key - y.key : x.nan ? 1 : -1) || x.a - y.a || x.i - y.i);
  const out = arrays.map((values) => new Float32Array(values));
  for (const { a, i } of all.slice(0, k)) out[a]![i] = 0;
  return out;
}

const quantized = (values: Float32Array): Float32Array => values.map((v) => Math.round(v * 8) / 8);

describe('smallestMagnitudeCut', () => {
  const cases: Array<{ name: string; arrays: Float32Array[] }> = [
    { name: 'distinct values', arrays: [seeded(1000, 1)] },
    { name: 'many ties (values rounded to eighths)', arrays: [quantized(seeded(1000, 2)), quantized(seeded(333, 3))] },
    { name: 'zeros of both signs, NaN and infinities', arrays: [Float32Array.from([0, -0, NaN, 1, -1, Infinity, -Infinity, 0.5, -0.5, 1e-30])] },
    { name: 'several arrays', arrays: [seeded(10, 4), seeded(0, 5), seeded(77, 6)] },
  ];
  for (const { name, arrays } of cases) {
    it(`selects exactly k, as sorting does: ${name}`, () => {
      const total = arrays.reduce((sum, a) => sum + a.length, 0);
      for (const k of [0, 1, Math.floor(total / 2), total - 1, total]) {
        const got = applyMagnitudeCut(arrays, smallestMagnitudeCut(arrays, k), k);
        const want = bySorting(arrays, k);
        got.forEach((values, a) => expect(Array.from(values).map(String), `k=${k}`).toEqual(Array.from(want[a]!).map(String)));
      }
    });
  }

  it('never changes its input', () => {
    const values = seeded(100, 9);
    const copy = new Float32Array(values);
    applyMagnitudeCut([values], smallestMagnitudeCut([values], 50), 50);
    expect(values).toEqual(copy);
  });

  it('targetCount rounds half up', () => {
    expect([targetCount(0.5, 5), targetCount(0.9, 216), targetCount(0.3, 10), targetCount(0, 10)]).toEqual([3, 194, 3, 0]);
  });
});
