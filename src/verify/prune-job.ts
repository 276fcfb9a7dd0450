/**
 * The service behind `mlctl prune`: load, measure shapes by running the
 * model once, prune, run the pruned model on the same inputs (it must load
 * and run), count MACs before and after, compare outputs, check the channel
 * rewrite against the masked original and sparse storage against the dense
 * pruned model, gate on cosine, and save with provenance.
 * Never prints; returns a structured outcome.
 */
import path from 'node:path';
import { assertWritable } from '../common/atomic-file.js';
import { MlctlError, UsageError } from '../common/errors.js';
import { sha256File } from '../common/hash.js';
import { loadExternalDataInline } from '../onnx/external-data.js';
import { loadModel, saveModel, serializeModel } from '../onnx/model-io.js';
import { withProvenance } from '../onnx/provenance.js';
import type { ModelProto } from '../onnx/types.js';
import { countMacs, densifySparseInitializers, maskPrunedChannels, pruneModel, type PruneOptions, type PruneReport } from '../passes/prune/index.js';
import { measureAgreement, type Agreement } from './prune-agreement.js';
import { runSamples, type SampleRun } from './prune-run.js';

/** What to do. */
export interface PruneJob {
  input: string;
  output: string;
  force?: boolean;
  /** Pass options; `valueShapes` is measured here. */
  options: Omit<PruneOptions, 'valueShapes'>;
  /** Run original and pruned model and compare (default true). Channel pruning always runs the original once. */
  verify?: boolean;
  /** Seeded input sets to compare on (default 2). */
  samples?: number;
  seed?: number;
  /** Input shapes for dynamic dimensions, by input name. */
  shapeOverrides?: Record<string, number[]>;
  /** Fail (MLCTL_CHECK_FAILED, exit 1) and write nothing when the lowest output cosine is below this. */
  minCosine?: number;
  /** For provenance: mlctl's version and the parameters as given. */
  toolVersion: string;
  parameters: Record<string, unknown>;
}

/** Whether sparse storage left every output exactly as the dense pruned model gives it. */
export interface SparseStorageCheck {
  identical: boolean;
  maxAbsError: number;
}

/**
 * Channels: the pruned model against the original with the removed channels
 * masked (their consumers' weights zeroed), which computes the same thing; a
 * cosine below 1 − 1e-5 means the rewrite itself is wrong.
 */
export interface RewriteCheck {
  worstCosine: number | null;
  maxAbsError: number;
}

/** What happened. */
export interface PruneOutcome {
  input: { path: string; sizeBytes: number };
  /** Absent when the gate failed. */
  output?: { path: string; sizeBytes: number };
  /** Serialized size of the pruned model. */
  prunedSizeBytes: number;
  report: PruneReport;
  /** MACs of Conv/ConvTranspose/Gemm/MatMul; `after` is null when the pruned model was not run. */
  macs: { before: number; after: number | null } | null;
  agreement: Agreement | null;
  sparseStorageCheck: SparseStorageCheck | null;
  rewriteCheck: RewriteCheck | null;
  verificationSkipped?: string;
  gate?: { minCosine: number; worstCosine: number | null; passed: boolean };
}

function runtimeError(error: unknown, what: string, hint: string): never {
  if (error instanceof MlctlError && (error.code === 'MLCTL_RUNTIME' || error.code === 'MLCTL_BAD_INPUT')) {
    throw new MlctlError(error.code, `${what}: ${error.message}`, { cause: error, hint: error.hint ?? hint });
  }
  throw error;
}

/**
 * Runs the job.
 * @throws UsageError (exit 2) when the output is the input; MLCTL_OUTPUT_EXISTS without `force`;
 *   the model layer's errors for a missing or malformed input (exit 3); MLCTL_RUNTIME (exit 4)
 *   when the original cannot run for channel pruning, or the pruned model does not load or run.
 */
