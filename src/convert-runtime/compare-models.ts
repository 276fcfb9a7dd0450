/**
 * `--check N` and the float16 verification: the converted model and the
 * original run on the same N sets of seeded random inputs in ONNX Runtime,
 * and their outputs are compared (cosine, largest error, and, for
 * conversions that should keep outputs, numpy's allclose rule).
 */
import { describeError } from '../common/errors.js';
import { createSession } from '../runtime/onnxruntime.js';
import { randomInputs } from '../runtime/random-inputs.js';
import type { HostTensor, IoMeta, RuntimeSession } from '../runtime/types.js';
import { compareTensors } from '../verify/compare.js';
import { feedAs, widenFloat16 } from './host-tensors.js';

/** numpy.allclose tolerances: |a − b| ≤ atol + rtol · |a|. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

/** Default tolerance of `--check` for conversions that keep float32 (simplify, shapes, optimize). */
export const DEFAULT_CHECK_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-4 };

/** Options of {@link compareModels}. */
export interface CompareOptions {
  /** Input sets to run (at least 1). */
  runs: number;
  /** Seed of the first set; set i uses seed + i (default 0). */
  seed?: number;
  /** When given, each output must be allclose to the original's under it. */
  tolerance?: Tolerance;
  /** Full input shapes by name (the dims `--shape` set), for both models. */
  shapeOverrides?: Record<string, readonly number[]>;
  /**
   * A folder of real inputs (one .pb/.npy/.json file per input, see
   * src/runtime/input-files.ts), compared instead of random inputs: one run.
   * (Random values are no substitute for inputs such as a sample rate.)
   */
  inputsDir?: string;
}

/** How one output compares, worst over all runs. */
export interface OutputCheck {
  name: string;
  dtype: string;
  dims: number[];
  /** Lowest cosine over runs; null for non-float outputs. */
  cosine: number | null;
  maxAbsError: number;
  /** Elements outside the tolerance, summed over runs; null without a tolerance. */
  elementsOutsideTolerance: number | null;
}

/** The outcome of {@link compareModels}. */
export interface ModelComparison {
  runs: number;
  /** The inputs of the first run (later runs have the same shapes). */
  inputs: { name: string; dtype: string; dims: number[] }[];
  outputs: OutputCheck[];
  worstCosine: number | null;
  tolerance: Tolerance | undefined;
  /** True when every output is within the tolerance (always true without one). */
  passed: boolean;
}

/** A model both sessions can run; `reason` when the original itself cannot be run on random inputs. */
export type CompareOutcome = { comparison: ModelComparison; skipped?: undefined } | { comparison?: undefined; skipped: string };

/**
 * Ways to size dynamic dims, tried in turn until the original runs: the
 * first axis (usually the batch) 1 and the others 64 (spatial dims of 1
 * collapse in a detector, an STFT needs more samples than its padding);
 * everything 64 (inputs that share a batch at different axes); everything 1.
 */
const dynamicDimPolicies: readonly ((axis: number) => number)[] = [(axis) => (axis === 0 ? 1 : 64), () => 64, () => 1];

function hasDynamicDims(inputs: readonly IoMeta[]): boolean {
  return inputs.some((input) => input.shape.some((dim) => typeof dim !== 'number'));
}

/**
 * Full shapes for every input under one policy; a named dim gets the size its
 * first occurrence gets, so inputs that share it agree. Shapes the caller fixed win.
 */
function shapesFor(inputs: readonly IoMeta[], policy: (axis: number) => number, fixed: Record<string, readonly number[]>): Record<string, readonly number[]> {
  const named = new Map<string, number>();
  const shapes: Record<string, readonly number[]> = {};
  for (const input of inputs) {
    if (input.dtype === 'non-tensor') continue;
    shapes[input.name] = fixed[input.name] ?? input.shape.map((dim, axis) => {
      if (typeof dim === 'number') return dim;
      if (dim === null) return policy(axis);
      if (!named.has(dim)) named.set(dim, policy(axis));
      return named.get(dim)!;
    });
  }
  return shapes;
}

function countOutside(reference: HostTensor, candidate: HostTensor, tolerance: Tolerance): number {
  const a = reference.data as ArrayLike<number | bigint>;
  const b = candidate.data as ArrayLike<number | bigint>;
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let outside = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= tolerance.atol + tolerance.rtol * Math.abs(x))) outside += 1;
  }
  return outside;
}

function candidateFeeds(feeds: Record<string, HostTensor>, session: RuntimeSession): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const input of session.inputs) {
    const feed = feeds[input.name];
    if (feed !== undefined) out[input.name] = feedAs(feed, input.dtype);
  }
  return out;
}

