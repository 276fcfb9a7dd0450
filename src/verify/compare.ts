/**
 * Comparing a model's outputs with a reference run of the same inputs:
 * cosine similarity, largest absolute error, relative L2 error and, for
 * outputs that look like class scores, how often the top-1 class agrees.
 */
import type { HostTensor } from '../runtime/types.js';

/** How one output of the candidate model compares with the reference. */
export interface OutputComparison {
  name: string;
  dtype: string;
  dims: number[];
  /** Cosine similarity of the flattened outputs (1 when both are all zero); null for non-float outputs. */
  cosine: number | null;
  /** max |a − b|; for non-float outputs the largest difference of the values as numbers. */
  maxAbsError: number;
  /** ‖a − b‖₂ / ‖a‖₂ (0 when both are all zero, Infinity when only the reference is); null for non-float outputs. */
  relativeL2: number | null;
  /** Fraction of rows whose argmax over the last axis agrees, when the output looks like class scores; else null. */
  top1Agreement: number | null;
  /** Whether the dims and dtype agree; metrics are meaningless otherwise. */
  shapeMatches: boolean;
}

const floatDtypes = new Set(['float32', 'float64']);

function numeric(tensor: HostTensor): ArrayLike<number> | undefined {
  const data = tensor.data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array || Array.isArray(data)) return undefined;
  return data as ArrayLike<number>;
}

/**
 * Whether an output looks like class scores: float, rank ≥ 2, at least two
 * classes on the last axis, and not an image-like map (rank ≤ 3).
 */
export function looksLikeClassScores(tensor: HostTensor): boolean {
  const rank = tensor.dims.length;
  const classes = tensor.dims[rank - 1] ?? 0;
  return floatDtypes.has(tensor.dtype) && rank >= 2 && rank <= 3 && classes >= 2;
}

function argmaxAgreement(a: ArrayLike<number>, b: ArrayLike<number>, classes: number): number {
  const rows = Math.floor(a.length / classes);
  if (rows === 0) return 1;
  let agree = 0;
  for (let row = 0; row < rows; row++) {
    const base = row * classes;
    let bestA = base;
    let bestB = base;
    for (let k = base + 1; k < base + classes; k++) {
      if (a[k]! > a[bestA]!) bestA = k;
      if (b[k]! > b[bestB]!) bestB = k;
    }
    if (bestA === bestB) agree += 1;
  }
  return agree / rows;
}

/** Compares one output of the candidate with the reference's. */
export function compareTensors(name: string, reference: HostTensor, candidate: HostTensor): OutputComparison {
  const shapeMatches = reference.dtype === candidate.dtype && reference.dims.length === candidate.dims.length &&
    reference.dims.every((dim, i) => dim === candidate.dims[i]);
  const base = { name, dtype: reference.dtype, dims: [...reference.dims], shapeMatches };
  const a = numeric(reference);
  const b = numeric(candidate);
  if (!shapeMatches || a === undefined || b === undefined) {
    const equal = shapeMatches && JSON.stringify(Array.from(reference.data as ArrayLike<unknown>, String)) === JSON.stringify(Array.from(candidate.data as ArrayLike<unknown>, String));
    return { ...base, cosine: null, maxAbsError: equal ? 0 : Infinity, relativeL2: null, top1Agreement: null };
  }
  let dot = 0;
  let normA = 0;
  let normB = 0;
  let diff = 0;
  let maxAbsError = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const d = x - y;
    dot += x * y;
    normA += x * x;
    normB += y * y;
    diff += d * d;
    const abs = Math.abs(d);
    // NaN compares false: count it as an infinite error rather than none.
    if (!(abs <= maxAbsError)) maxAbsError = Number.isNaN(abs) ? Infinity : abs;
  }
  if (!floatDtypes.has(reference.dtype)) return { ...base, cosine: null, maxAbsError, relativeL2: null, top1Agreement: null };
  const cosine = normA === 0 && normB === 0 ? 1 : normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
  const relativeL2 = diff === 0 ? 0 : normA === 0 ? Infinity : Math.sqrt(diff / normA);
  const top1Agreement = looksLikeClassScores(reference) ? argmaxAgreement(a, b, reference.dims[reference.dims.length - 1]!) : null;
  return { ...base, cosine: Number.isNaN(cosine) ? 0 : cosine, maxAbsError, relativeL2: Number.isNaN(relativeL2) ? Infinity : relativeL2, top1Agreement };
}

/** Compares every reference output that the candidate also produced, in the reference's order. */
export function compareOutputs(reference: Record<string, HostTensor>, candidate: Record<string, HostTensor>): OutputComparison[] {
  return Object.entries(reference).map(([name, tensor]) => {
    const other = candidate[name];
    if (other === undefined) {
      return { name, dtype: tensor.dtype, dims: [...tensor.dims], cosine: null, maxAbsError: Infinity, relativeL2: null, top1Agreement: null, shapeMatches: false };
    }
    return compareTensors(name, tensor, other);
  });
}

/** The lowest cosine over the float outputs, or null when there are none. */
export function worstCosine(comparisons: readonly OutputComparison[]): number | null {
  let worst: number | null = null;
  for (const comparison of comparisons) {
    const value = comparison.shapeMatches ? comparison.cosine : 0;
    if (value !== null && (worst === null || value < worst)) worst = value;
  }
  return worst;
}
