/**
 * Running a model and its quantized form on the same inputs in onnxruntime
 * (through the runtime adapter) and comparing the outputs; when the quantized
 * model does not load or run, finding the nodes responsible and leaving them
 * in float until it does.
 */
import { describeError, MlctlError } from '../common/errors.js';
import type { ModelProto } from '../onnx/types.js';
import type { QuantizeResult } from '../passes/quantize/index.js';
import { readInputDir } from '../runtime/input-files.js';
import { createSession } from '../runtime/onnxruntime.js';
import { randomInputs, type RandomInputOptions } from '../runtime/random-inputs.js';
import type { HostTensor, IoMeta } from '../runtime/types.js';
import { compareOutputs, worstCosine, type OutputComparison } from './compare.js';
import { toRuntimeInput, type RuntimeInput } from './runtime-input.js';

/** Which inputs to run the models on. */
export interface VerifyInputOptions {
  /**
   * A folder with one file per model input: `.pb` (TensorProto), `.npy` or
   * `.json` (see runtime/input-files.ts). Every input must have a file; the
   * random-input options are then not used.
   */
  inputsDir?: string;
  /** Feeds given by the caller; inputs not listed get seeded random values. */
  feeds?: Record<string, HostTensor>;
  /** Seed of the random feeds (default 0). */
  seed?: number;
  /** Full shapes by input name, for inputs with dynamic dims. */
  shapeOverrides?: Record<string, readonly number[]>;
  /** Sizes of named dynamic dims. */
  dimValues?: Record<string, number>;
}

/** The result of comparing the quantized model with the original. */
export interface Verification {
  /** The inputs used: name, dtype, dims, whether they were random, and the file each came from with `inputsDir`. */
  inputs: { name: string; dtype: string; dims: number[]; random: boolean; file?: string }[];
  outputs: OutputComparison[];
  /** Lowest cosine over float outputs; null when there are none. */
  worstCosine: number | null;
}

/** The reference run: what the quantized model is compared with. */
export interface ReferenceRun {
  feeds: Record<string, HostTensor>;
  outputs: Record<string, HostTensor>;
  inputs: Verification['inputs'];
}

