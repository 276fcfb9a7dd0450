/**
 * The service behind `mlctl convert`'s --shape, --simplify, --fp16,
 * --optimize and --check: applies the steps to a model in a fixed order,
 * checks the result against the input model in ONNX Runtime, and saves it
 * with the asked-for data layout. Never prints; returns a structured outcome.
 *
 * Order: shapes first (static shapes let simplify fold Shape arithmetic),
 * then simplify (BatchNormalization folding and constant folding in
 * float32), then float16, then ONNX Runtime's own optimization (whose
 * operators the other steps do not know), then the check.
 */
import { describeError, MlctlError } from '../common/errors.js';
import { encodeMessageChunks } from '../onnx/codec.js';
import { isExternalTensor, loadExternalDataInline } from '../onnx/external-data.js';
import { saveModel, serializeModel, type LoadedModel, type SaveResult } from '../onnx/model-io.js';
import { forEachTensorProto } from '../onnx/tensor-walk.js';
import type { ModelProto } from '../onnx/types.js';
import { convertToFloat16, type Fp16Options, type Fp16Report } from '../passes/convert/fp16/index.js';
import { decideDataLayout, type DataLayout, type DataLayoutRequest } from '../passes/convert/io/index.js';
import { setInputShapes, type SetShapesReport } from '../passes/convert/shapes/index.js';
import { simplifyModel, type SimplifyReport, type SimplifyStep } from '../passes/convert/simplify/index.js';
import { compareModels, DEFAULT_CHECK_TOLERANCE, type ModelComparison } from './compare-models.js';
import { optimizeWithRuntime, type OptimizeLevel, type OptimizeReport } from './optimize.js';
import { ortConstantEvaluator } from './ort-evaluator.js';
import { createSession } from '../runtime/onnxruntime.js';

/** The steps to apply; every field is optional and absent means "not asked for". */
export interface ConvertSteps {
  /** `--shape`: full dims by input name. */
  shapes?: Record<string, number[]>;
  /** `--simplify`, with rewrites to leave out and the folding growth limit. */
  simplify?: { skip?: readonly SimplifyStep[]; foldGrowthLimitBytes?: number };
  /** `--fp16` and its options. */
  fp16?: Fp16Options;
  /** `--optimize`. */
  optimize?: OptimizeLevel;
  /** `--check N`: compare with the input model on N random input sets. */
  check?: number;
  /**
   * Compare a float16 result with the input model (default true; one input
   * set unless `check` says more); without a comparison, at least load the
   * result of --shape/--simplify in onnxruntime. false skips both.
   */
  verify?: boolean;
  /** Fail when the lowest output cosine is below this. */
  minCosine?: number;
  /** Seed of the random check inputs (default 0). */
  seed?: number;
  /** A folder of real inputs for the check's first input set (`--inputs`). */
  inputsDir?: string;
}

/** What the steps start from. */
export interface ConvertStepsInput {
  /** The input model as loaded: the reference of the check, and the folder of its external data. */
  loaded: LoadedModel;
  /** The model to work on (the loaded one, or the result of earlier steps such as opset conversion). */
  model: ModelProto;
}

/** What happened. */
export interface ConvertStepsOutcome {
  model: ModelProto;
  shapes?: SetShapesReport;
  simplify?: SimplifyReport;
  fp16?: Fp16Report;
  optimize?: OptimizeReport;
  /** The comparison with the input model, when one was asked for (or implied by --fp16). */
  check?: ModelComparison;
  /** Why a comparison that was asked for could not be made. */
  checkSkipped?: string;
  /** Set when the result must not be written: a failed --check or --min-cosine. */
  failure?: MlctlError;
  /** Warnings for stderr (e.g. --optimize's runtime-only operators). */
  warnings: string[];
  timingsMs: Record<string, number>;
}

/** Whether any of the steps is asked for. */
export function hasConvertSteps(steps: ConvertSteps): boolean {
  return steps.shapes !== undefined || steps.simplify !== undefined || steps.fp16 !== undefined || steps.optimize !== undefined || (steps.check ?? 0) > 0;
}

function hasExternalTensors(model: ModelProto): boolean {
  let found = false;
  forEachTensorProto(model, (tensor) => {
    if (isExternalTensor(tensor)) found = true;
  });
  return found;
}

