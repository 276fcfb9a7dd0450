/**
 * The service behind `mlctl quantize --mode static`: load, prepare (opset 13,
 * BatchNormalization folded, ...), calibrate activation ranges on the
 * calibration samples, write the QDQ model, optionally search for the nodes
 * to keep in float until an accuracy target is met, verify against the float
 * model (putting nodes whose quantized form onnxruntime fails on back in
 * float, see static-fallback.ts), measure the per-tensor debug report, and
 * save with provenance. The model is held in memory, weights and all, even
 * over protobuf's 2 GiB (bounded up front, see static-memory.ts); onnxruntime
 * gets the original from its file and the other models as bytes, or over
 * 2 GiB as temporary files (runtime-input.ts).
 * Never prints; returns a structured outcome.
 */
import os from 'node:os';
import { MlctlError, UsageError } from '../../common/errors.js';
import { sha256File } from '../../common/hash.js';
import { MAX_PROTOBUF_BYTES } from '../../onnx/codec.js';
import { loadExternalDataInline } from '../../onnx/external-data.js';
import { loadModel, saveModel, serializedModelSize } from '../../onnx/model-io.js';
import { withProvenance } from '../../onnx/provenance.js';
import type { GraphProto } from '../../onnx/types.js';
import { convertOpset } from '../../passes/convert/opset/index.js';
import { defaultWeightKernel, type KernelResult, type WeightKernel } from '../../passes/quantize/index.js';
import {
  calibrationTensors,
  prepareForStatic,
  quantizeStatic,
  type PrepareReport,
  type StaticQuantizeOptions,
  type StaticQuantizeReport,
  type StaticQuantizeResult,
} from '../../passes/quantize/static/index.js';
import { readInputDir } from '../../runtime/input-files.js';
import { createSession } from '../../runtime/onnxruntime.js';
import type { IoMeta } from '../../runtime/types.js';
import { evaluateCandidate, runAll, type AccuracyMetrics, type AccuracyTarget, type ReferenceSet } from './accuracy.js';
import { collectRanges } from './collect-ranges.js';
import type { CalibrationSettings } from './range-collectors.js';
import { randomSamples, samplesFromDir, samplesFromFeeds, type Feeds, type SampleSource } from './samples.js';
import { selectFloatNodes, type RankingMethod, type SelectionResult } from './selection.js';
import { checkQuantizeOutput, cosineGate, writtenModel, type CosineGate, type WrittenModel } from '../job-common.js';
import { withRuntimeInput } from '../runtime-input.js';
import type { FallbackNode } from '../verify-model.js';
import { activationSqnr, type TensorSqnr } from './sqnr-report.js';
import { checkStaticMemory, estimateStaticMemory } from './static-memory.js';
import { staticFloatFallback, withFallbackReasons, type StaticFallbackResult } from './static-fallback.js';

/** Where the calibration samples come from. */
export interface CalibrationInput {
  /** A folder of samples (see samples.ts). */
  dir?: string;
  /** This many seeded random samples instead. */
  random?: number;
  /** Use at most this many samples. */
  limit?: number;
  /** Seed of random samples (default 0). */
  seed?: number;
  /** Shapes of random samples' inputs with dynamic dims. */
  shapeOverrides?: Record<string, readonly number[]>;
}

/** What to do. */
export interface StaticQuantizeJob {
  input: string;
  /** Required unless `dryRun`. */
  output?: string;
  dryRun?: boolean;
  force?: boolean;
  calibration: CalibrationInput;
  settings: CalibrationSettings;
  options: Omit<StaticQuantizeOptions, 'forceFloat' | 'weightKernel'>;
  /** Keep the most harmful nodes in float until this is met. */
  target?: AccuracyTarget;
  /** How the search measures each node's sensitivity (see selection.ts). */
  ranking?: RankingMethod;
  /** A folder with one file per model input: the sample verification and the search use instead of calibration samples. */
  inputsDir?: string;
  /** Compare with the float model (default true). */
  verify?: boolean;
  /** Fail (MLCTL_CHECK_FAILED, exit 1) and write nothing when the worst output cosine is below this. */
  minCosine?: number;
  /** Measure the per-tensor SQNR report. */
  debugReport?: boolean;
  /** Bytes of exposed tensors one calibration run may hold. */
  budgetBytes?: number;
  /** Memory the machine has, in bytes, for the up-front bound of static-memory.ts (default `os.totalmem()`). */
  totalMemoryBytes?: number;
  /** For provenance. */
  toolVersion: string;
  parameters: Record<string, unknown>;
  /** Progress messages (e.g. for a spinner). */
  onProgress?: (message: string) => void;
}

