/**
 * The service behind `mlctl quantize`: load, quantize, verify in
 * onnxruntime (falling back node by node), gate on output cosine, and save
 * with provenance. Never prints; returns a structured outcome.
 */
import path from 'node:path';
import { describeError, MlctlError } from '../common/errors.js';
import { encodeMessageChunks, MAX_PROTOBUF_BYTES } from '../onnx/codec.js';
import { isExternalTensor, loadExternalDataInline } from '../onnx/external-data.js';
import { saveModel, serializeModel, type LoadedModel } from '../onnx/model-io.js';
import { withProvenance } from '../onnx/provenance.js';
import { forEachTensorProto } from '../onnx/tensor-walk.js';
import type { ModelProto } from '../onnx/types.js';
import { convertOpset } from '../passes/convert/opset/index.js';
import {
  quantizeModel,
  type OpsetConverter,
  type QuantizeOptions,
  type QuantizeReport,
  type QuantizeResult,
  type QuantizedType,
  type WeightKernel,
} from '../passes/quantize/index.js';
import type { HostTensor } from '../runtime/types.js';
import type { ExternalTensorReader } from './external-reader.js';
import { checkQuantizeOutput, cosineGate, writtenModel, type CosineGate, type WrittenModel } from './job-common.js';
import { prepareModel, type PreparedModel } from './quantize-weights.js';
import { existingRuntimeInput } from './runtime-input.js';
import type { SpeedCheck } from './speed-check.js';
import type { FallbackNode, Verification, VerifyInputOptions } from './verify-model.js';

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
  /** Write the weights to a data file next to the output (`<output>.data`) even when one file would do. */
  externalData?: boolean;
  /**
   * The largest model written as one file, in bytes (default: protobuf's
   * 2 GiB limit less 1 MiB for metadata); a larger one keeps its weights in a
   * data file next to it. Tests lower it to exercise that path on small models.
   */
  inlineLimitBytes?: number;
  /** For provenance: mlctl's version and the parameters as given. */
  toolVersion: string;
  parameters: Record<string, unknown>;
}

/** What happened. */
export interface QuantizeOutcome {
  input: { path: string; sizeBytes: number };
  /** Absent on a dry run or when the gate failed. */
  output?: WrittenModel;
  /** Serialized size of the quantized model (what the output weighs without metadata changes). */
  quantizedSizeBytes: number;
  dryRun: boolean;
  report: QuantizeReport;
  /** Undefined with --no-verify, or when the original itself does not run (see `verificationSkipped`). */
  verification?: Verification;
  verificationSkipped?: string;
  /** Nodes put back in float because onnxruntime failed on their quantized form. */
  fallbacks: FallbackNode[];
  /** Weight types this onnxruntime's ConvInteger takes (probed only for dynamic mode with `convInteger`). */
  convIntegerWeightTypes?: QuantizedType[];
  gate?: CosineGate;
  /** With `checkSpeed`: latency of the quantized model against the original's, here. */
  speed?: SpeedCheck;
  /** Why the speed check could not run. */
  speedSkipped?: string;
  /** Milliseconds: `quantize` includes the opset conversion and the input's hash, `verify` the speed check. */
  timingsMs: { load: number; quantize: number; verify: number; save: number; total: number };
}

/** The convert pass's opset converter, in the shape the quantize pass takes. */
const convertOpsetForQuantize: OpsetConverter = (model, targetOpset) => convertOpset(model, targetOpset);

/** The default of {@link QuantizeJob.inlineLimitBytes}. */
const defaultInlineLimitBytes = MAX_PROTOBUF_BYTES - 2 ** 20;

function hasExternalTensors(model: ModelProto): boolean {
  let found = false;
  forEachTensorProto(model, (tensor) => {
    if (isExternalTensor(tensor)) found = true;
  });
  return found;
}

