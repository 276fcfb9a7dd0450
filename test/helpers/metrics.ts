import type { HostTensor } from '../../src/runtime/types.js';

/**
 * Cosine similarity of two float outputs, computed here independently of
 * src/verify so tests do not check the code with itself (1 for two zero tensors).
 */
export function cosine(a: HostTensor, b: HostTensor): number {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let dot = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i++) {
    dot += x[i]! * y[i]!;
    xx += x[i]! * x[i]!;
    yy += y[i]! * y[i]!;
  }
  if (xx === 0 && yy === 0) return 1;
  return dot / Math.sqrt(xx * yy);
}