/** What happened. */
export interface StaticQuantizeOutcome {
  input: { path: string; sizeBytes: number };
  output?: WrittenModel;
  quantizedSizeBytes: number;
  dryRun: boolean;
  prepare: PrepareReport;
  calibration: {
    method: CalibrationSettings['method'];
    movingAverage: boolean;
    source: string;
    random: boolean;
    samples: number;
    passes: number;
    /** Tensors measured, and those that got a range. */
    tensors: number;
    ranged: number;
    skipped: { tensor: string; reason: string }[];
    runs: number;
    largestRunTensors: number;
    largestRunBytes: number;
  };
  report: StaticQuantizeReport;
  /**
   * Nodes left in float because onnxruntime failed to load or run their
   * quantized form (empty when the model was not run: no verification, search or debug report).
   */
  fallbacks: FallbackNode[];
  selection?: SelectionResult;
  /** Undefined with verify: false and no target. */
  verification?: { samples: number; source: string; metrics: AccuracyMetrics };
  debug?: TensorSqnr[];
  gate?: CosineGate;
  warnings: string[];
  /**
   * `reference`: running the float model on the samples verification and the search use;
   * `verify`: running the quantized model on them (the fallback included) and the debug report.
   */
  timingsMs: { load: number; calibrate: number; quantize: number; reference: number; select: number; verify: number; save: number; total: number };
}

/** The warning random calibration data earns (the CLI prints it before calibrating). */
export function randomCalibrationWarning(count: number): string {
  return `calibrating on ${count} random sample${count === 1 ? '' : 's'}: ranges measured on noise are not those of real inputs, so accuracy on real data can be much worse than reported here; pass --calibration <dir> with real samples`;
}

/** Samples the search and verification use when no `--inputs` folder is given. */
const EVALUATION_SAMPLES = 8;

async function sampleSource(job: StaticQuantizeJob, inputs: readonly IoMeta[], warnings: string[]): Promise<SampleSource> {
  const { dir, random, limit } = job.calibration;
  if (dir !== undefined && random !== undefined) throw new UsageError('--calibration and --calibration-random both say where samples come from; give one of them');
  if (dir !== undefined) return samplesFromDir(dir, inputs, limit);
  if (random !== undefined) {
    if (random < 1) throw new UsageError(`--calibration-random ${random} asks for no samples; give 1 or more`);
    warnings.push(randomCalibrationWarning(random));
    return randomSamples(limit === undefined ? random : Math.min(random, limit), inputs, {
      seed: job.calibration.seed ?? 0,
      ...(job.calibration.shapeOverrides === undefined ? {} : { shapeOverrides: job.calibration.shapeOverrides }),
    });
  }
  throw new UsageError('--mode static needs calibration data: pass --calibration <dir> (real input samples) or --calibration-random N', {
    hint: 'a folder with one .pb/.npy/.json file per sample, or one sub-folder per sample for models with several inputs',
  });
}

/** Caches quantized weights across the many builds of the search. */
function cachingKernel(): WeightKernel {
  const cache = new Map<string, KernelResult>();
  return (request) => {
    const key = `${request.key}|${request.options.type}|${request.options.axis ?? 'tensor'}|${request.options.symmetric}|${request.options.reduceRange}`;
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const result = defaultWeightKernel(request);
    cache.set(key, result);
    return result;
  };
}

/**
 * Runs the job.
 * @throws UsageError (exit 2) for missing calibration data or output path; MLCTL_OUTPUT_EXISTS;
 *   the model layer's errors and MLCTL_BAD_INPUT for bad inputs or samples (exit 3); MLCTL_UNSUPPORTED
 *   when the opset cannot be raised to 13; MLCTL_TOO_LARGE (exit 3) before reading any weight when the model
 *   cannot fit in memory (see static-memory.ts); MLCTL_RUNTIME when onnxruntime cannot run a model (exit 4).
 */
