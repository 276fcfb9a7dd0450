/**
 * Histograms of activation values and the two ways ONNX Runtime's
 * calibrator (`calibrate.py`, `HistogramCollector`) turns one into a range:
 *
 * - **percentile** (default 99.999 over 2048 bins, symmetric): a histogram of
 *   |x| over [min |x|, max |x|]; the threshold is the lower edge of the first
 *   bin where the cumulative share reaches the percentile; the range is
 *   [−threshold, threshold], each side clipped to the data's own min and max.
 * - **entropy** (128 bins, 128 quantized bins): a histogram of x over
 *   [−t, t], t = max |x|; for each candidate window of bins around zero, the
 *   KL divergence between the clipped distribution and its 128-level
 *   quantization; the window with the least divergence gives the range,
 *   clipped to the data's min and max. With 128 bins and 128 quantized bins
 *   there is exactly one candidate, the whole histogram, so the range equals
 *   MinMax's: that is how ONNX Runtime computes it with its defaults. The
 *   divergences are computed in float32 as scipy computes them for ORT.
 *
 * The histograms are filled in a second pass over the calibration data with
 * edges fixed from the first pass's global min and max, which gives the same
 * counts as ONNX Runtime's single `np.histogram` over all samples held in
 * memory at once. Edges are `np.linspace` rounded to float32, as numpy makes
 * them for float32 data; a value falls in the bin whose edges bracket it
 * (the last bin includes its upper edge).
 */

/** Evenly spaced float32 edges from `first` to `last`: `numBins + 1` values, as `np.linspace(..., dtype=float32)`. */
export function histogramEdges(first: number, last: number, numBins: number): Float32Array {
  let lo = first;
  let hi = last;
  // numpy widens an empty range by 0.5 on each side.
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges = new Float32Array(numBins + 1);
  const step = (hi - lo) / numBins;
  for (let i = 0; i < numBins; i++) edges[i] = lo + i * step;
  edges[numBins] = hi;
  return edges;
}

/** A histogram with fixed float32 edges; counts are exact integers held in float64. */
export class Histogram {
  readonly counts: Float64Array;
  private readonly first: number;
  private readonly last: number;
  private readonly scale: number;

  constructor(readonly edges: Float32Array) {
    this.counts = new Float64Array(edges.length - 1);
    this.first = edges[0]!;
    this.last = edges[edges.length - 1]!;
    this.scale = this.counts.length / (this.last - this.first);
  }

  /** Adds the values (|x| when `absolute`); values outside the edges are not counted. */
  add(data: Float32Array, absolute: boolean): void {
    const { edges, counts, first, last, scale } = this;
    const top = counts.length - 1;
    for (let k = 0; k < data.length; k++) {
      let x = data[k]!;
      if (absolute && x < 0) x = -x;
      if (!(x >= first && x <= last)) continue;
      let i = Math.floor((x - first) * scale);
      if (i > top) i = top;
      // The estimate can be one bin off where float rounding meets an edge; the edges decide.
      while (i > 0 && x < edges[i]!) i--;
      while (i < top && x >= edges[i + 1]!) i++;
      counts[i]! += 1;
    }
  }
}

/** A calibrated range. */
export interface Range {
  min: number;
  max: number;
}

/**
 * The percentile range of a histogram (see the module comment).
 * @param histogram - of |x| when `symmetric`, else of x over [−t, t].
 * @param percentile - in [0, 100], e.g. 99.999.
 * @param dataMin, dataMax - the data's own extremes, which clip the result.
 */
export function percentileRange(histogram: Histogram, percentile: number, symmetric: boolean, dataMin: number, dataMax: number): Range {
  const { counts, edges } = histogram;
  let total = 0;
  for (const count of counts) total += count;
  // numpy: cdf = cumsum(hist / total); searchsorted(cdf, p) is the first index with cdf[i] >= p.
  const firstAtLeast = (p: number): number => {
    let cumulative = 0;
    for (let i = 0; i < counts.length; i++) {
      cumulative += counts[i]! / total;
      if (cumulative >= p) return i;
    }
    return counts.length;
  };
  let min: number;
  let max: number;
  if (symmetric) {
    const edge = edges[firstAtLeast(percentile / 100)]!;
    min = -edge;
    max = edge;
  } else {
    const cut = (100 - percentile) / 200;
    min = edges[firstAtLeast(cut)]!;
    max = edges[firstAtLeast(1 - cut)]!;
  }
  return { min: min < dataMin ? dataMin : min, max: max > dataMax ? dataMax : max };
}

/**
 * Replaces zeros by `eps` and takes the same total off the non-zero entries,
 * in float32 (ONNX Runtime's `smooth_distribution`); undefined when all are zero.
 */
