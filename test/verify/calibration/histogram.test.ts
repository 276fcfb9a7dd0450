/**
 * The range formulas of the calibration methods, pinned with hand-computed
 * values: histogram edges and binning as numpy makes them, ONNX Runtime's
 * percentile (99.999 over 2048 bins of |x|, symmetric) and entropy (128 bins,
 * 128 quantized bins), MinMax and its moving average.
 */
import { describe, expect, it } from 'vitest';
import { entropyRange, Histogram, histogramEdges, klDivergence, smoothDistribution } from '../../../src/verify/calibration/histogram.js';
import { RangeCollector, type CalibrationSettings } from '../../../src/verify/calibration/range-collectors.js';

function collect(settings: CalibrationSettings, runs: number[][]): { min: number; max: number } | undefined {
  const collector = new RangeCollector(settings);
  for (let pass = 0; pass < collector.passes; pass++) for (const run of runs) collector.observe(pass, 't', Float32Array.from(run));
  return collector.range('t');
}

describe('histograms', () => {
  it('edges are np.linspace in float32; an empty range is widened by 0.5 each side', () => {
    expect(Array.from(histogramEdges(0, 1, 4))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(histogramEdges(2, 2, 2))).toEqual([1.5, 2, 2.5]);
    expect(histogramEdges(0, 0.1, 3)[1]).toBe(Math.fround(0.1 / 3));
  });

  it('a value falls in the bin whose edges bracket it; the last bin holds its upper edge; outside values are dropped', () => {
    const histogram = new Histogram(histogramEdges(0, 4, 4));
    histogram.add(Float32Array.from([0, 0.999, 1, 3.5, 4, -1, 5, Number.NaN]), false);
    expect(Array.from(histogram.counts)).toEqual([2, 1, 0, 2]);
    const magnitudes = new Histogram(histogramEdges(0, 4, 4));
    magnitudes.add(Float32Array.from([-3.5, -0.5, 2]), true);
    expect(Array.from(magnitudes.counts)).toEqual([1, 0, 1, 1]);
  });
});

describe('MinMax', () => {
  it('takes the extremes over all runs', () => {
    expect(collect({ method: 'minmax' }, [[-1, 2, 0.5], [0.5, 3]])).toEqual({ min: -1, max: 3 });
  });

  it('with a moving average, the mean of each run\'s min and max (ONNX Runtime with all samples in one batch)', () => {
    expect(collect({ method: 'minmax', movingAverage: true }, [[-1, 2], [0.5, 3], [-0.5, 1]])).toEqual({ min: Math.fround(-1 / 3), max: 2 });
  });

  it('ignores NaN; a tensor with no number gets no range', () => {
    expect(collect({ method: 'minmax' }, [[Number.NaN, 1, -2]])).toEqual({ min: -2, max: 1 });
    expect(collect({ method: 'minmax' }, [[Number.NaN]])).toBeUndefined();
  });
});