export async function runStaticQuantizeJob(job: StaticQuantizeJob): Promise<StaticQuantizeOutcome> {
  const started = performance.now();
  const progress = job.onProgress ?? (() => undefined);
  const output = await checkQuantizeOutput(job);
  const sourceSha256 = output === undefined ? undefined : sha256File(job.input);
  sourceSha256?.catch(() => undefined);
  const warnings: string[] = [];

  const loaded = await loadModel(job.input);
  // Static mode holds the whole model in memory, over protobuf's 2 GiB too; refused before a weight is read when it cannot fit.
  checkStaticMemory(job.input, await estimateStaticMemory(loaded, { debugReport: job.debugReport === true }), job.totalMemoryBytes ?? os.totalmem());
  const original = await loadExternalDataInline(loaded, { allowOverProtobufLimit: true });
  const prepared = prepareForStatic(original, { convertOpset: (model, target) => convertOpset(model, target) });
  if (prepared.report.opsetConversionError !== undefined) {
    throw new MlctlError('MLCTL_UNSUPPORTED', `cannot quantize '${job.input}' statically: ${prepared.report.opsetConversionError}`);
  }
  // onnxruntime reads the original, unchanged, from its file (and its external data beside it): no serialized copy.
  const inputs = await modelInputs(job.input);
  const source = await sampleSource(job, inputs, warnings);
  const loadedAt = performance.now();

  progress(`calibrating on ${source.description}`);
  const graph = prepared.model.graph as GraphProto;
  const tensors = calibrationTensors(graph, job.options.exclude ?? []);
  const calibration = await collectRanges(prepared.model, tensors, source, {
    ...job.settings,
    ...(job.budgetBytes === undefined ? {} : { budgetBytes: job.budgetBytes }),
    onSample: (pass, index) => progress(`calibrating: pass ${pass + 1}, sample ${index + 1}/${source.count}`),
  });
  const calibratedAt = performance.now();

  const kernel = cachingKernel();
  const quantize = (forceFloat: readonly string[]): StaticQuantizeResult =>
    quantizeStatic(prepared.model, calibration.ranges, { ...job.options, forceFloat, weightKernel: kernel });
  let result: StaticQuantizeResult = quantize([]);
  const quantizedAt = performance.now();

  let reference: { set: ReferenceSet; source: string } | undefined;
  const needReference = job.target !== undefined || job.verify !== false || job.debugReport === true;
  if (needReference) reference = await referenceSet(job, inputs, source);
  const referencedAt = performance.now();

  // Wherever the quantized model is run (verification, search, debug report), it must load and run first:
  // the fallback puts the nodes onnxruntime fails on back in float, before the search and after it.
  let fallbacks: FallbackNode[] = [];
  let metrics: AccuracyMetrics | undefined;
  let selection: SelectionResult | undefined;
  let fallbackMs = 0;
  if (reference !== undefined) {
    const measure = measuringOnce(reference.set, quantize);
    const fallBack = async (alreadyFloat: readonly string[]): Promise<StaticFallbackResult> => {
      const before = performance.now();
      progress('checking that onnxruntime runs the quantized model');
      const settled = await staticFloatFallback(quantize, alreadyFloat, measure);
      fallbackMs += performance.now() - before;
      fallbacks = [...fallbacks, ...settled.fallbacks];
      return settled;
    };
    let settled = await fallBack([]);
    if (job.target !== undefined) {
      const forced = settled.forceFloat;
      const candidates = settled.result.report.nodes.filter((n) => n.action === 'quantized' && n.ownsError).map((n) => ({ node: n.key, opType: n.opType }));
      selection = await selectFloatNodes(candidates, job.target, (forceFloat) => measure([...forced, ...forceFloat]), {
        onEvaluation: (done, planned) => progress(`searching for sensitive nodes: model ${done} of about ${planned}`),
        ...(job.ranking === undefined ? {} : { ranking: job.ranking }),
      });
      if (selection.keptFloat.length > 0) settled = await fallBack([...forced, ...selection.keptFloat]);
      if (!selection.met) warnings.push('the accuracy target is not met even with every candidate node in float');
    }
    result = settled.result;
    metrics = settled.metrics;
  }
  const selectedAt = performance.now();

  let verification: StaticQuantizeOutcome['verification'];
  if (reference !== undefined && metrics !== undefined && (job.verify !== false || job.target !== undefined)) {
    verification = { samples: reference.set.feeds.length, source: reference.source, metrics };
  }
  let debug: TensorSqnr[] | undefined;
  if (job.debugReport === true && reference !== undefined) {
    progress('measuring per-tensor SQNR');
    debug = await activationSqnr(prepared.model, result.model, result.report.activations, samplesFromFeeds(reference.set.feeds, reference.source), {
      ...(job.budgetBytes === undefined ? {} : { budgetBytes: job.budgetBytes }),
    });
  }
  const verifiedAt = performance.now();

  const quantizedSizeBytes = serializedModelSize(result.model);
  const outcome: StaticQuantizeOutcome = {
    input: { path: job.input, sizeBytes: loaded.sizeBytes },
    quantizedSizeBytes,
    dryRun: job.dryRun === true,
    prepare: prepared.report,
    calibration: {
      method: job.settings.method,
      movingAverage: job.settings.movingAverage === true,
      source: source.description,
      random: source.random,
      samples: calibration.samples,
      passes: calibration.passes,
      tensors: tensors.length,
      ranged: calibration.ranges.size,
      skipped: calibration.skipped,
      runs: calibration.stats.runs,
      largestRunTensors: calibration.stats.largestGroupTensors,
      largestRunBytes: calibration.stats.largestGroupBytes,
    },
    report: withFallbackReasons(result.report, fallbacks),
    fallbacks,
    warnings,
    timingsMs: {
      load: loadedAt - started,
      calibrate: calibratedAt - loadedAt,
      quantize: quantizedAt - calibratedAt,
      reference: referencedAt - quantizedAt,
      select: selectedAt - referencedAt - fallbackMs,
      verify: verifiedAt - selectedAt + fallbackMs,
      save: 0,
      total: 0,
    },
  };
  if (selection !== undefined) outcome.selection = selection;
  if (verification !== undefined) outcome.verification = verification;
  if (debug !== undefined) outcome.debug = debug;
  if (job.minCosine !== undefined) {
    outcome.gate = cosineGate(job.minCosine, verification?.metrics.worstCosine ?? null);
  }

  if (output !== undefined && outcome.gate?.passed !== false) {
    const model = withProvenance(result.model, {
      toolVersion: job.toolVersion,
      command: 'quantize',
      parameters: job.parameters,
      sourceSha256: await (sourceSha256 as Promise<string>),
    });
    const needsExternal = quantizedSizeBytes > MAX_PROTOBUF_BYTES - (1 << 20);
    const saved = await saveModel(model, output, {
      force: job.force === true,
      ...(needsExternal ? { externalData: { location: `${output.split(/[\\/]/).pop() ?? 'model'}.data` } } : {}),
    });
    outcome.output = writtenModel(saved);
  }
  const savedAt = performance.now();
  outcome.timingsMs.save = savedAt - verifiedAt;
  outcome.timingsMs.total = savedAt - started;
  return outcome;
}

