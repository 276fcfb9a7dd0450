/**
 * Seeded test data: a linear congruential sequence, so the same seed gives
 * the same values on every machine.
 */

/** `count` seeded values in [−amplitude, amplitude). */
export function seeded(count: number, seed: number, amplitude = 1): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * amplitude;
  });
}
