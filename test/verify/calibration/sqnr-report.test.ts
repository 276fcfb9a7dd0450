/**
 * The per-tensor SQNR report: the formula, and on a residual block one row
 * per quantized activation, where the graph input (seen identically by both
 * models) has equal cumulative and local SQNR.
 */
import { describe, expect, it } from 'vitest';
import { quantizeStatic } from '../../../src/passes/quantize/static/index.js';
import { samplesFromFeeds } from '../../../src/verify/calibration/samples.js';
import { activationSqnr, sqnrFromSums } from '../../../src/verify/calibration/sqnr-report.js';
import { directRanges, feedsFor, residualModel } from '../../passes/quantize/static/static-helpers.js';

describe('activation SQNR', () => {
  it('is 20·log10(‖x‖ / ‖x − x̂‖), norms floored at float64 epsilon', () => {
    expect(sqnrFromSums(100, 1)).toBeCloseTo(20, 12);
    expect(sqnrFromSums(4, 0)).toBeCloseTo(20 * Math.log10(2 / 2.220446049250313e-16), 9);
  });

  it('gives one row per quantized activation of a residual block', async () => {
    const model = residualModel();
    const samples = await Promise.all([1, 2].map((seed) => feedsFor(model, seed)));
    const { model: quantized, report } = quantizeStatic(model, await directRanges(model, samples));
    const rows = await activationSqnr(model, quantized, report.activations, samplesFromFeeds(samples, 'two'), { budgetBytes: 4096 });
    expect(rows.map((row) => row.tensor)).toEqual(report.activations.map((a) => a.tensor));
    for (const row of rows) {
      expect(row.sqnrDb, row.tensor).toBeGreaterThan(15);
      expect(row.localSqnrDb, row.tensor).toBeGreaterThan(15);
    }
    // Calibrated on these very samples, the graph input is never clipped.
    const x = rows.find((row) => row.tensor === 'x')!;
    expect(x.sqnrDb).toBeCloseTo(x.localSqnrDb!, 9);
    expect(x.clippedFraction).toBe(0);
    // Error accumulates: the last activation has a lower SQNR than the input.
    // Error accumulates through the two convolutions (a global average pool then averages much of it away).
    const c2 = rows.find((row) => row.tensor === 'c2')!;
    expect(c2.sqnrDb!).toBeLessThan(rows.find((row) => row.tensor === 'r1')!.sqnrDb!);
    expect(rows.find((row) => row.tensor === 'r1')!.sqnrDb!).toBeLessThan(x.sqnrDb!);
    // A tensor reusing its input's parameters adds no error of its own: Flatten after the pool.
    expect(rows.find((row) => row.tensor === 'flat')!.sqnrDb).toBeCloseTo(rows.find((row) => row.tensor === 'gap')!.sqnrDb!, 9);
  });
});
