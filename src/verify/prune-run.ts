/**
 * Running a model on seeded sample inputs for `prune`: once with every
 * intermediate value of the main graph exposed as an output, to learn the
 * shapes the channel analysis and the MAC count need, and on the same
 * inputs for comparing outputs.
 */
import { serializeModel } from '../onnx/model-io.js';
import type { ModelProto, ValueInfoProto } from '../onnx/types.js';
import { createSession } from '../runtime/onnxruntime.js';
import { randomInputs, type RandomInputOptions } from '../runtime/random-inputs.js';
import type { HostTensor } from '../runtime/types.js';
import { countMacs, type MacReport } from '../passes/prune/macs.js';

/** A copy of `model` whose main graph also outputs every value its nodes (other than Constants) produce. */
export function exposeAllValues(model: ModelProto): ModelProto {
  const graph = model.graph;
  if (graph === undefined) return model;
  const listed = new Set(graph.output.map((info) => info.name ?? ''));
  const extra: ValueInfoProto[] = [];
  for (const node of graph.node) {
    // Constants have static dims; a sparse one's output cannot even be fetched.
    if (node.opType === 'Constant') continue;
    for (const name of node.output) {
      if (name === '' || listed.has(name)) continue;
      listed.add(name);
      // No type: onnxruntime takes it from the producing node.
      extra.push({ name, metadataProps: [] });
    }
  }
  return { ...model, graph: { ...graph, output: [...graph.output, ...extra] } };
}

/** Options of {@link runSamples}. */
export interface SampleOptions extends Pick<RandomInputOptions, 'shapeOverrides' | 'dimValues' | 'defaultDim'> {
  /** How many seeded input sets to run (at least 1). */
  samples: number;
  /** Seed of the first input set; set i uses seed + i. */
  seed: number;
  /** Expose every intermediate value and return their shapes (from the first sample). */
  measureShapes: boolean;
  /** How to name the model in errors. */
  label: string;
  /** Threads inside one operator (default: the runtime's choice). 1 makes results bitwise repeatable. */
  intraOpThreads?: number;
}

/** What {@link runSamples} saw. */
export interface SampleRun {
  /** Dims of every value of the main graph (empty unless `measureShapes`). */
  shapes: Map<string, number[]>;
  /** The model's own outputs, one record per sample. */
  outputs: Array<Record<string, HostTensor>>;
}

/**
 * Runs `model` (or its serialized bytes) on `samples` seeded input sets on
 * the CPU. The session is always released.
 * @throws MlctlError MLCTL_RUNTIME when onnxruntime cannot load or run the model.
 */
export async function runSamples(model: ModelProto | Uint8Array, options: SampleOptions): Promise<SampleRun> {
  let bytes: Uint8Array;
  let outputNames: string[] | undefined;
  if (model instanceof Uint8Array) bytes = model;
  else {
    outputNames = (model.graph?.output ?? []).map((info) => info.name ?? '');
    bytes = serializeModel(options.measureShapes ? exposeAllValues(model) : model);
  }
  const session = await createSession(bytes, {
    label: options.label,
    logLevel: 'fatal',
    ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
  });
  try {
    const own = outputNames ?? session.outputs.map((output) => output.name);
    const run: SampleRun = { shapes: new Map(), outputs: [] };
    for (let sample = 0; sample < Math.max(1, options.samples); sample++) {
      const feeds = randomInputs(session.inputs, { ...options, seed: options.seed + sample });
      const fetched = await session.run(feeds, sample === 0 || !options.measureShapes ? undefined : own);
      if (sample === 0 && options.measureShapes) {
        for (const [name, tensor] of Object.entries(fetched)) run.shapes.set(name, tensor.dims);
        for (const [name, tensor] of Object.entries(feeds)) run.shapes.set(name, tensor.dims);
      }
      run.outputs.push(Object.fromEntries(own.map((name) => [name, fetched[name]!])));
    }
    return run;
  } finally {
    await session.release();
  }
}

/**
 * Multiply-accumulates of the main graph's Conv, ConvTranspose, Gemm and
 * MatMul nodes, with shapes from one run on seeded inputs (what
 * `inspect --macs [--shape ...]` needs).
 * @throws MlctlError MLCTL_RUNTIME when onnxruntime cannot load or run the model.
 */
export async function measureMacs(
  model: ModelProto,
  options: Pick<SampleOptions, 'shapeOverrides' | 'dimValues' | 'defaultDim'> & { label?: string } = {},
): Promise<MacReport> {
  if (model.graph === undefined) return { total: 0, nodes: [], uncounted: [] };
  const run = await runSamples(model, { ...options, samples: 1, seed: 0, measureShapes: true, label: options.label ?? 'model' });
  return countMacs(model.graph, run.shapes);
}