/** The model with its external data read in (unchanged when it has none). */
async function inline(model: ModelProto, loaded: LoadedModel): Promise<ModelProto> {
  return hasExternalTensors(model) ? loadExternalDataInline({ ...loaded, model }) : model;
}

function checkRuns(steps: ConvertSteps): number {
  if (steps.check !== undefined) return steps.check;
  return steps.fp16 !== undefined && steps.verify !== false ? 1 : 0;
}

/** A cosine with enough digits to tell it from 1 (0.99999995, not 1.000000). */
function formatCosine(value: number): string {
  const digits = Math.min(12, Math.max(6, Math.ceil(-Math.log10(Math.max(1e-12, Math.abs(1 - value)))) + 2));
  return value.toFixed(digits);
}

function describeFailures(comparison: ModelComparison): string {
  return comparison.outputs
    .filter((output) => (output.elementsOutsideTolerance ?? 0) > 0)
    .map((output) => `'${output.name}' (${output.elementsOutsideTolerance} elements, largest error ${output.maxAbsError.toExponential(2)})`)
    .join(', ');
}

/**
 * Applies the steps.
 * @throws MlctlError from the passes (MLCTL_BAD_INPUT for a --shape that does
 *   not fit, MLCTL_UNSUPPORTED, MLCTL_TOO_LARGE when external data cannot be
 *   read in) and MLCTL_RUNTIME when the result does not load or run in ONNX Runtime.
 */
export async function runConvertSteps(input: ConvertStepsInput, steps: ConvertSteps): Promise<ConvertStepsOutcome> {
  const timingsMs: Record<string, number> = {};
  const timed = async <T>(name: string, task: () => Promise<T> | T): Promise<T> => {
    const started = performance.now();
    try {
      return await task();
    } finally {
      timingsMs[name] = performance.now() - started;
    }
  };
  const runs = checkRuns(steps);
  const needsData = steps.simplify !== undefined || steps.fp16 !== undefined || steps.optimize !== undefined || runs > 0;
  let model = needsData ? await timed('readExternalData', () => inline(input.model, input.loaded)) : input.model;
  const outcome: ConvertStepsOutcome = { model, warnings: [], timingsMs };

  if (steps.shapes !== undefined) {
    const result = await timed('shapes', () => setInputShapes(model, steps.shapes!));
    model = result.model;
    outcome.shapes = result.report;
  }
  if (steps.simplify !== undefined) {
    const result = await timed('simplify', () => simplifyModel(model, { evaluate: ortConstantEvaluator(), ...steps.simplify }));
    model = result.model;
    outcome.simplify = result.report;
  }
  if (steps.fp16 !== undefined) {
    const result = await timed('fp16', () => convertToFloat16(model, steps.fp16));
    model = result.model;
    outcome.fp16 = result.report;
  }
  if (steps.optimize !== undefined) {
    const before = model;
    const result = await timed('optimize', () => optimizeWithRuntime(serializeModel(before), before, steps.optimize!));
    model = result.model;
    outcome.optimize = result.report;
    outcome.warnings.push(...result.report.warnings);
  }
  outcome.model = model;

  if (runs > 0) {
    if (outcome.shapes !== undefined && outcome.shapes.changedFixedDims.length > 0) {
      outcome.checkSkipped = 'the input dims the model fixed were changed with --shape, so the original model cannot run on the same inputs';
    } else {
      const original = await inline(input.loaded.model, input.loaded);
      const compared = await timed('check', () => compareModels(serializeModel(original), serializeModel(model), {
        runs,
        seed: steps.seed ?? 0,
        ...(steps.fp16 === undefined ? { tolerance: DEFAULT_CHECK_TOLERANCE } : {}),
        ...(steps.shapes === undefined ? {} : { shapeOverrides: steps.shapes }),
        ...(steps.inputsDir === undefined ? {} : { inputsDir: steps.inputsDir }),
      }));
      if (compared.skipped !== undefined) outcome.checkSkipped = compared.skipped;
      else outcome.check = compared.comparison;
    }
    if (outcome.checkSkipped !== undefined) outcome.warnings.push(`the outputs were not compared with the original: ${outcome.checkSkipped}`);
  }

  if (runs === 0 && steps.verify !== false && (steps.shapes !== undefined || steps.simplify !== undefined) && !hasExternalTensors(model)) {
    const error = await timed('load', () => loadError(serializeModel(model)));
    if (error !== undefined) {
      const originalError = hasExternalTensors(input.loaded.model) ? undefined : await loadError(serializeModel(input.loaded.model));
      if (originalError === undefined) {
        outcome.failure = new MlctlError('MLCTL_CHECK_FAILED', `onnxruntime cannot load the converted model, though it loads the original: ${error}; nothing was written`, {
          hint: 'onnxruntime checks every If branch against fixed shapes when it loads a model: keep the dims such a branch cannot take dynamic, leave out --simplify, or pass --no-verify to write it anyway',
        });
      } else {
        outcome.warnings.push(`onnxruntime cannot load the converted model, nor the original: ${error}`);
      }
    }
  }

  const check = outcome.check;
  if (outcome.failure !== undefined) return outcome;
  if (check !== undefined && !check.passed) {
    const tolerance = check.tolerance ?? DEFAULT_CHECK_TOLERANCE;
    outcome.failure = new MlctlError('MLCTL_CHECK_FAILED', `the converted model's outputs differ from the original's beyond rtol ${tolerance.rtol}, atol ${tolerance.atol}: ${describeFailures(check)}; nothing was written`, {
      hint: 'leave out the step that changed them (see the report), or rerun with --simplify-skip fold-constants,fuse-conv-bn to narrow it down',
    });
  } else if (steps.minCosine !== undefined) {
    const worst = check?.worstCosine ?? null;
    if (worst === null || worst < steps.minCosine) {
      outcome.failure = new MlctlError('MLCTL_CHECK_FAILED', worst === null
        ? `--min-cosine ${steps.minCosine} could not be checked (${outcome.checkSkipped ?? 'no float outputs'}); nothing was written`
        : `the lowest output cosine ${formatCosine(worst)} is below --min-cosine ${steps.minCosine}; nothing was written`, {
        hint: steps.fp16 !== undefined ? 'keep sensitive operators in float32 with --op-block-list or --node-block-list' : undefined,
      });
    }
  }
  return outcome;
}