export async function runPruneJob(job: PruneJob): Promise<PruneOutcome> {
  if (path.resolve(job.output) === path.resolve(job.input)) {
    throw new UsageError(`the output path '${job.output}' is the input model; prune never overwrites its input`, { hint: 'choose another -o path' });
  }
  await assertWritable(job.output, { force: job.force === true });
  const sourceSha256 = sha256File(job.input);
  sourceSha256.catch(() => undefined);
  const loaded = await loadModel(job.input);
  const model = await loadExternalDataInline(loaded);
  const verify = job.verify !== false;
  const channels = job.options.method === 'channels';
  const sampleOptions = {
    samples: verify ? job.samples ?? 2 : 1,
    seed: job.seed ?? 0,
    ...(job.shapeOverrides === undefined ? {} : { shapeOverrides: job.shapeOverrides }),
  };

  let reference: SampleRun | undefined;
  if (verify || channels) {
    const why = channels ? `channel pruning runs '${job.input}' once to learn its shapes, and it failed` : `'${job.input}' does not run in onnxruntime`;
    reference = await runSamples(model, { ...sampleOptions, measureShapes: true, label: job.input }).catch((error: unknown) => runtimeError(error, why, 'give dynamic input dimensions with --shape name=d1,d2,…'));
  }
  const result = pruneModel(model, { ...job.options, ...(reference === undefined ? {} : { valueShapes: reference.shapes }) });
  const sparse = result.report.tensors.some((tensor) => tensor.storage === 'sparse');

  const outcome: PruneOutcome = {
    input: { path: job.input, sizeBytes: loaded.sizeBytes },
    prunedSizeBytes: 0,
    report: result.report,
    macs: reference === undefined ? null : { before: countMacs(model.graph!, reference.shapes).total, after: null },
    agreement: null,
    sparseStorageCheck: null,
    rewriteCheck: null,
  };
  if (verify && reference !== undefined) {
    const pruned = await runSamples(result.model, { ...sampleOptions, measureShapes: true, label: `${job.output} (pruned)` })
      .catch((error: unknown) => runtimeError(error, 'the pruned model does not run in onnxruntime; this is a bug in mlctl prune', 'rerun with --debug and report it; --exclude the node it names to work around it'));
    outcome.macs = { before: outcome.macs!.before, after: countMacs(result.model.graph!, pruned.shapes).total };
    outcome.agreement = measureAgreement(reference.outputs, pruned.outputs);
    if (channels) {
      const masked = maskPrunedChannels(model, { ...job.options, valueShapes: reference.shapes });
      const maskedRun = await runSamples(masked, { ...sampleOptions, measureShapes: false, label: 'masked original' });
      const check = measureAgreement(maskedRun.outputs, pruned.outputs);
      outcome.rewriteCheck = { worstCosine: check.worstCosine, maxAbsError: check.maxAbsError };
    }
    if (sparse) {
      // The same graph with the pruned weights dense, both on one thread so that
      // summation order cannot differ: any difference would be the storage's.
      const exact = { ...sampleOptions, measureShapes: false, intraOpThreads: 1 };
      const denseRun = await runSamples(densifySparseInitializers(result.model), { ...exact, label: 'dense pruned model' });
      const sparseRun = await runSamples(result.model, { ...exact, label: `${job.output} (sparse)` });
      const maxAbsError = measureAgreement(denseRun.outputs, sparseRun.outputs).maxAbsError;
      outcome.sparseStorageCheck = { identical: maxAbsError === 0, maxAbsError };
    }
  } else if (!verify) {
    outcome.verificationSkipped = 'skipped with --no-verify';
  }

  const final: ModelProto = withProvenance(result.model, {
    toolVersion: job.toolVersion,
    command: 'prune',
    parameters: job.parameters,
    sourceSha256: await sourceSha256,
  });
  if (job.minCosine !== undefined) {
    const worst = outcome.agreement?.worstCosine ?? null;
    outcome.gate = { minCosine: job.minCosine, worstCosine: worst, passed: worst !== null && worst >= job.minCosine };
    if (!outcome.gate.passed) {
      outcome.prunedSizeBytes = serializeModel(final).length;
      return outcome;
    }
  }
  const saved = await saveModel(final, job.output, { force: job.force === true });
  outcome.prunedSizeBytes = saved.sizeBytes;
  outcome.output = { path: saved.path, sizeBytes: saved.sizeBytes };
  return outcome;
}
