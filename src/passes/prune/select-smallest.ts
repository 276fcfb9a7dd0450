/**
 * Exact selection of the k smallest magnitudes among float32 values, in
 * linear time: a two-pass radix select on the bit patterns. For non-negative
 * floats the IEEE bit pattern orders like the value, so |x| compares as
 * `bits & 0x7fffffff`; NaNs sort above infinity and are pruned last.
 */

/** The cut that selects exactly k elements: all with magnitude bits below `thresholdBits`, plus the first `equalToTake` equal to it. */
export interface MagnitudeCut {
  /** Magnitude bit pattern (`bits & 0x7fffffff`) of the k-th smallest element. */
  thresholdBits: number;
  /** How many elements whose magnitude equals the threshold are selected, first ones first (tensor order, then index order). */
  equalToTake: number;
}

const highBits = 16;
const lowBits = 15;
const lowMask = (1 << lowBits) - 1;

function bitsView(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/**
 * The cut selecting the k smallest magnitudes over `arrays` taken as one
 * sequence. Ties at the threshold are broken by position, so exactly k
 * elements are selected whatever the values.
 * @param k - 0 ≤ k ≤ total length.
 */
export function smallestMagnitudeCut(arrays: readonly Float32Array[], k: number): MagnitudeCut {
  if (k <= 0) return { thresholdBits: 0, equalToTake: 0 };
  const views = arrays.map(bitsView);
  const coarse = new Float64Array(1 << highBits);
  for (const view of views) {
    for (let i = 0; i < view.length; i++) coarse[(view[i]! & 0x7fffffff) >>> lowBits]! += 1;
  }
  let below = 0;
  let bucket = 0;
  while (bucket < coarse.length && below + coarse[bucket]! < k) below += coarse[bucket++]!;
  const fine = new Float64Array(1 << lowBits);
  for (const view of views) {
    for (let i = 0; i < view.length; i++) {
      const magnitude = view[i]! & 0x7fffffff;
      if (magnitude >>> lowBits === bucket) fine[magnitude & lowMask]! += 1;
    }
  }
  let low = 0;
  while (low < fine.length && below + fine[low]! < k) below += fine[low++]!;
  return { thresholdBits: (bucket << lowBits) | low, equalToTake: k - below };
}

/**
 * Copies of `arrays` with the elements the cut selects set to zero. The
 * `equalToTake` budget is spent across the arrays in order.
 */
export function applyMagnitudeCut(arrays: readonly Float32Array[], cut: MagnitudeCut, k: number): Float32Array[] {
  let equalLeft = cut.equalToTake;
  return arrays.map((values) => {
    const out = new Float32Array(values);
    if (k <= 0) return out;
    const bits = bitsView(values);
    for (let i = 0; i < bits.length; i++) {
      const magnitude = bits[i]! & 0x7fffffff;
      if (magnitude < cut.thresholdBits) out[i] = 0;
      else if (magnitude === cut.thresholdBits && equalLeft > 0) {
        out[i] = 0;
        equalLeft -= 1;
      }
    }
    return out;
  });
}

/** The number of elements to remove for a target sparsity: round(sparsity × count), half up. */
export function targetCount(sparsity: number, count: number): number {
  return Math.min(count, Math.round(sparsity * count));
}
