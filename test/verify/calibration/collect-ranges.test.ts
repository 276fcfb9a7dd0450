/**
 * collectRanges: the ranges equal those measured with every tensor exposed
 * at once, also when a small memory budget splits each sample into many
 * runs; the two-pass methods run twice; non-float tensors are reported.
 */
import { describe, expect, it } from 'vitest';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../../src/onnx/builder.js';
import { createTensor } from '../../../src/onnx/tensor.js';
import { DataType } from '../../../src/onnx/types.js';
import { calibrationTensors } from '../../../src/passes/quantize/static/index.js';
import { collectRanges } from '../../../src/verify/calibration/collect-ranges.js';
import { samplesFromFeeds } from '../../../src/verify/calibration/samples.js';
import { concatModel, directRanges, feedsFor, residualModel } from '../../passes/quantize/static/static-helpers.js';

describe('collectRanges', () => {
  it('MinMax ranges equal the extremes measured directly, whatever the memory budget', async () => {
    const model = residualModel();
    const samples = await Promise.all([1, 2, 3].map((seed) => feedsFor(model, seed)));
    const expected = await directRanges(model, samples);
    const tensors = calibrationTensors(model.graph!);
    expect(tensors).toEqual(['x', 'c1', 'r1', 'c2', 'sum', 'r2', 'gap', 'flat']);
    const roomy = await collectRanges(model, tensors, samplesFromFeeds(samples, 'three'), { method: 'minmax' });
    // Each conv output is 1×4×8×8 float32 = 1 KiB: a 2.5 KiB budget allows two per run.
    const tight = await collectRanges(model, tensors, samplesFromFeeds(samples, 'three'), { method: 'minmax', budgetBytes: 2560 });
    for (const result of [roomy, tight]) {
      expect(result.skipped).toEqual([]);
      for (const name of tensors) expect(result.ranges.get(name), name).toEqual(expected.get(name));
    }
    // One run per sample, plus one: the very first run fetches a single tensor to learn a size.
    expect(roomy.stats.runs).toBe(3 + 1);
    expect(tight.stats.runs).toBeGreaterThan(6);
    // After the first runs sized the tensors, no run holds more than the budget.
    expect(tight.stats.largestGroupBytes).toBeLessThanOrEqual(2560);
  });

  it('percentile and entropy take two passes over the samples', async () => {
    const model = concatModel();
    const samples = await Promise.all([1, 2].map((seed) => feedsFor(model, seed)));
    const tensors = calibrationTensors(model.graph!);
    const minmax = await collectRanges(model, tensors, samplesFromFeeds(samples, 'two'), { method: 'minmax' });
    const entropy = await collectRanges(model, tensors, samplesFromFeeds(samples, 'two'), { method: 'entropy' });
    const percentile = await collectRanges(model, tensors, samplesFromFeeds(samples, 'two'), { method: 'percentile' });
    expect(entropy.passes).toBe(2);
    expect(entropy.stats.runs).toBe(2 * 2 + 1);
    // With 128 bins and 128 quantized bins, entropy gives MinMax's ranges (see histogram.ts).
    expect(entropy.ranges).toEqual(minmax.ranges);
    // Symmetric percentile: either side at most the threshold, never beyond the data.
    for (const [name, range] of percentile.ranges) {
      const extremes = minmax.ranges.get(name)!;
      expect(range.min).toBeGreaterThanOrEqual(extremes.min);
      expect(range.max).toBeLessThanOrEqual(extremes.max);
    }
  });

  it('reports tensors that are not float32 instead of ranging them', async () => {
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'ids',
        nodes: [makeNode('Reshape', ['ids', 'shape'], ['flat'], {}, { name: 'reshape' }), makeNode('Cast', ['flat'], ['y'], { to: DataType.FLOAT })],
        inputs: [makeTensorValueInfo('ids', DataType.INT64, [2, 3])],
        outputs: [makeTensorValueInfo('y', DataType.FLOAT, [6])],
        initializers: [createTensor('shape', DataType.INT64, [1], [6n])],
      }),
    });
    const feeds = { ids: { dtype: 'int64' as const, dims: [2, 3], data: BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]) } };
    const result = await collectRanges(model, calibrationTensors(model.graph!), samplesFromFeeds([feeds], 'one'), { method: 'minmax' });
    expect(result.ranges.size).toBe(0);
    expect(result.skipped).toEqual([{ tensor: 'ids', reason: 'it holds int64 values' }, { tensor: 'flat', reason: 'it holds int64 values' }]);
  });
});