/**
 * Measures a model built with the given nodes in float on the reference
 * samples, once per set of nodes: the fallback and the search ask for the
 * same model more than once (the search's baseline is the fallback's result).
 */
function measuringOnce(
  set: ReferenceSet,
  quantize: (forceFloat: readonly string[]) => StaticQuantizeResult,
): (forceFloat: readonly string[], built?: StaticQuantizeResult) => Promise<AccuracyMetrics> {
  const measured = new Map<string, AccuracyMetrics>();
  return async (forceFloat, built) => {
    const key = JSON.stringify([...forceFloat].sort());
    let metrics = measured.get(key);
    if (metrics === undefined) {
      metrics = await withRuntimeInput((built ?? quantize(forceFloat)).model, (model) => evaluateCandidate(model, set));
      measured.set(key, metrics);
    }
    return metrics;
  };
}

/** The inputs of the model file as onnxruntime sees them. */
async function modelInputs(file: string): Promise<IoMeta[]> {
  const session = await createSession(file, { label: 'the original model', labelFile: true, logLevel: 'fatal' });
  try {
    return [...session.inputs];
  } finally {
    await session.release();
  }
}

/** The samples verification and the search use, and the float model's outputs on them. */
async function referenceSet(job: StaticQuantizeJob, inputs: readonly IoMeta[], source: SampleSource): Promise<{ set: ReferenceSet; source: string }> {
  const feeds: Feeds[] = [];
  let description: string;
  if (job.inputsDir !== undefined) {
    feeds.push((await readInputDir(job.inputsDir, inputs)).feeds);
    description = `the inputs in '${job.inputsDir}'`;
  } else {
    const count = Math.min(source.count, EVALUATION_SAMPLES);
    for (let i = 0; i < count; i++) feeds.push(await source.load(i));
    description = `the first ${count} calibration sample${count === 1 ? '' : 's'}`;
  }
  const outputs = await runAll(job.input, feeds, 'the original model');
  return { set: { feeds, outputs }, source: description };
}

