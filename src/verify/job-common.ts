/**
 * What the quantize jobs (weight-only/dynamic and static) share: the checks
 * on the output path before any work, the `--min-cosine` gate, and the
 * outcome's record of the files written.
 */
import { assertWritable } from '../common/atomic-file.js';
import { UsageError } from '../common/errors.js';
import { sameFile } from '../common/same-file.js';
import type { SaveResult } from '../onnx/model-io.js';

/** The `--min-cosine` gate: the threshold, the lowest output cosine measured (null when none was), and whether it was met. */
export interface CosineGate {
  minCosine: number;
  worstCosine: number | null;
  passed: boolean;
}

/** What an outcome records of a written model. */
export interface WrittenModel {
  path: string;
  sizeBytes: number;
  externalData?: { path: string; sizeBytes: number };
}

/**
 * Checks a quantize job's output path before any work: none on a dry run;
 * otherwise present, not the input model, and not an existing file unless `force`.
 * @returns the output path, or undefined on a dry run.
 * @throws UsageError (exit 2); MlctlError MLCTL_OUTPUT_EXISTS without `force`.
 */
export async function checkQuantizeOutput(job: { input: string; output?: string; dryRun?: boolean; force?: boolean }): Promise<string | undefined> {
  if (job.dryRun === true) return undefined;
  if (job.output === undefined || job.output === '') throw new UsageError('quantize needs an output path: pass -o <out.onnx>, or --dry-run to only see the plan');
  if (await sameFile(job.output, job.input)) {
    throw new UsageError(`the output path '${job.output}' is the input model; quantize never overwrites its input`, { hint: 'choose another -o path' });
  }
  await assertWritable(job.output, { force: job.force === true });
  return job.output;
}

/** The gate for `minCosine` given the lowest output cosine measured (null: nothing measured, so not met). */
export function cosineGate(minCosine: number, worstCosine: number | null): CosineGate {
  return { minCosine, worstCosine, passed: worstCosine !== null && worstCosine >= minCosine };
}

/** The outcome's record of a saved model and its external data file, if any. */
export function writtenModel(saved: SaveResult): WrittenModel {
  const written: WrittenModel = { path: saved.path, sizeBytes: saved.sizeBytes };
  if (saved.externalData !== undefined) written.externalData = { path: saved.externalData.path, sizeBytes: saved.externalData.sizeBytes };
  return written;
}
