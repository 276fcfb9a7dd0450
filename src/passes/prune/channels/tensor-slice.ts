/**
 * Gathering kept positions of a dense float32 tensor along its axes.
 */

/** The positions along an axis whose channel stays, or undefined when all stay. */
export function keptPositions(ids: Int32Array, factor: number, isRemoved: (id: number) => boolean): Int32Array | undefined {
  const kept: number[] = [];
  for (let channel = 0; channel < ids.length; channel++) {
    if (isRemoved(ids[channel]!)) continue;
    for (let offset = 0; offset < factor; offset++) kept.push(channel * factor + offset);
  }
  return kept.length === ids.length * factor ? undefined : Int32Array.from(kept);
}

/** The number of channels of `ids` that stay. */
export function keptCount(ids: Int32Array, isRemoved: (id: number) => boolean): number {
  let count = 0;
  for (let i = 0; i < ids.length; i++) if (!isRemoved(ids[i]!)) count += 1;
  return count;
}

/** `values` (row-major, `dims`) restricted to `positions` along `axis`. */
export function gatherAxis(values: Float32Array, dims: readonly number[], axis: number, positions: Int32Array): Float32Array {
  const size = dims[axis]!;
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(outer * positions.length * inner);
  if (inner === 1) {
    let next = 0;
    for (let o = 0; o < outer; o++) {
      const base = o * size;
      for (let j = 0; j < positions.length; j++) out[next++] = values[base + positions[j]!]!;
    }
    return out;
  }
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < positions.length; j++) {
      const from = (o * size + positions[j]!) * inner;
      out.set(values.subarray(from, from + inner), (o * positions.length + j) * inner);
    }
  }
  return out;
}
