/**
 * Nearest-rank percentiles and when a sample supports them (see statistics.ts
 * for the definitions).
 */

/**
 * ⌈x⌉, ignoring float noise just above an integer: for p = 99.9 the products
 * come out as 999.0000000000001, which must still count as rank 999.
 */
function ceilTolerant(x: number): number {
  return Math.ceil(x - 1e-9 * Math.max(1, Math.abs(x)));
}

/**
 * The 1-based nearest rank of percentile `p` in `count` sorted samples:
 * ⌈p·count/100⌉, at least 1.
 * @throws RangeError for p outside [0, 100] or count < 1.
 */
export function nearestRank(p: number, count: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside [0, 100]`);
  if (!(count >= 1)) throw new RangeError(`a percentile of ${count} samples does not exist`);
  const rank = ceilTolerant((p * count) / 100);
  return Math.min(count, Math.max(1, rank));
}

/** Nearest-rank percentile of samples already sorted ascending. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  return sorted[nearestRank(p, sorted.length) - 1]!;
}

/** Smallest sample size whose nearest-rank `p` is not simply the min or max (1 for p = 0 or 100). */
export function minSamplesFor(p: number): number {
  const tail = Math.min(p, 100 - p);
  return tail <= 0 ? 1 : ceilTolerant(100 / tail);
}

/** Whether `count` samples support percentile `p` (see the module comment). */
export function isPercentileSupported(p: number, count: number): boolean {
  return count >= minSamplesFor(p);
}
