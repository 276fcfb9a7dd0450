/**
 * The service behind `mlctl quantize`: load, quantize, verify in
 * onnxruntime (falling back node by node), gate on output cosine, and save
 * with provenance. Never prints; returns a structured outcome.
 */
import path from 'node:path';
import { stat } from 'node:fs/promises';
import { assertWritable } from '../common/atomic-file.js';
import { describeError, MlctlError, UsageError } from '../common/errors.js';
import { sha256File } from '../common/hash.js';
import { sameFile } from '../common/same-file.js';
import { encodeMessageChunks, MAX_PROTOBUF_BYTES } from '../onnx/codec.js';
import { isExternalTensor, loadExternalDataInline } from '../onnx/external-data.js';
import { loadModel, saveModel, serializeModel, type LoadedModel } from '../onnx/model-io.js';
import { withProvenance } from '../onnx/provenance.js';
import { forEachTensorProto } from '../onnx/tensor-walk.js';
import type { ModelProto } from '../onnx/types.js';
import { convertOpset } from '../passes/convert/opset/index.js';
import {
  quantizeModel,
  type OpsetConverter,
  type QuantizeOptions,
  type QuantizeReport,
  type QuantizedType,
  type WeightKernel,
} from '../passes/quantize/index.js';
import { convIntegerWeightTypes } from './capabilities.js';
import { externalDataReader } from './external-reader.js';
import { precomputeWeights, WeightKernelPool } from './kernel-pool.js';
import type { HostTensor } from '../runtime/types.js';
import { checkSpeed, type SpeedCheck } from './speed-check.js';
import { quantizeWithFallback, runReference, type FallbackNode, type Verification, type VerifyInputOptions } from './verify-model.js';

/** What to do. */
export interface QuantizeJob {
  input: string;
  /** Required unless `dryRun`. */
  output?: string;
  /** Plan and report only; write nothing. */
  dryRun?: boolean;
  /** Overwrite an existing output. */
  force?: boolean;
  /** Run original and quantized model in onnxruntime and compare (default true). */
  verify?: boolean;
  /** Fail (MLCTL_CHECK_FAILED, exit 1) and write nothing when the lowest output cosine is below this. */
  minCosine?: number;
  /** Time original and quantized model on this machine and advise (see speed-check.ts). */
  checkSpeed?: boolean;
  /** Pass options (the caller's; capability and converter fields are filled in here). */
  options: Omit<QuantizeOptions, 'convIntegerWeightTypes' | 'convertOpset' | 'forceFloat'>;
  verifyInputs?: VerifyInputOptions;
  /** For provenance: mlctl's version and the parameters as given. */
  toolVersion: string;
  parameters: Record<string, unknown>;
}

/** What happened. */
export interface QuantizeOutcome {
  input: { path: string; sizeBytes: number };
  /** Absent on a dry run or when the gate failed. */
  output?: { path: string; sizeBytes: number; externalData?: { path: string; sizeBytes: number } };
  /** Serialized size of the quantized model (what the output weighs without metadata changes). */
  quantizedSizeBytes: number;
  dryRun: boolean;
  report: QuantizeReport;
  /** Undefined with --no-verify, or when the original itself does not run (see `verificationSkipped`). */
  verification?: Verification;
  verificationSkipped?: string;
  /** Nodes put back in float because onnxruntime failed on their quantized form. */
  fallbacks: FallbackNode[];
  /** Weight types this onnxruntime's ConvInteger takes (probed). */
  convIntegerWeightTypes: QuantizedType[];
  gate?: { minCosine: number; worstCosine: number | null; passed: boolean };
  /** With `checkSpeed`: latency of the quantized model against the original's, here. */
  speed?: SpeedCheck;
  /** Why the speed check could not run. */
  speedSkipped?: string;
  timingsMs: { load: number; quantize: number; verify: number; save: number; total: number };
}

/** The convert pass's opset converter, in the shape the quantize pass takes. */
const convertOpsetForQuantize: OpsetConverter = (model, targetOpset) => convertOpset(model, targetOpset);