/** Loads and runs a model (serialized bytes, or a model file's path) once, always releasing the session. */
export async function runOnce(model: string | Uint8Array, feeds: Record<string, HostTensor>, label: string): Promise<Record<string, HostTensor>> {
  const session = await createSession(model, { label, labelFile: true, logLevel: 'fatal' });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

async function buildFeeds(inputs: readonly IoMeta[], options: VerifyInputOptions): Promise<{ feeds: Record<string, HostTensor>; used: Verification['inputs'] }> {
  if (options.inputsDir !== undefined) {
    const { feeds, sources } = await readInputDir(options.inputsDir, inputs);
    const used = inputs.map((input) => {
      const tensor = feeds[input.name]!;
      return { name: input.name, dtype: tensor.dtype, dims: [...tensor.dims], random: false, file: sources[input.name]! };
    });
    return { feeds, used };
  }
  const given = options.feeds ?? {};
  const missing = inputs.filter((input) => given[input.name] === undefined);
  const random = randomInputs(missing, {
    seed: options.seed ?? 0,
    ...(options.shapeOverrides === undefined ? {} : { shapeOverrides: options.shapeOverrides }),
    ...(options.dimValues === undefined ? {} : { dimValues: options.dimValues }),
  } satisfies RandomInputOptions);
  const feeds: Record<string, HostTensor> = {};
  const used: Verification['inputs'] = [];
  for (const input of inputs) {
    const tensor = given[input.name] ?? random[input.name]!;
    feeds[input.name] = tensor;
    used.push({ name: input.name, dtype: tensor.dtype, dims: [...tensor.dims], random: given[input.name] === undefined });
  }
  return { feeds, used };
}

/**
 * Runs the original model on the verification inputs.
 * @param original - the model's bytes, or its path (for a model with external data, which onnxruntime reads itself).
 * @throws MlctlError MLCTL_RUNTIME when it cannot be loaded or run on random inputs; MLCTL_BAD_INPUT
 *   (or FileError) when the inputs do not fit, an input file is malformed, or it does not run on the given files.
 */
export async function runReference(original: string | Uint8Array, options: VerifyInputOptions = {}): Promise<ReferenceRun> {
  const session = await createSession(original, { label: 'the original model', logLevel: 'fatal' });
  try {
    const { feeds, used } = await buildFeeds(session.inputs, options);
    let outputs: Record<string, HostTensor>;
    try {
      outputs = await session.run(feeds);
    } catch (error) {
      // Given files that the original itself cannot run on are a mistake in the files, not a flaw of the model.
      if (options.inputsDir === undefined || !(error instanceof MlctlError)) throw error;
      throw new MlctlError('MLCTL_BAD_INPUT', `the original model does not run on the inputs in '${options.inputsDir}': ${firstLine(error.message)}`, { cause: error });
    }
    return { feeds, inputs: used, outputs };
  } finally {
    await session.release();
  }
}

/** Runs the candidate (bytes or a model file's path) on the reference's inputs and compares; throws when it cannot load or run. */
export async function compareWithReference(reference: ReferenceRun, candidate: string | Uint8Array): Promise<Verification> {
  const outputs = await runOnce(candidate, reference.feeds, 'the quantized model');
  const comparisons = compareOutputs(reference.outputs, outputs);
  return { inputs: reference.inputs, outputs: comparisons, worstCosine: worstCosine(comparisons) };
}

/** A node left in float because the runtime failed on its quantized form. */
export interface FallbackNode {
  node: string;
  opType: string;
  key: string;
  /** The runtime's error. */
  reason: string;
}

/** Quantized model and how it compares; see {@link quantizeWithFallback}. */
export interface VerifiedQuantization {
  result: QuantizeResult;
  /** Undefined when the original itself could not be run (see `referenceError`). */
  verification: Verification | undefined;
  fallbacks: FallbackNode[];
  /** Why verification could not be done: the original model does not run here. */
  referenceError: string | undefined;
  /** The inputs both models ran on; undefined when the original could not run. */
  feeds: Record<string, HostTensor> | undefined;
}

/** A node the float fallback may put back in float: one the pass quantized. */
export interface FallbackCandidate {
  node: string;
  opType: string;
  /** What the pass's `forceFloat` accepts for it. */
  key: string;
  /** Names its quantized form has in the model; an onnxruntime error quoting one of them blames this node. */
  names: readonly string[];
}

/** A pass as the float fallback drives it; `R` is its result, `V` what running a result measures. */
export interface FallbackPass<R, V> {
  /** Runs the pass with these nodes (keys) forced to float. */
  quantize: (forceFloat: readonly string[]) => R;
  /** The nodes `result` quantized, in graph order. */
  candidates: (result: R) => readonly FallbackCandidate[];
  /** Loads and runs `result` in onnxruntime and measures it; throws when it cannot load or run. */
  run: (result: R) => Promise<V>;
}

/** The result the fallback settled on; see {@link fallBackToFloat}. */
export interface FloatFallback<R, V> {
  result: R;
  /** What `run` measured on it. */
  measured: V;
  /** In the order they were put back in float. */
  fallbacks: FallbackNode[];
}

/**
 * Names quoted in an onnxruntime message (`Name:'x'`, `node with name 'x'`).
 * A node onnxruntime makes by fusing others (QLinearConv from DQ → Conv → Q)
 * is named `<node>_token_<n>` (Graph::GenerateNodeName): `<node>` counts too.
 */
function quotedNames(message: string): Set<string> {
  const names = new Set<string>();
  for (const match of message.matchAll(/'([^']+)'/g)) {
    const name = match[1]!;
    names.add(name);
    const fused = /^(.+)_token_\d+$/.exec(name);
    if (fused !== null) names.add(fused[1]!);
  }
  return names;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/**
 * Runs the pass, then `run` on its result. While that fails, the nodes whose
 * quantized form is to blame are put back in float, one at a time: first by
 * the names in the runtime's message (see {@link FallbackCandidate.names}),
 * otherwise by bisecting the quantized nodes; until the result runs.
 *
 * Cost: one run per attempt, plus about log2(quantized nodes) runs for each
 * culprit found by bisection.
 * @throws MlctlError MLCTL_RUNTIME when the result fails with no quantized node left, or still
 *   fails with a blamed node forced to float; errors thrown by `quantize`.
 */
export async function fallBackToFloat<R, V>(pass: FallbackPass<R, V>): Promise<FloatFallback<R, V>> {
  const forced: FallbackNode[] = [];
  const forcedKeys = (): string[] => forced.map((entry) => entry.key);
  type Attempt = { result: R; measured: V; error: undefined } | { result: R; error: string };
  const attempt = async (forceFloat: readonly string[]): Promise<Attempt> => {
    const result = pass.quantize(forceFloat);
    try {
      return { result, measured: await pass.run(result), error: undefined };
    } catch (error) {
      return { result, error: describeError(error) };
    }
  };

  for (;;) {
    const outcome = await attempt(forcedKeys());
    if (outcome.error === undefined) return { result: outcome.result, measured: outcome.measured, fallbacks: forced };
    const quantized = pass.candidates(outcome.result);
    if (quantized.length === 0) {
      throw new MlctlError('MLCTL_RUNTIME', `the model fails in onnxruntime even with every node left in float: ${firstLine(outcome.error)}`);
    }
    const named = quotedNames(outcome.error);
    const blamed = quantized.filter((node) => node.names.some((name) => named.has(name)));
    const culprits = blamed.length > 0 ? blamed : [await bisect(quantized, forcedKeys(), attempt)];
    // A pass that ignores a key would otherwise have the same node blamed forever.
    const again = culprits.find((node) => forced.some((entry) => entry.key === node.key));
    if (again !== undefined) {
      throw new MlctlError('MLCTL_RUNTIME', `the model still fails in onnxruntime with '${again.node}' forced to float: ${firstLine(outcome.error)}`);
    }
    for (const node of culprits) forced.push({ node: node.node, opType: node.opType, key: node.key, reason: firstLine(outcome.error) });
  }
}

/**
 * Quantizes with `quantize`, then loads and runs the result next to the
 * original; when it fails to load or run, puts the nodes to blame back in
 * float (see {@link fallBackToFloat}; a node's names are its `replacedBy`).
 *
 * @param original - the original's bytes, or its path (onnxruntime then reads its external data itself).
 * @param quantize - runs the pass with the given nodes (report keys) forced to float.
 * @param toRuntime - how a model is handed to onnxruntime (default {@link toRuntimeInput}: bytes, or a
 *   temporary file over 2 GiB); each input is disposed once its run is over.
 * @throws MlctlError MLCTL_RUNTIME when even the fully float fallback fails to run; the errors of
 *   {@link runReference} for inputs that do not fit (an original that cannot run at all only sets `referenceError`).
 */
export async function quantizeWithFallback(
  original: string | Uint8Array,
  quantize: (forceFloat: readonly string[]) => QuantizeResult,
  inputOptions: VerifyInputOptions = {},
  toRuntime: (model: ModelProto) => Promise<RuntimeInput> = (model) => toRuntimeInput(model),
): Promise<VerifiedQuantization> {
  let reference: ReferenceRun;
  try {
    reference = await runReference(original, inputOptions);
  } catch (error) {
    // Bad inputs are the user's to fix; a model that onnxruntime cannot load or run here only skips verification.
    if (!(error instanceof MlctlError) || error.code !== 'MLCTL_RUNTIME') throw error;
    return { result: quantize([]), verification: undefined, fallbacks: [], referenceError: describeError(error), feeds: undefined };
  }
  const settled = await fallBackToFloat({
    quantize,
    candidates: (result) =>
      result.report.nodes.filter((node) => node.action !== 'skipped').map((node) => ({ node: node.node, opType: node.opType, key: node.key, names: node.replacedBy ?? [] })),
    run: async (result) => {
      const input = await toRuntime(result.model);
      try {
        return await compareWithReference(reference, input.model);
      } finally {
        await input.dispose();
      }
    },
  });
  return { result: settled.result, verification: settled.measured, fallbacks: settled.fallbacks, referenceError: undefined, feeds: reference.feeds };
}

/**
 * The first node of `quantized` (in order) that makes the model fail: the
 * shortest failing prefix ends with it. Assumes failures do not need two
 * nodes together; if they do, the last node of the shortest failing prefix
 * is still one of them, so repeated calls converge.
 */
async function bisect(
  quantized: readonly FallbackCandidate[],
  alreadyForced: readonly string[],
  attempt: (forceFloat: readonly string[]) => Promise<{ error: string | undefined }>,
): Promise<FallbackCandidate> {
  const keys = quantized.map((node) => node.key);
  // Invariant: the prefix of length `high` fails; that of length `low` runs.
  let low = 0;
  let high = keys.length;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    const outcome = await attempt([...alreadyForced, ...keys.slice(middle)]);
    if (outcome.error === undefined) low = middle;
    else high = middle;
  }
  return quantized[high - 1]!;
}
