/**
 * How close a quantized model's outputs stay to the float model's over a set
 * of samples, as the accuracy-driven search measures it: per output, the
 * cosine similarity of all samples' values taken together and the largest
 * absolute difference of any element.
 */
import { createSession } from '../../runtime/onnxruntime.js';
import type { HostTensor } from '../../runtime/types.js';
import type { Feeds } from './samples.js';

/** What `--target-cosine` and `--max-error` ask for. */
export type AccuracyTarget =
  /** Every float output's cosine similarity to the float model's at least `value`. */
  | { kind: 'cosine'; value: number }
  /** No output element further than `value` from the float model's. */
  | { kind: 'max-error'; value: number };

/** Outputs compared over all samples. */
export interface AccuracyMetrics {
  /** Lowest cosine over float outputs (1 when there are none). */
  worstCosine: number;
  /** Largest |float − quantized| over every element of every output. */
  maxAbsError: number;
  /** Per output name. */
  outputs: { name: string; cosine: number; maxAbsError: number }[];
}

/** The samples and the float model's outputs on them. */
export interface ReferenceSet {
  feeds: readonly Feeds[];
  outputs: readonly Record<string, HostTensor>[];
}

/** Whether `metrics` meet `target`. */
export function meetsTarget(metrics: AccuracyMetrics, target: AccuracyTarget): boolean {
  return target.kind === 'cosine' ? metrics.worstCosine >= target.value : metrics.maxAbsError <= target.value;
}

/** A number where higher is better, for ranking: the worst cosine, or the negated largest error. */
export function accuracyScore(metrics: AccuracyMetrics, target: AccuracyTarget): number {
  return target.kind === 'cosine' ? metrics.worstCosine : -metrics.maxAbsError;
}

function numbers(tensor: HostTensor): ArrayLike<number> | undefined {
  const data = tensor.data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array || Array.isArray(data)) return undefined;
  return data as ArrayLike<number>;
}

/**
 * Runs a model on every sample, always releasing the session.
 * @param model - serialized bytes, or a model file's path (see runtime-input.ts).
 */
export async function runAll(model: string | Uint8Array, feeds: readonly Feeds[], label: string): Promise<Record<string, HostTensor>[]> {
  const session = await createSession(model, { label, labelFile: true, logLevel: 'fatal' });
  try {
    const outputs: Record<string, HostTensor>[] = [];
    for (const sample of feeds) outputs.push(await session.run(sample));
    return outputs;
  } finally {
    await session.release();
  }
}

/** Compares candidate outputs with the reference's, over all samples (see the module comment). */
export function compareSets(reference: readonly Record<string, HostTensor>[], candidate: readonly Record<string, HostTensor>[]): AccuracyMetrics {
  const sums = new Map<string, { dot: number; aa: number; bb: number; maxAbs: number; float: boolean }>();
  reference.forEach((outputs, sample) => {
    for (const [name, a] of Object.entries(outputs)) {
      const b = candidate[sample]?.[name];
      const x = numbers(a);
      const y = b === undefined ? undefined : numbers(b);
      const entry = sums.get(name) ?? { dot: 0, aa: 0, bb: 0, maxAbs: 0, float: a.dtype === 'float32' || a.dtype === 'float64' };
      sums.set(name, entry);
      if (x === undefined || y === undefined || x.length !== y.length) {
        entry.maxAbs = Infinity;
        entry.dot = Number.NaN;
        continue;
      }
      for (let i = 0; i < x.length; i++) {
        const d = x[i]! - y[i]!;
        entry.dot += x[i]! * y[i]!;
        entry.aa += x[i]! * x[i]!;
        entry.bb += y[i]! * y[i]!;
        const abs = Math.abs(d);
        if (!(abs <= entry.maxAbs)) entry.maxAbs = Number.isNaN(abs) ? Infinity : abs;
      }
    }
  });
  const outputs: AccuracyMetrics['outputs'] = [];
  let worstCosine = 1;
  let maxAbsError = 0;
  for (const [name, s] of sums) {
    let cosine = s.aa === 0 && s.bb === 0 ? 1 : s.aa === 0 || s.bb === 0 ? 0 : s.dot / Math.sqrt(s.aa * s.bb);
    if (Number.isNaN(cosine)) cosine = 0;
    outputs.push({ name, cosine, maxAbsError: s.maxAbs });
    if (s.float) worstCosine = Math.min(worstCosine, cosine);
    maxAbsError = Math.max(maxAbsError, s.maxAbs);
  }
  return { worstCosine, maxAbsError, outputs };
}

/** Runs the candidate (bytes or a path, as for {@link runAll}) on the reference's samples and compares. */
export async function evaluateCandidate(model: string | Uint8Array, reference: ReferenceSet, label = 'the quantized model'): Promise<AccuracyMetrics> {
  return compareSets(reference.outputs, await runAll(model, reference.feeds, label));
}
