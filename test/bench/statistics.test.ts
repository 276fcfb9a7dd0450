/**
 * Statistics of latency samples against hand-computed values and known
 * distributions; bootstrap intervals for reproducibility and coverage.
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapPercentileIntervals,
  effectiveResamples,
  independentPercentileRatio,
  pairedPercentileRatio,
} from '../../src/bench/bootstrap.js';
import {
  isPercentileSupported,
  minSamplesFor,
  nearestRank,
  percentileOfSorted,
  sortedCopy,
  summarizeSamples,
  tukeyOutliers,
} from '../../src/bench/statistics.js';
import { mulberry32 } from '../../src/runtime/random-inputs.js';

/** Standard normal variates (Box–Muller) from a seeded generator. */
function normal(seed: number, count: number, mean = 0, sd = 1): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const u = 1 - random();
    const v = random();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  });
}

describe('nearest-rank percentiles', () => {
  // The worked examples of the nearest-rank method (Wikipedia, "Percentile").
  const five = [15, 20, 35, 40, 50];
  const ten = [3, 6, 7, 8, 8, 10, 13, 15, 16, 20];

  it.each([
    [five, 5, 15], [five, 30, 20], [five, 40, 20], [five, 50, 35], [five, 100, 50],
    [ten, 25, 7], [ten, 50, 8], [ten, 75, 15], [ten, 100, 20], [ten, 0, 3],
  ])('percentile of %j at p%d is %d', (values, p, expected) => {
    expect(percentileOfSorted(values, p)).toBe(expected);
  });

  it('ranks are ⌈p·n/100⌉, at least 1, without float noise skipping a rank', () => {
    expect(nearestRank(50, 1)).toBe(1);
    expect(nearestRank(0, 7)).toBe(1);
    expect(nearestRank(95, 20)).toBe(19);
    expect(nearestRank(95, 21)).toBe(20);
    expect(nearestRank(99, 100)).toBe(99);
    expect(nearestRank(99.9, 1000)).toBe(999);
    expect(nearestRank(99.9, 10_000)).toBe(9990);
    expect(() => nearestRank(101, 10)).toThrow(RangeError);
    expect(() => nearestRank(50, 0)).toThrow(RangeError);
  });

  it('of 1..100 are the percentile itself; of 1..1000, p99.9 is 999', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    for (const p of [1, 10, 50, 90, 95, 99, 100]) expect(percentileOfSorted(hundred, p)).toBe(p);
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentileOfSorted(thousand, 99.9)).toBe(999);
  });

  it('are supported only with a sample beyond them: p50 from 2, p90 from 10, p95 from 20, p99 from 100', () => {
    expect([50, 90, 95, 99, 99.9, 1, 0, 100].map(minSamplesFor)).toEqual([2, 10, 20, 100, 1000, 100, 1, 1]);
    expect(isPercentileSupported(99, 99)).toBe(false);
    expect(isPercentileSupported(99, 100)).toBe(true);
    expect(isPercentileSupported(95, 19)).toBe(false);
    expect(isPercentileSupported(95, 20)).toBe(true);
    expect(isPercentileSupported(50, 1)).toBe(false);
    // Unsupported upper percentiles are exactly the cases where the nearest rank is the maximum.
    for (let count = 1; count < 150; count++) {
      expect(nearestRank(99, count) === count).toBe(!isPercentileSupported(99, count));
    }
  });
});