/**
 * Bytes the model serializes to, without building the bytes; over protobuf's
 * 2 GiB limit, the tensor bytes alone (a lower bound, enough to choose external data).
 */
function serializedSize(model: ModelProto): number {
  try {
    return encodeMessageChunks('ModelProto', model).byteLength;
  } catch (error) {
    if (!(error instanceof MlctlError) || error.code !== 'MLCTL_TOO_LARGE') throw error;
    let bytes = 0;
    forEachTensorProto(model, (tensor) => {
      bytes += tensor.rawData?.length ?? 0;
    });
    return Math.max(bytes, MAX_PROTOBUF_BYTES + 1);
  }
}

function hasExternalTensors(model: ModelProto): boolean {
  let found = false;
  forEachTensorProto(model, (tensor) => {
    if (isExternalTensor(tensor)) found = true;
  });
  return found;
}

/** Serialized bytes of `model` for onnxruntime, with any external data read in (onnxruntime gets bytes, not a folder). */
async function runtimeBytes(model: ModelProto, loaded: LoadedModel): Promise<Uint8Array> {
  if (!hasExternalTensors(model)) return serializeModel(model);
  return serializeModel(await loadExternalDataInline({ ...loaded, model }));
}

/** Models from this size on are quantized on worker threads. */
const parallelFromBytes = 16 * 2 ** 20;

async function isLarge(file: string): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return info !== undefined && info.isFile() && info.size >= parallelFromBytes && info.size <= MAX_PROTOBUF_BYTES;
}


async function checkPaths(job: QuantizeJob): Promise<string | undefined> {
  if (job.dryRun === true) return undefined;
  if (job.output === undefined || job.output === '') throw new UsageError('quantize needs an output path: pass -o <out.onnx>, or --dry-run to only see the plan');
  if (await sameFile(job.output, job.input)) {
    throw new UsageError(`the output path '${job.output}' is the input model; quantize never overwrites its input`, { hint: 'choose another -o path' });
  }
  return job.output;
}

/**
 * Runs the job.
 * @throws UsageError (exit 2) for a missing or clashing output path; MLCTL_OUTPUT_EXISTS without `force`;
 *   the model layer's errors for a missing or malformed input (exit 3); MLCTL_RUNTIME when the
 *   quantized model fails in onnxruntime even with every node in float.
 */