export function smoothDistribution(p: Float64Array, eps = 0.0001): Float32Array | undefined {
  let zeros = 0;
  for (const v of p) if (v === 0) zeros += 1;
  const nonZeros = p.length - zeros;
  if (nonZeros === 0) return undefined;
  const eps1 = (eps * zeros) / nonZeros;
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i] === 0 ? Math.fround(p[i]! + Math.fround(eps)) : Math.fround(p[i]! - Math.fround(eps1));
  return out;
}

/**
 * numpy's float32 `sum`: pairwise summation (blocks of up to 128 summed with
 * eight accumulators, larger ranges split in halves), every step rounded to
 * float32. The KL divergences of neighbouring windows differ by less than
 * float32's resolution, so the arithmetic decides which window wins.
 */
export function float32Sum(values: Float32Array, start = 0, count = values.length): number {
  const f = Math.fround;
  if (count < 8) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum = f(sum + values[start + i]!);
    return sum;
  }
  if (count <= 128) {
    const r = values.slice(start, start + 8);
    let i = 8;
    for (; i < count - (count % 8); i += 8) for (let k = 0; k < 8; k++) r[k] = r[k]! + values[start + i + k]!;
    let sum = f(f(f(r[0]! + r[1]!) + f(r[2]! + r[3]!)) + f(f(r[4]! + r[5]!) + f(r[6]! + r[7]!)));
    for (; i < count; i++) sum = f(sum + values[start + i]!);
    return sum;
  }
  let half = Math.floor(count / 2);
  half -= half % 8;
  return f(float32Sum(values, start, half) + float32Sum(values, start + half, count - half));
}

/**
 * KL divergence D(p‖q) of two unnormalized float32 distributions, as
 * `scipy.stats.entropy(p, q)` computes it on float32 arrays: both normalized
 * by their float32 sums, `p·ln(p/q)` per element rounded to float32, then
 * summed with numpy's float32 pairwise sum.
 */
export function klDivergence(p: Float32Array, q: Float32Array): number {
  const f = Math.fround;
  const sumP = float32Sum(p);
  const sumQ = float32Sum(q);
  const terms = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const pi = f(p[i]! / sumP);
    const qi = f(q[i]! / sumQ);
    terms[i] = pi > 0 ? (qi > 0 ? f(pi * Math.log(pi / qi)) : Infinity) : 0;
  }
  return float32Sum(terms);
}

/**
 * The entropy (KL-divergence) range of a histogram of x over [−t, t] (see
 * the module comment), with ONNX Runtime's arithmetic: the expanded
 * quantized distribution is truncated to integers, as ORT stores it in an
 * int64 array.
 */
export function entropyRange(histogram: Histogram, numQuantizedBins: number, dataMin: number, dataMax: number): Range {
  const { counts: hist, edges } = histogram;
  const numBins = hist.length;
  const zeroBin = Math.floor(numBins / 2);
  const halfQuantized = Math.floor(numQuantizedBins / 2);
  let best = Infinity;
  let threshold: Range = { min: edges[0]!, max: edges[numBins]! };
  for (let i = halfQuantized; i <= zeroBin; i++) {
    const start = zeroBin - i;
    const end = Math.min(zeroBin + i + 1, numBins);
    const candidate = { min: edges[start]!, max: edges[end]! };
    const sliced = hist.subarray(start, end);
    const p = Float64Array.from(sliced);
    for (let k = 0; k < start; k++) p[0]! += hist[k]!;
    for (let k = end; k < numBins; k++) p[p.length - 1]! += hist[k]!;
    const merged = Math.floor(sliced.length / numQuantizedBins);
    const quantized = new Float64Array(numQuantizedBins);
    for (let b = 0; b < numQuantizedBins; b++) {
      for (let k = b * merged; k < (b + 1) * merged; k++) quantized[b]! += sliced[k]!;
    }
    for (let k = numQuantizedBins * merged; k < sliced.length; k++) quantized[numQuantizedBins - 1]! += sliced[k]!;
    const q = new Float64Array(p.length);
    for (let b = 0; b < numQuantizedBins; b++) {
      let norm = 0;
      for (let k = b * merged; k < (b + 1) * merged; k++) if (p[k] !== 0) norm += 1;
      if (norm === 0) continue;
      const value = Math.trunc(quantized[b]! / norm);
      for (let k = b * merged; k < (b + 1) * merged; k++) q[k] = value;
    }
    const ps = smoothDistribution(p);
    const qs = smoothDistribution(q);
    const divergence = ps === undefined || qs === undefined ? Infinity : klDivergence(ps, qs);
    // np.argmin: the first minimum.
    if (divergence < best || (best === Infinity && i === halfQuantized)) {
      if (divergence < best) best = divergence;
      threshold = candidate;
    }
  }
  return { min: threshold.min < dataMin ? dataMin : threshold.min, max: threshold.max > dataMax ? dataMax : threshold.max };
}
