/**
 * Per-tensor range collectors for the calibration methods, fed one tensor at
 * a time (never all samples at once):
 *
 * - `minmax` (ONNX Runtime's default): the smallest minimum and largest
 *   maximum over all runs; with `movingAverage`, the mean over runs of each
 *   run's minimum and maximum (ONNX Runtime's `CalibMovingAverage` when all
 *   samples are collected in one batch, its default).
 * - `percentile` and `entropy`: two passes. The first finds each tensor's
 *   min, max and min |x|; the second fills a histogram with edges fixed from
 *   them (see histogram.ts).
 */
import { entropyRange, Histogram, histogramEdges, percentileRange, type Range } from './histogram.js';

/** Calibration methods, named as `--calibrate` takes them. */
export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';

/** Options of the calibration methods, with ONNX Runtime's defaults. */
export interface CalibrationSettings {
  method: CalibrationMethod;
  /** minmax only (default false). */
  movingAverage?: boolean;
  /** percentile: default 99.999. */
  percentile?: number;
  /** Histogram bins: default 2048 for percentile, 128 for entropy. */
  numBins?: number;
  /** entropy: default 128. */
  numQuantizedBins?: number;
  /** percentile: a histogram of |x| and a range symmetric around 0 (default true, as ONNX Runtime). */
  symmetric?: boolean;
}

/** Extremes of one tensor over the first pass. */
interface Extremes {
  min: number;
  max: number;
  /** Smallest |x|. */
  absMin: number;
  /** Sums of per-run minima and maxima, for the moving average. */
  sumMin: number;
  sumMax: number;
  runs: number;
}

/** Minimum, maximum and minimum magnitude of `data`, NaN ignored; undefined when it holds no number. */
export function extremes(data: Float32Array): { min: number; max: number; absMin: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  let absMin = Infinity;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
    const a = x < 0 ? -x : x;
    if (a < absMin) absMin = a;
  }
  return min === Infinity ? undefined : { min, max, absMin };
}

/** Collects the ranges of many tensors under one method (see the module comment). */
export class RangeCollector {
  private readonly first = new Map<string, Extremes>();
  private readonly histograms = new Map<string, Histogram>();
  readonly passes: 1 | 2;

  constructor(readonly settings: CalibrationSettings) {
    this.passes = settings.method === 'minmax' ? 1 : 2;
  }

  private get absolute(): boolean {
    return this.settings.method === 'percentile' && this.settings.symmetric !== false;
  }

  /** Observes one run's value of `name` in pass `pass` (0 or 1). */
  observe(pass: number, name: string, data: Float32Array): void {
    if (pass === 0) {
      const seen = extremes(data);
      if (seen === undefined) return;
      const previous = this.first.get(name);
      if (previous === undefined) {
        this.first.set(name, { ...seen, sumMin: seen.min, sumMax: seen.max, runs: 1 });
        return;
      }
      previous.min = Math.min(previous.min, seen.min);
      previous.max = Math.max(previous.max, seen.max);
      previous.absMin = Math.min(previous.absMin, seen.absMin);
      previous.sumMin += seen.min;
      previous.sumMax += seen.max;
      previous.runs += 1;
      return;
    }
    let histogram = this.histograms.get(name);
    if (histogram === undefined) {
      const seen = this.first.get(name);
      if (seen === undefined) return;
      const threshold = Math.max(Math.abs(seen.min), Math.abs(seen.max));
      const bins = this.settings.numBins ?? (this.settings.method === 'percentile' ? 2048 : 128);
      histogram = new Histogram(this.absolute ? histogramEdges(seen.absMin, threshold, bins) : histogramEdges(-threshold, threshold, bins));
      this.histograms.set(name, histogram);
    }
    histogram.add(data, this.absolute);
  }

  /** Whether the second pass needs `name` (it was seen in the first). */
  needsSecondPass(name: string): boolean {
    return this.passes === 2 && this.first.has(name);
  }

  /** The range of `name`, as float32 values; undefined when it was never seen. */
  range(name: string): Range | undefined {
    const seen = this.first.get(name);
    if (seen === undefined) return undefined;
    const { method } = this.settings;
    let range: Range;
    if (method === 'minmax') {
      range = this.settings.movingAverage === true ? { min: seen.sumMin / seen.runs, max: seen.sumMax / seen.runs } : { min: seen.min, max: seen.max };
    } else {
      const histogram = this.histograms.get(name);
      if (histogram === undefined) return undefined;
      range = method === 'percentile'
        ? percentileRange(histogram, this.settings.percentile ?? 99.999, this.settings.symmetric !== false, seen.min, seen.max)
        : entropyRange(histogram, this.settings.numQuantizedBins ?? 128, seen.min, seen.max);
    }
    return { min: Math.fround(range.min), max: Math.fround(range.max) };
  }

  /** Every tensor seen. */
  names(): string[] {
    return [...this.first.keys()];
  }
}