export async function runQuantizeJob(job: QuantizeJob): Promise<QuantizeOutcome> {
  const started = performance.now();
  const output = await checkPaths(job);
  if (output !== undefined) await assertWritable(output, { force: job.force === true });

  // The provenance hash streams the input while the rest runs; nothing waits for it until the save.
  const sourceSha256 = output === undefined ? undefined : sha256File(job.input);
  sourceSha256?.catch(() => undefined);
  // Workers start now, so that their start-up overlaps reading the file.
  const pool = (await isLarge(job.input)) ? WeightKernelPool.create() : undefined;
  let loaded: LoadedModel;
  try {
    loaded = pool === undefined ? await loadModel(job.input) : await loadModel(job.input, { sharedMemory: true });
  } catch (error) {
    await pool?.close();
    throw error;
  }
  const loadedAt = performance.now();
  const [convTypes, readExternal] = await Promise.all([convIntegerWeightTypes(), externalDataReader(loaded.model, loaded.dir)]);
  const passOptions = (kernel: WeightKernel | undefined, forceFloat: readonly string[]): QuantizeOptions => ({
    ...job.options,
    convIntegerWeightTypes: convTypes,
    forceFloat,
    convertOpset: convertOpsetForQuantize,
    ...(kernel === undefined ? {} : { weightKernel: kernel }),
  });
  let kernel: WeightKernel | undefined;
  if (pool !== undefined) {
    try {
      kernel = await precomputeWeights(pool, (collecting) => quantizeModel(loaded.model, passOptions(collecting, []), readExternal));
    } finally {
      await pool.close();
    }
  }
  const quantize = (forceFloat: readonly string[]) => quantizeModel(loaded.model, passOptions(kernel, forceFloat), readExternal);

  let result = quantize([]);
  const quantizedAt = performance.now();
  let verification: Verification | undefined;
  let verificationSkipped: string | undefined;
  let fallbacks: FallbackNode[] = [];
  let feeds: Record<string, HostTensor> | undefined;
  const originalBytes = job.verify !== false || job.checkSpeed === true ? await runtimeBytes(loaded.model, loaded) : undefined;
  if (job.verify !== false && originalBytes !== undefined) {
    const verified = await quantizeWithFallback(originalBytes, (forceFloat) => (forceFloat.length === 0 ? result : quantize(forceFloat)), job.verifyInputs, (model) => runtimeBytes(model, loaded));
    result = verified.result;
    verification = verified.verification;
    fallbacks = verified.fallbacks;
    feeds = verified.feeds;
    if (verified.referenceError !== undefined) verificationSkipped = `the original model does not run in onnxruntime: ${verified.referenceError}`;
  } else {
    verificationSkipped = 'skipped with --no-verify';
  }
  let speed: SpeedCheck | undefined;
  let speedSkipped: string | undefined;
  if (job.checkSpeed === true && originalBytes !== undefined) {
    try {
      feeds ??= (await runReference(originalBytes, job.verifyInputs)).feeds;
      speed = await checkSpeed(originalBytes, await runtimeBytes(result.model, loaded), feeds, {
        mode: job.options.mode ?? 'dynamic',
        reduceRange: job.options.reduceRange === true,
      });
    } catch (error) {
      speedSkipped = `the models could not be timed: ${describeError(error)}`;
    }
  }
  const verifiedAt = performance.now();

  const quantizedSizeBytes = serializedSize(result.model);
  const outcome: QuantizeOutcome = {
    input: { path: job.input, sizeBytes: loaded.sizeBytes },
    quantizedSizeBytes,
    dryRun: job.dryRun === true,
    report: result.report,
    fallbacks,
    convIntegerWeightTypes: convTypes,
    timingsMs: { load: loadedAt - started, quantize: quantizedAt - loadedAt, verify: verifiedAt - quantizedAt, save: 0, total: 0 },
  };
  if (verification !== undefined) outcome.verification = verification;
  if (verificationSkipped !== undefined) outcome.verificationSkipped = verificationSkipped;
  if (speed !== undefined) outcome.speed = speed;
  if (speedSkipped !== undefined) outcome.speedSkipped = speedSkipped;
  if (job.minCosine !== undefined) {
    const worst = verification?.worstCosine ?? null;
    outcome.gate = { minCosine: job.minCosine, worstCosine: worst, passed: worst !== null && worst >= job.minCosine };
  }

  if (output !== undefined && outcome.gate?.passed !== false) {
    const model = withProvenance(result.model, {
      toolVersion: job.toolVersion,
      command: 'quantize',
      parameters: job.parameters,
      sourceSha256: await (sourceSha256 as Promise<string>),
    });
    // Over 2 GiB, or still pointing at the input's data files: write the weights to a data file next to the output.
    const needsExternal = quantizedSizeBytes > MAX_PROTOBUF_BYTES - (1 << 20) || hasExternalTensors(model);
    const saved = await saveModel(model, output, {
      force: job.force === true,
      ...(needsExternal ? { externalData: { location: `${path.basename(output)}.data` }, ...(loaded.dir === undefined ? {} : { sourceDir: loaded.dir }) } : {}),
    });
    outcome.output = { path: saved.path, sizeBytes: saved.sizeBytes };
    if (saved.externalData !== undefined) outcome.output.externalData = { path: saved.externalData.path, sizeBytes: saved.externalData.sizeBytes };
  }
  const savedAt = performance.now();
  outcome.timingsMs.save = savedAt - verifiedAt;
  outcome.timingsMs.total = savedAt - started;
  return outcome;
}