describe('Percentile (symmetric: a histogram of |x| over [min |x|, max |x|])', () => {
  // |x| = [4, 1, 1, 1, 2, 3] over 4 bins: edges [1, 1.75, 2.5, 3.25, 4], counts [3, 1, 1, 1], cdf [0.5, 0.667, 0.833, 1].
  const data = [[-4, 1, 1], [1, 2, 3]];
  const cases: [number, { min: number; max: number }][] = [
    [50, { min: -1, max: 1 }], // first bin with cdf ≥ 0.5 is 0: its lower edge, 1
    [60, { min: -1.75, max: 1.75 }], // bin 1
    [99, { min: -3.25, max: 3 }], // bin 3: 3.25, the upper side clipped to the data's max 3
  ];
  for (const [percentile, range] of cases) {
    it(`percentile ${percentile} over 4 bins → [${range.min}, ${range.max}]`, () => {
      expect(collect({ method: 'percentile', percentile, numBins: 4 }, data)).toEqual(range);
    });
  }

  it('defaults: 99.999 over 2048 bins', () => {
    // 200,000 values of 0.25 and one of 1000: bin 0 holds 200000/200001 = 0.999995 ≥ 0.99999 → threshold 0.25,
    // the lower side clipped to the data's min 0.25.
    const runs = [new Array<number>(100_000).fill(0.25), [...new Array<number>(100_000).fill(0.25), 1000]];
    expect(collect({ method: 'percentile' }, runs)).toEqual({ min: 0.25, max: 0.25 });
    // At 99.9999 the cut lands in the last of the 2048 bins: its lower edge 0.25 + 2047 · 999.75 / 2048.
    expect(collect({ method: 'percentile', percentile: 99.9999 }, runs)).toEqual({ min: 0.25, max: Math.fround(0.25 + 2047 * (999.75 / 2048)) });
  });

  it('asymmetric: cuts (100 − p)/2 % off each side of a signed histogram', () => {
    // x over [−4, 4] in 4 bins: edges [−4, −2, 0, 2, 4]; counts of [−4, 1, 1, 1, 2, 3]: [1, 0, 3, 2], cdf [1/6, 1/6, 4/6, 1].
    // Cut 25 % each side: the first cdf ≥ 0.25 is bin 2 (edge 0), the first ≥ 0.75 is bin 3 (edge 2).
    expect(collect({ method: 'percentile', percentile: 50, numBins: 4, symmetric: false }, data)).toEqual({ min: 0, max: 2 });
  });
});

describe('Entropy', () => {
  it('with the defaults (128 bins, 128 quantized bins) the only candidate is the whole histogram: MinMax\'s range', () => {
    const runs = [[-0.3, 0.1, 0.2, 5], [-2, 0.05, 0.01]];
    expect(collect({ method: 'entropy' }, runs)).toEqual({ min: -2, max: 5 });
  });

  it('with more bins than quantized bins it cuts a long tail, choosing the window ONNX Runtime chooses', () => {
    // 20,000 values in [−0.5, 0.5] and one at 40, 2048 bins over [−40, 40]. The value is what onnxruntime's
    // calibrate.py (numpy 2.4, scipy 1.17) returns for the same data: window 47 of 961, upper edge 4.375.
    // The divergences of neighbouring windows differ in the 6th digit; float32 arithmetic, as scipy's, decides.
    const values = Array.from({ length: 20_000 }, (_, i) => Math.sin(i) * 0.5);
    values.push(40);
    const range = collect({ method: 'entropy', numBins: 2048, numQuantizedBins: 128 }, [values])!;
    expect(range).toEqual({ min: Math.min(...Float32Array.from(values)), max: 4.375 });
  });

  it('smooths zeros with eps and takes the same mass off the others (float32)', () => {
    expect(Array.from(smoothDistribution(Float64Array.from([0, 2, 2]))!)).toEqual([Math.fround(1e-4), Math.fround(2 - Math.fround(5e-5)), Math.fround(2 - Math.fround(5e-5))]);
    expect(smoothDistribution(Float64Array.from([0, 0]))).toBeUndefined();
  });

  it('KL divergence normalizes both distributions (scipy.stats.entropy), in float32', () => {
    expect(klDivergence(Float32Array.from([1, 1]), Float32Array.from([1, 3]))).toBe(Math.fround(Math.fround(0.5 * Math.log(2)) + Math.fround(0.5 * Math.log(2 / 3))));
  });

  it('entropyRange over a hand-made histogram: the window with the least divergence', () => {
    // 8 bins over [−4, 4], 4 quantized bins: candidates are the middle 4 bins ([−2, 2]), 6 ([−3, 3]) and 8 ([−4, 4]).
    const histogram = new Histogram(histogramEdges(-4, 4, 8));
    histogram.counts.set([0, 0, 10, 50, 50, 10, 0, 1]);
    // ONNX Runtime's windows are bins [4 − i, 4 + i] for i = 2..4: edges [−2, 3], [−3, 4] clipped to 3.9, [−4, 3.9].
    // The narrowest, [−2, 3], has the least divergence (onnxruntime's calibrate.py gives the same).
    expect(entropyRange(histogram, 4, -4, 3.9)).toEqual({ min: -2, max: 3 });
  });
});