/** Bytes of tensor data `model` keeps in the input's external data files. */
function externalBytes(model: ModelProto, external: ExternalTensorReader | undefined): number {
  let bytes = 0;
  forEachTensorProto(model, (tensor) => {
    if (isExternalTensor(tensor)) bytes += external?.locate(tensor)?.lengthBytes ?? 0;
  });
  return bytes;
}

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

/** Serialized bytes of the quantized model for onnxruntime, with the input's leftover external data read in. */
async function runtimeBytes(model: ModelProto, loaded: LoadedModel): Promise<Uint8Array> {
  if (!hasExternalTensors(model)) return serializeModel(model);
  return serializeModel(await loadExternalDataInline({ ...loaded, model }));
}

/** The ConvInteger weight types to plan with: probed in onnxruntime only when dynamic mode may emit ConvInteger. */
async function convIntegerTypes(job: QuantizeJob): Promise<QuantizedType[] | undefined> {
  if ((job.options.mode ?? 'dynamic') !== 'dynamic' || job.options.convInteger !== true) return undefined;
  const { convIntegerWeightTypes } = await import('./capabilities.js');
  return convIntegerWeightTypes();
}

/** Verification, gate inputs and the speed check; see {@link check}. */
interface Checked {
  result: QuantizeResult;
  verification?: Verification;
  verificationSkipped?: string;
  fallbacks: FallbackNode[];
  speed?: SpeedCheck;
  speedSkipped?: string;
}

/**
 * Verifies `first` (re-running `quantize` with nodes forced to float when
 * onnxruntime fails on them) and times it with `checkSpeed`. The original
 * goes to onnxruntime as its path, so that it reads external data itself.
 */
async function check(job: QuantizeJob, prepared: PreparedModel, first: QuantizeResult, quantize: (forceFloat: readonly string[]) => QuantizeResult): Promise<Checked> {
  const checked: Checked = { result: first, fallbacks: [] };
  if (job.verify === false && job.checkSpeed !== true) {
    checked.verificationSkipped = 'skipped with --no-verify';
    return checked;
  }
  // onnxruntime cannot take a model over 2 GiB as bytes; the original it reads from its path, external data and all.
  if (serializedSize(first.model) + externalBytes(first.model, prepared.external) > MAX_PROTOBUF_BYTES) {
    const reason = 'the quantized model is over 2 GiB, and onnxruntime is handed models as bytes here';
    if (job.verify !== false) checked.verificationSkipped = reason;
    if (job.checkSpeed === true) checked.speedSkipped = reason;
    return checked;
  }
  const { quantizeWithFallback, runReference } = await import('./verify-model.js');
  const toRuntime = (model: ModelProto): Promise<Uint8Array> => runtimeBytes(model, prepared.loaded);
  let feeds: Record<string, HostTensor> | undefined;
  if (job.verify !== false) {
    const verified = await quantizeWithFallback(job.input, (forceFloat) => (forceFloat.length === 0 ? first : quantize(forceFloat)), job.verifyInputs, async (model) =>
      existingRuntimeInput(await toRuntime(model)));
    checked.result = verified.result;
    checked.fallbacks = verified.fallbacks;
    feeds = verified.feeds;
    if (verified.verification !== undefined) checked.verification = verified.verification;
    if (verified.referenceError !== undefined) checked.verificationSkipped = `the original model does not run in onnxruntime: ${verified.referenceError}`;
  } else {
    checked.verificationSkipped = 'skipped with --no-verify';
  }
  if (job.checkSpeed === true) {
    try {
      const { checkSpeed } = await import('./speed-check.js');
      feeds ??= (await runReference(job.input, job.verifyInputs)).feeds;
      checked.speed = await checkSpeed(job.input, await toRuntime(checked.result.model), feeds, {
        mode: job.options.mode ?? 'dynamic',
        reduceRange: job.options.reduceRange === true,
      });
    } catch (error) {
      checked.speedSkipped = `the models could not be timed: ${describeError(error)}`;
    }
  }
  return checked;
}