/**
 * Runs both models on the same random inputs and compares every output of
 * the original. Sessions are always released.
 * @returns `skipped` with the reason when the original model cannot be run;
 * @throws MlctlError MLCTL_RUNTIME when the converted model does not load or run.
 */
export async function compareModels(original: Uint8Array, converted: Uint8Array, options: CompareOptions): Promise<CompareOutcome> {
  let referenceSession: RuntimeSession;
  try {
    referenceSession = await createSession(original, { label: 'the original model', logLevel: 'fatal' });
  } catch (error) {
    return { skipped: `the original model does not load in onnxruntime: ${describeError(error).split('\n')[0]}` };
  }
  let candidate: RuntimeSession | undefined;
  try {
    const seed = options.seed ?? 0;
    const fixed = options.shapeOverrides ?? {};
    let shapeOverrides: Record<string, readonly number[]> | undefined;
    let firstFeeds: Record<string, HostTensor> | undefined;
    let firstOutputs: Record<string, HostTensor> | undefined;
    let lastError = '';
    const policies = options.inputsDir !== undefined ? []
      : hasDynamicDims(referenceSession.inputs) ? dynamicDimPolicies : dynamicDimPolicies.slice(2);
    if (options.inputsDir !== undefined) {
      const { readInputDir } = await import('../runtime/input-files.js');
      firstFeeds = (await readInputDir(options.inputsDir, referenceSession.inputs)).feeds;
      firstOutputs = await referenceSession.run(firstFeeds);
      shapeOverrides = Object.fromEntries(Object.entries(firstFeeds).map(([name, tensor]) => [name, tensor.dims]));
    }
    for (const policy of policies) {
      const shapes = shapesFor(referenceSession.inputs, policy, fixed);
      try {
        const feeds = randomInputs(referenceSession.inputs, { seed, shapeOverrides: shapes });
        firstOutputs = await referenceSession.run(feeds);
        firstFeeds = feeds;
        shapeOverrides = shapes;
        break;
      } catch (error) {
        lastError = describeError(error);
      }
    }
    if (shapeOverrides === undefined || firstFeeds === undefined || firstOutputs === undefined) {
      return { skipped: `the original model does not run on random inputs: ${lastError.split('\n')[0]}; give the input dims with --shape` };
    }
    candidate = await createSession(converted, { label: 'the converted model', logLevel: 'fatal' });
    const checks = new Map<string, OutputCheck>();
    const runs = options.inputsDir !== undefined ? 1 : Math.max(1, options.runs);
    for (let run = 0; run < runs; run++) {
      const feeds = run === 0 ? firstFeeds : randomInputs(referenceSession.inputs, { seed: seed + run, shapeOverrides });
      const expected = run === 0 ? firstOutputs : await referenceSession.run(feeds);
      const actual = await candidate.run(candidateFeeds(feeds, candidate));
      for (const [name, tensor] of Object.entries(expected)) {
        const got = actual[name] === undefined ? undefined : widenFloat16(actual[name]!);
        const reference32 = widenFloat16(tensor);
        const comparison = got === undefined
          ? { cosine: null, maxAbsError: Infinity, shapeMatches: false }
          : compareTensors(name, reference32, got);
        const outside = options.tolerance === undefined ? null
          : got === undefined || !comparison.shapeMatches ? reference32.data.length : countOutside(reference32, got, options.tolerance);
        const previous = checks.get(name);
        const cosine = comparison.shapeMatches ? comparison.cosine : 0;
        checks.set(name, {
          name,
          dtype: tensor.dtype,
          dims: [...tensor.dims],
          cosine: previous === undefined ? cosine : previous.cosine === null || cosine === null ? (previous.cosine ?? cosine) : Math.min(previous.cosine, cosine),
          maxAbsError: Math.max(previous?.maxAbsError ?? 0, comparison.maxAbsError),
          elementsOutsideTolerance: outside === null ? null : (previous?.elementsOutsideTolerance ?? 0) + outside,
        });
      }
    }
    const outputs = [...checks.values()];
    const cosines = outputs.map((o) => o.cosine).filter((c): c is number => c !== null);
    return {
      comparison: {
        runs,
        inputs: Object.entries(firstFeeds).map(([name, t]) => ({ name, dtype: t.dtype, dims: [...t.dims] })),
        outputs,
        worstCosine: cosines.length === 0 ? null : Math.min(...cosines),
        tolerance: options.tolerance,
        passed: outputs.every((o) => o.elementsOutsideTolerance === null || o.elementsOutsideTolerance === 0),
      },
    };
  } finally {
    await referenceSession.release();
    await candidate?.release();
  }
}
