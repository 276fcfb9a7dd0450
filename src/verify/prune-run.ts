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

/** A copy of `model` whose main graph also outputs every value its nodes produce. */
export function exposeAllValues(model: ModelProto): ModelProto {
  const graph = model.graph;
  if (graph === undefined) return model;
  const listed = new Set(graph.output.map((info) => info.name ?? ''));
  const extra: ValueInfoProto[] = [];
  for (const node of graph.node) {
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
  const session = await createSession(bytes, { label: options.label, logLevel: 'fatal' });
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