describe('summarizeSamples', () => {
  it('matches hand-computed values for [2, 4, 4, 4, 5, 5, 7, 9]', () => {
    const stats = summarizeSamples([9, 4, 2, 5, 4, 7, 4, 5], { resamples: 200 });
    expect(stats.count).toBe(8);
    expect(stats.mean).toBe(5);
    // Σ(x − 5)² = 9 + 1 + 1 + 1 + 0 + 0 + 4 + 16 = 32; sample variance 32 / 7.
    expect(stats.stddev).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(stats.cv).toBeCloseTo(Math.sqrt(32 / 7) / 5, 12);
    expect([stats.min, stats.max]).toEqual([2, 9]);
    expect(stats.percentiles.p50).toMatchObject({ value: 4, supported: true, minSamples: 2 });
    // n = 8: rank ⌈7.2⌉ = 8 is the maximum, and marked as such.
    expect(stats.percentiles.p90).toMatchObject({ value: 9, supported: false, minSamples: 10, interval: null });
    expect(stats.percentiles.p99).toMatchObject({ value: 9, supported: false });
    expect(stats.percentiles.p95.interval).toBeNull();
    expect(stats.percentiles.p50.interval).not.toBeNull();
    // Q1 = rank 2 = 4, Q3 = rank 6 = 5, IQR 1: fences 2.5 and 6.5; 2 is low, 7 and 9 are high.
    expect(stats.outliers).toEqual({ q1: 4, q3: 5, lowFence: 2.5, highFence: 6.5, low: 1, high: 2 });
  });

  it('gives a zero spread for one sample and refuses an empty one', () => {
    const stats = summarizeSamples([3]);
    expect([stats.mean, stats.stddev, stats.cv, stats.min, stats.max]).toEqual([3, 0, 0, 3, 3]);
    expect(stats.percentiles.p50.supported).toBe(false);
    expect(() => summarizeSamples([])).toThrow(RangeError);
  });

  it('recovers the quantiles of a normal distribution (μ 10, σ 2, 20,000 samples)', () => {
    const stats = summarizeSamples(normal(7, 20_000, 10, 2), { resamples: 200 });
    expect(stats.mean).toBeCloseTo(10, 1);
    expect(stats.stddev).toBeCloseTo(2, 1);
    expect(stats.percentiles.p50.value).toBeCloseTo(10, 1);
    expect(Math.abs(stats.percentiles.p90.value - (10 + 1.2816 * 2))).toBeLessThan(0.06);
    expect(Math.abs(stats.percentiles.p95.value - (10 + 1.6449 * 2))).toBeLessThan(0.08);
    expect(Math.abs(stats.percentiles.p99.value - (10 + 2.3263 * 2))).toBeLessThan(0.15);
    // Tukey's fences lie at ±2.698σ: 0.70% of a normal sample falls outside.
    const outside = (stats.outliers.low + stats.outliers.high) / stats.count;
    expect(outside).toBeGreaterThan(0.003);
    expect(outside).toBeLessThan(0.012);
  });

  it('recovers the quantiles of an exponential distribution (mean 1)', () => {
    const random = mulberry32(11);
    const samples = Array.from({ length: 20_000 }, () => -Math.log(1 - random()));
    const stats = summarizeSamples(samples, { resamples: 200 });
    expect(Math.abs(stats.percentiles.p50.value - Math.LN2)).toBeLessThan(0.03);
    expect(Math.abs(stats.percentiles.p99.value - Math.log(100))).toBeLessThan(0.25);
    expect(stats.cv).toBeCloseTo(1, 1);
  });
});

describe('tukeyOutliers', () => {
  it('counts nothing in an even spread and flags a far value', () => {
    const even = sortedCopy(Array.from({ length: 20 }, (_, i) => i));
    expect(tukeyOutliers(even)).toMatchObject({ low: 0, high: 0 });
    const withSpike = sortedCopy([...Array.from({ length: 20 }, (_, i) => 10 + (i % 3)), 100]);
    expect(tukeyOutliers(withSpike)).toMatchObject({ low: 0, high: 1 });
  });
});