/**
 * Runs the job: load (weights quantized on worker threads for large models,
 * see quantize-weights.ts), quantize, verify in onnxruntime with node-by-node
 * fallback, gate on `minCosine`, save with provenance (external data when
 * the output would exceed `inlineLimitBytes`, or is asked for).
 * @throws UsageError (exit 2) for a missing or clashing output path; MLCTL_OUTPUT_EXISTS without `force`;
 *   the model layer's errors for a missing or malformed input (exit 3); MLCTL_BAD_INPUT for verification
 *   inputs that do not fit; MLCTL_RUNTIME when the quantized model fails in onnxruntime even with every node in float.
 */
export async function runQuantizeJob(job: QuantizeJob): Promise<QuantizeOutcome> {
  const started = performance.now();
  const output = await checkQuantizeOutput(job);

  const convTypes = await convIntegerTypes(job);
  const passOptions = (kernel: WeightKernel | undefined, forceFloat: readonly string[]): QuantizeOptions => ({
    ...job.options,
    convIntegerWeightTypes: convTypes ?? [],
    forceFloat,
    convertOpset: convertOpsetForQuantize,
    ...(kernel === undefined ? {} : { weightKernel: kernel }),
  });
  const prepared = await prepareModel(job.input, (model, kernel, readExternal) => quantizeModel(model, passOptions(kernel, []), readExternal), {
    hash: output !== undefined,
  });
  const { loaded, kernel } = prepared;
  const readExternal = prepared.external?.read;
  const quantize = (forceFloat: readonly string[]) => quantizeModel(loaded.model, passOptions(kernel, forceFloat), readExternal);
  const first = quantize([]);
  const quantizedAt = performance.now();

  const checked = await check(job, prepared, first, quantize);
  const { result } = checked;
  const verifiedAt = performance.now();

  const quantizedSizeBytes = serializedSize(result.model);
  const outcome: QuantizeOutcome = {
    input: { path: job.input, sizeBytes: loaded.sizeBytes },
    quantizedSizeBytes,
    dryRun: job.dryRun === true,
    report: result.report,
    fallbacks: checked.fallbacks,
    timingsMs: { load: prepared.loadMs, quantize: quantizedAt - started - prepared.loadMs, verify: verifiedAt - quantizedAt, save: 0, total: 0 },
  };
  if (convTypes !== undefined) outcome.convIntegerWeightTypes = convTypes;
  if (checked.verification !== undefined) outcome.verification = checked.verification;
  if (checked.verificationSkipped !== undefined) outcome.verificationSkipped = checked.verificationSkipped;
  if (checked.speed !== undefined) outcome.speed = checked.speed;
  if (checked.speedSkipped !== undefined) outcome.speedSkipped = checked.speedSkipped;
  if (job.minCosine !== undefined) {
    outcome.gate = cosineGate(job.minCosine, checked.verification?.worstCosine ?? null);
  }

  if (output !== undefined && outcome.gate?.passed !== false) {
    if (prepared.sourceSha256 === undefined) throw new Error('the input was not hashed for provenance');
    const model = withProvenance(result.model, {
      toolVersion: job.toolVersion,
      command: 'quantize',
      parameters: job.parameters,
      sourceSha256: prepared.sourceSha256,
    });
    // Over the limit, asked for, or still pointing at the input's data files: the weights go to a data file next to the output.
    const needsExternal = job.externalData === true || quantizedSizeBytes > (job.inlineLimitBytes ?? defaultInlineLimitBytes) || hasExternalTensors(model);
    const saved = await saveModel(model, output, {
      force: job.force === true,
      ...(needsExternal ? { externalData: { location: `${path.basename(output)}.data` }, ...(loaded.dir === undefined ? {} : { sourceDir: loaded.dir }) } : {}),
    });
    outcome.output = writtenModel(saved);
  }
  const savedAt = performance.now();
  outcome.timingsMs.save = savedAt - verifiedAt;
  outcome.timingsMs.total = savedAt - started;
  return outcome;
}
