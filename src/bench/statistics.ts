/**
 * Descriptive statistics of latency samples: pure functions over numbers,
 * shared by `mlctl bench` and any load client that times requests.
 *
 * Percentiles use the **nearest-rank** definition: the p-th percentile of n
 * sorted samples is the sample at 1-based rank ⌈p·n/100⌉ (the minimum for
 * p = 0). It is always one of the measured values, never an interpolation,
 * so "p95 = 12.1 ms" means at least 95% of the runs took 12.1 ms or less.
 *
 * A percentile is *supported* only when the sample has at least one value
 * beyond it: n·min(p, 100 − p) ≥ 100 (p50 needs 2 samples, p90 10, p95 20,
 * p99 100). An unsupported upper percentile is the sample's maximum, an
 * unsupported lower one its minimum; reports mark it instead of printing it
 * as an estimate.
 */
import { bootstrapPercentileIntervals, type BootstrapOptions, type ConfidenceInterval } from './bootstrap.js';
import { isPercentileSupported, minSamplesFor, percentileOfSorted } from './percentiles.js';

export { isPercentileSupported, minSamplesFor, nearestRank, percentileOfSorted } from './percentiles.js';

/** The percentiles every report shows. */
export const REPORTED_PERCENTILES = [50, 90, 95, 99] as const;
export type ReportedPercentile = (typeof REPORTED_PERCENTILES)[number];
/** Percentiles that get a bootstrap confidence interval. */
export const PERCENTILES_WITH_INTERVALS: readonly ReportedPercentile[] = [50, 95];

/** Tukey's fence factor for outliers (1.5 × IQR beyond the quartiles). */
export const TUKEY_FENCE = 1.5;

/** One percentile of a sample. */
export interface PercentileEstimate {
  /** The percentile, 0..100. */
  percentile: number;
  /** The nearest-rank value, in the samples' unit. */
  value: number;
  /** False when the sample is too small for this percentile (the value is then the sample's min or max). */
  supported: boolean;
  /** Smallest sample size that supports this percentile. */
  minSamples: number;
  /** Bootstrap confidence interval, for p50 and p95 when supported; else null. */
  interval: ConfidenceInterval | null;
}

/** Outliers by Tukey's rule: values more than 1.5 IQR below Q1 or above Q3 (quartiles by nearest rank). */
export interface OutlierSummary {
  q1: number;
  q3: number;
  lowFence: number;
  highFence: number;
  /** Count below the low fence. */
  low: number;
  /** Count above the high fence. */
  high: number;
}

/** Summary of a sample; every value is in the samples' own unit (mlctl uses milliseconds). */
export interface SampleStatistics {
  count: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for one sample. */
  stddev: number;
  /** Coefficient of variation, stddev / mean (a fraction, not a percentage). */
  cv: number;
  min: number;
  max: number;
  /** p50, p90, p95, p99 keyed `p50` … `p99`. */
  percentiles: Record<`p${ReportedPercentile}`, PercentileEstimate>;
  outliers: OutlierSummary;
}

/** A sorted copy of the samples (Float64Array sorts numerically). */
export function sortedCopy(samples: ArrayLike<number>): Float64Array {
  return Float64Array.from(samples).sort();
}

function meanOf(samples: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  return sum / samples.length;
}

/** Sample standard deviation, two-pass for accuracy. */
function stddevOf(samples: ArrayLike<number>, mean: number): number {
  if (samples.length < 2) return 0;
  let squares = 0;
  for (let i = 0; i < samples.length; i++) {
    const delta = samples[i]! - mean;
    squares += delta * delta;
  }
  return Math.sqrt(squares / (samples.length - 1));
}

/** Tukey outlier counts of samples already sorted ascending. */
export function tukeyOutliers(sorted: ArrayLike<number>): OutlierSummary {
  const q1 = percentileOfSorted(sorted, 25);
  const q3 = percentileOfSorted(sorted, 75);
  const spread = TUKEY_FENCE * (q3 - q1);
  const lowFence = q1 - spread;
  const highFence = q3 + spread;
  let low = 0;
  let high = 0;
  for (let i = 0; i < sorted.length; i++) {
    const value = sorted[i]!;
    if (value < lowFence) low += 1;
    else if (value > highFence) high += 1;
  }
  return { q1, q3, lowFence, highFence, low, high };
}

/** A percentile of any sample with its support flag, without an interval. */
export function percentileEstimate(sorted: ArrayLike<number>, p: number): PercentileEstimate {
  return {
    percentile: p,
    value: percentileOfSorted(sorted, p),
    supported: isPercentileSupported(p, sorted.length),
    minSamples: minSamplesFor(p),
    interval: null,
  };
}

/**
 * Summarizes a sample: mean, stddev, cv, min, max, nearest-rank p50/p90/p95/p99
 * (flagged when unsupported), bootstrap confidence intervals for p50 and p95,
 * and Tukey outliers.
 * @param samples the measurements in any order (not modified).
 * @param bootstrap resampling settings; the same seed and samples give the same intervals.
 * @throws RangeError for an empty sample.
 */
export function summarizeSamples(samples: ArrayLike<number>, bootstrap: BootstrapOptions = {}): SampleStatistics {
  if (samples.length === 0) throw new RangeError('cannot summarize an empty sample');
  const sorted = sortedCopy(samples);
  const mean = meanOf(sorted);
  const stddev = stddevOf(sorted, mean);
  const withIntervals = PERCENTILES_WITH_INTERVALS.filter((p) => isPercentileSupported(p, sorted.length));
  const intervals = bootstrapPercentileIntervals(sorted, withIntervals, bootstrap);
  const entries = REPORTED_PERCENTILES.map((p) => {
    const estimate = percentileEstimate(sorted, p);
    const index = withIntervals.indexOf(p);
    if (index >= 0) estimate.interval = intervals[index] ?? null;
    return [`p${p}`, estimate] as const;
  });
  return {
    count: sorted.length,
    mean,
    stddev,
    cv: mean === 0 ? 0 : stddev / mean,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    percentiles: Object.fromEntries(entries) as SampleStatistics['percentiles'],
    outliers: tukeyOutliers(sorted),
  };
}
