/**
 * The accuracy-driven search on a made-up accuracy function: leave-one-out
 * ranking, then the smallest prefix of the ranking that meets the target,
 * found by doubling and bisection; and the cases where there is nothing to
 * search or no way to meet the target.
 */
import { describe, expect, it } from 'vitest';
import type { AccuracyMetrics } from '../../../src/verify/calibration/accuracy.js';
import { selectFloatNodes } from '../../../src/verify/calibration/selection.js';

/** Each quantized node costs its error in cosine; errors add up. */
function fakeModel(errors: Record<string, number>) {
  const calls: string[][] = [];
  const evaluate = (forceFloat: readonly string[]): Promise<AccuracyMetrics> => {
    calls.push([...forceFloat]);
    const lost = Object.entries(errors).filter(([node]) => !forceFloat.includes(node)).reduce((sum, [, error]) => sum + error, 0);
    return Promise.resolve({ worstCosine: 1 - lost, maxAbsError: lost * 10, outputs: [] });
  };
  return { evaluate, calls };
}

const candidates = ['a', 'b', 'c', 'd', 'e'].map((node) => ({ node, opType: 'Conv' }));
const errors = { a: 0.05, b: 0.001, c: 0.02, d: 0.0005, e: 0.004 };

describe('selectFloatNodes', () => {
  it('quantize-one (default): ranks nodes by the harm each does quantized alone, keeps the smallest helpful prefix', async () => {
    const { evaluate, calls } = fakeModel(errors);
    const result = await selectFloatNodes(candidates, { kind: 'cosine', value: 0.995 }, evaluate);
    expect(result.ranking.map((entry) => entry.node)).toEqual(['a', 'c', 'e', 'b', 'd']);
    expect(result.ranking[0]!.gain).toBeCloseTo(0.05, 12);
    expect(result.ranking[0]!.metrics.worstCosine).toBeCloseTo(0.95, 12);
    expect(result.keptFloat).toEqual(['a', 'c', 'e']);
    // Baseline, all candidates in float, each quantized alone, then prefixes of 1, 2, 4 and 3.
    expect(calls.slice(0, 3)).toEqual([[], ['a', 'b', 'c', 'd', 'e'], ['b', 'c', 'd', 'e']]);
    expect(calls.slice(7)).toEqual([['a'], ['a', 'c'], ['a', 'c', 'e', 'b'], ['a', 'c', 'e']]);
    expect(result.evaluations).toBe(11);
  });

  it('keep-one-float: ranks nodes by how much keeping each one in float helps', async () => {
    const { evaluate, calls } = fakeModel(errors);
    const result = await selectFloatNodes(candidates, { kind: 'cosine', value: 0.995 }, evaluate, { ranking: 'keep-one-float' });
    expect(result.baseline.worstCosine).toBeCloseTo(1 - 0.0755, 12);
    expect(result.ranking.map((entry) => entry.node)).toEqual(['a', 'c', 'e', 'b', 'd']);
    expect(result.ranking[0]!.gain).toBeCloseTo(0.05, 12);
    // Prefixes: [a] 0.9745 fails, [a, c] 0.9945 fails, [a, c, e, b] 0.9995 meets, [a, c, e] 0.9985 meets.
    expect(result.keptFloat).toEqual(['a', 'c', 'e']);
    expect(result.met).toBe(true);
    expect(result.final.worstCosine).toBeCloseTo(0.9985, 12);
    // Baseline, one per candidate, then prefixes of 2, 4 and 3 (the prefix of 1 is a leave-one-out run).
    expect(calls.slice(6)).toEqual([['a', 'c'], ['a', 'c', 'e', 'b'], ['a', 'c', 'e']]);
    expect(result.evaluations).toBe(9);
  });

  it('with --max-error, ranks by the largest absolute error', async () => {
    const { evaluate } = fakeModel(errors);
    const result = await selectFloatNodes(candidates, { kind: 'max-error', value: 0.25 }, evaluate);
    expect(result.keptFloat).toEqual(['a', 'c']);
    expect(result.final.maxAbsError).toBeCloseTo(0.055, 12);
  });

  it('searches nothing when the fully quantized model already meets the target', async () => {
    const { evaluate, calls } = fakeModel(errors);
    const result = await selectFloatNodes(candidates, { kind: 'cosine', value: 0.9 }, evaluate);
    expect(result).toMatchObject({ met: true, keptFloat: [], ranking: [], evaluations: 1 });
    expect(calls).toEqual([[]]);
  });

  it('says so when even every candidate in float misses the target', async () => {
    const { evaluate } = fakeModel({ ...errors, unreachable: 0.1 });
    const result = await selectFloatNodes(candidates, { kind: 'cosine', value: 0.99 }, evaluate);
    expect(result.met).toBe(false);
    expect(result.keptFloat).toHaveLength(5);
  });
});