/** Serialized size of a model with all of its external data inline. */
function inlineSize(model: ModelProto): number {
  let external = 0;
  forEachTensorProto(model, (tensor) => {
    if (!isExternalTensor(tensor)) return;
    const length = tensor.externalData.find((entry) => entry.key === 'length')?.value;
    if (length !== undefined && /^[0-9]+$/.test(length)) external += Number(length);
  });
  return encodeMessageChunks('ModelProto', model).byteLength + external;
}

/** What {@link saveConverted} wrote. */
export interface SavedConversion {
  saved: SaveResult;
  layout: DataLayout;
}

/**
 * Saves a converted model atomically with the data layout asked for
 * (see data-layout.ts): external data next to the output, or everything
 * inline. Tensors still in the input's data files are read from `loaded.dir`.
 * @throws MlctlError MLCTL_TOO_LARGE for --inline-data over 2 GiB; MLCTL_OUTPUT_EXISTS without `force`;
 *   the model layer's errors.
 */
export async function saveConverted(
  model: ModelProto,
  output: string,
  options: { loaded: LoadedModel; data?: DataLayoutRequest; force?: boolean },
): Promise<SavedConversion> {
  const layout = decideDataLayout(options.data ?? { mode: 'keep' }, {
    inputHadExternalData: hasExternalTensors(options.loaded.model),
    inlineSizeBytes: inlineSize(model),
  }, output);
  const force = options.force === true;
  if (layout.mode === 'inline') {
    const inlined = await inline(model, options.loaded);
    return { saved: await saveModel(inlined, output, { force }), layout };
  }
  const saved = await saveModel(model, output, {
    force,
    externalData: { location: layout.location, thresholdBytes: layout.thresholdBytes },
    ...(options.loaded.dir === undefined ? {} : { sourceDir: options.loaded.dir }),
  });
  return { saved, layout };
}

/** Why onnxruntime cannot load the model (the first line of its message), or undefined when it loads. */
async function loadError(bytes: Uint8Array): Promise<string | undefined> {
  try {
    const session = await createSession(bytes, { label: 'the converted model', logLevel: 'fatal' });
    await session.release();
    return undefined;
  } catch (error) {
    return describeError(error).split('\n')[0];
  }
}
