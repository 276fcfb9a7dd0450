/**
 * How closely a pruned model's outputs follow the original's over several
 * sample inputs: per output the worst cosine, the largest absolute error and
 * the mean top-1 agreement (for class-score outputs), as `quantize` reports.
 */
import type { HostTensor } from '../runtime/types.js';
import { compareOutputs } from './compare.js';

/** One output over all samples. */
export interface OutputAgreement {
  name: string;
  dims: number[];
  /** Lowest cosine similarity over the samples; null for non-float outputs. */
  cosine: number | null;
  /** Largest |a − b| over the samples. */
  maxAbsError: number;
  /** Mean fraction of rows whose argmax agrees, for class-score outputs; else null. */
  top1Agreement: number | null;
  /** Whether dims and dtype matched in every sample. */
  shapeMatches: boolean;
}

export interface Agreement {
  samples: number;
  outputs: OutputAgreement[];
  /** Lowest cosine over all float outputs (0 where shapes differ); null when there are none. */
  worstCosine: number | null;
  maxAbsError: number;
  /** Mean top-1 agreement over the class-score outputs; null when there are none. */
  top1Agreement: number | null;
}

/** Compares candidate with reference outputs, sample by sample (the arrays are aligned). */
export function measureAgreement(
  reference: ReadonlyArray<Record<string, HostTensor>>,
  candidate: ReadonlyArray<Record<string, HostTensor>>,
): Agreement {
  const byName = new Map<string, OutputAgreement & { top1Sum: number; top1Count: number }>();
  reference.forEach((outputs, sample) => {
    for (const comparison of compareOutputs(outputs, candidate[sample] ?? {})) {
      let entry = byName.get(comparison.name);
      if (entry === undefined) {
        entry = { name: comparison.name, dims: comparison.dims, cosine: comparison.cosine, maxAbsError: 0, top1Agreement: null, shapeMatches: true, top1Sum: 0, top1Count: 0 };
        byName.set(comparison.name, entry);
      }
      const cosine = comparison.shapeMatches ? comparison.cosine : 0;
      if (cosine !== null) entry.cosine = entry.cosine === null ? cosine : Math.min(entry.cosine, cosine);
      entry.maxAbsError = Math.max(entry.maxAbsError, comparison.maxAbsError);
      entry.shapeMatches &&= comparison.shapeMatches;
      if (comparison.top1Agreement !== null) {
        entry.top1Sum += comparison.top1Agreement;
        entry.top1Count += 1;
      }
    }
  });
  const outputs: OutputAgreement[] = [...byName.values()].map(({ top1Sum, top1Count, ...entry }) => ({
    ...entry,
    top1Agreement: top1Count === 0 ? null : top1Sum / top1Count,
  }));
  const cosines = outputs.map((o) => o.cosine).filter((c): c is number => c !== null);
  const top1 = outputs.map((o) => o.top1Agreement).filter((t): t is number => t !== null);
  return {
    samples: reference.length,
    outputs,
    worstCosine: cosines.length === 0 ? null : Math.min(...cosines),
    maxAbsError: outputs.reduce((max, o) => Math.max(max, o.maxAbsError), 0),
    top1Agreement: top1.length === 0 ? null : top1.reduce((a, b) => a + b, 0) / top1.length,
  };
}