describe('bootstrap intervals', () => {
  const sample = sortedCopy(normal(3, 500, 5, 1));

  it('are reproducible for a seed and differ between seeds', () => {
    const a = bootstrapPercentileIntervals(sample, [50, 95], { seed: 1, resamples: 500 });
    const b = bootstrapPercentileIntervals(sample, [50, 95], { seed: 1, resamples: 500 });
    const c = bootstrapPercentileIntervals(sample, [50, 95], { seed: 2, resamples: 500 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    for (const interval of a) {
      expect(interval.low).toBeLessThanOrEqual(interval.high);
      expect(interval.confidence).toBe(0.95);
      expect(interval.resamples).toBe(500);
    }
    expect(a[0]!.low).toBeLessThanOrEqual(percentileOfSorted(sample, 50));
    expect(a[0]!.high).toBeGreaterThanOrEqual(percentileOfSorted(sample, 50));
    // The interval of p95 lies above that of p50, in the order the percentiles were asked for.
    const reversed = bootstrapPercentileIntervals(sample, [95, 50], { seed: 1, resamples: 500 });
    expect(reversed).toEqual([a[1], a[0]]);
  });

  it('of a constant sample collapse to the constant', () => {
    expect(bootstrapPercentileIntervals([4, 4, 4, 4], [50], { resamples: 50 })[0]).toMatchObject({ low: 4, high: 4 });
  });

  it('cover the true median about 95% of the time', () => {
    let covered = 0;
    const trials = 200;
    for (let trial = 0; trial < trials; trial++) {
      const data = sortedCopy(normal(1000 + trial, 101));
      const [interval] = bootstrapPercentileIntervals(data, [50], { seed: trial, resamples: 400 });
      if (interval!.low <= 0 && interval!.high >= 0) covered += 1;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThan(0.995);
  });

  it('draw fewer resamples for huge samples, never fewer than 200', () => {
    expect(effectiveResamples(2000, 10_000)).toBe(2000);
    expect(effectiveResamples(2000, 100_000)).toBe(400);
    expect(effectiveResamples(2000, 10_000_000)).toBe(200);
    expect(effectiveResamples(50, 10_000_000)).toBe(50);
  });
});

describe('percentile ratios', () => {
  it('of a sample scaled by 1.3 are exactly 1.3', () => {
    const baseline = normal(5, 200, 10, 1);
    const candidate = baseline.map((value) => value * 1.3);
    const paired = pairedPercentileRatio(candidate, baseline, 50, { resamples: 300 });
    expect(paired.ratio).toBeCloseTo(1.3, 12);
    expect(paired.interval.low).toBeCloseTo(1.3, 12);
    expect(paired.interval.high).toBeCloseTo(1.3, 12);
  });

  it('pair rounds, so drift shared by both runs of a round does not widen the interval', () => {
    // Each round's machine speed drifts by up to ±40%; the candidate is 5% slower within the round.
    const random = mulberry32(9);
    const drift = Array.from({ length: 400 }, () => 0.6 + 0.8 * random());
    const baseline = drift.map((speed) => speed * (1 + 0.01 * random()));
    const candidate = drift.map((speed) => speed * 1.05 * (1 + 0.01 * random()));
    const paired = pairedPercentileRatio(candidate, baseline, 50, { resamples: 500 });
    const independent = independentPercentileRatio(candidate, baseline, 50, { resamples: 500 });
    expect(paired.interval.low).toBeLessThanOrEqual(paired.ratio);
    expect(paired.interval.high).toBeGreaterThanOrEqual(paired.ratio);
    const pairedWidth = paired.interval.high - paired.interval.low;
    const independentWidth = independent.interval.high - independent.interval.low;
    expect(pairedWidth).toBeLessThan(independentWidth / 2);
    expect(paired.interval.low).toBeGreaterThan(1.0);
  });

  it('refuse samples of different lengths when paired, and empty ones', () => {
    expect(() => pairedPercentileRatio([1, 2], [1], 50)).toThrow(RangeError);
    expect(() => independentPercentileRatio([], [1], 50)).toThrow(RangeError);
    expect(() => bootstrapPercentileIntervals([1], [50], { resamples: 5 })).toThrow(/resamples/);
    expect(() => bootstrapPercentileIntervals([1], [50], { confidence: 1 })).toThrow(/confidence/);
  });
});
