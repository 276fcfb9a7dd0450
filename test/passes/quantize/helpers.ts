/**
 * Helpers for the quantize tests: seeded weights, small models built by hand,
 * running a model in onnxruntime, and structural checks every output must pass.
 */
import { expect } from 'vitest';
import { GraphIndex, forEachGraph, forEachNode, isTopologicallySorted } from '../../../src/onnx/graph.js';
import { serializeModel } from '../../../src/onnx/model-io.js';
import { createTensor } from '../../../src/onnx/tensor.js';
import { DataType, type GraphProto, type ModelProto, type TensorProto } from '../../../src/onnx/types.js';
import { createSession } from '../../../src/runtime/onnxruntime.js';
import { randomInputs } from '../../../src/runtime/random-inputs.js';
import type { HostTensor } from '../../../src/runtime/types.js';
import { cosine } from '../../helpers/metrics.js';
import { seeded } from '../../helpers/seeded.js';
export { cosine, seeded };

/** A float32 initializer of seeded values. */
export function weight(name: string, dims: number[], seed: number, amplitude = 0.5): TensorProto {
  return createTensor(name, DataType.FLOAT, dims, seeded(dims.reduce((a, b) => a * b, 1), seed, amplitude));
}

/** Runs a model on seeded random inputs (dynamic dims set to `dim`) and returns every output. */
export async function runModel(model: ModelProto | Uint8Array, seed = 1, dim = 2): Promise<Record<string, HostTensor>> {
  const session = await createSession(model instanceof Uint8Array ? model : serializeModel(model), { logLevel: 'fatal' });
  try {
    const feeds = randomInputs(session.inputs, { seed, defaultDim: dim, intRange: [0, 4] });
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Runs a model on the given feeds. */
export async function runWith(model: ModelProto, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await createSession(serializeModel(model), { logLevel: 'fatal' });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}


/** Runs both models on the same inputs and returns the lowest output cosine. */
export async function worstCosine(original: ModelProto, quantized: ModelProto): Promise<number> {
  const [a, b] = [await runModel(original), await runModel(quantized)];
  let worst = 1;
  for (const [name, tensor] of Object.entries(a)) {
    const other = b[name];
    expect(other, `output '${name}'`).toBeDefined();
    expect(other!.dims).toEqual(tensor.dims);
    if (tensor.dtype === 'float32') worst = Math.min(worst, cosine(tensor, other!));
  }
  return worst;
}

/**
 * What every quantized model must satisfy: nodes topologically sorted in
 * every graph, each value produced once, node names unique, graph inputs
 * and value_info naming only values that exist, every node input defined.
 */
export function expectWellFormed(model: ModelProto): void {
  const nodeNames = new Set<string>();
  forEachNode(model, (node, location) => {
    if (location.function !== undefined || node.name === undefined || node.name === '') return;
    expect(nodeNames.has(node.name), `node name '${node.name}' is used twice`).toBe(false);
    nodeNames.add(node.name);
  });
  forEachGraph(model, (graph, location) => {
    if (location.function !== undefined) return;
    expect(isTopologicallySorted(graph), `${location.path} is not sorted`).toBe(true);
    const index = new GraphIndex(graph); // throws on a value produced twice
    const defined = definedNames(graph);
    for (const info of graph.valueInfo) expect(defined.has(info.name ?? ''), `value_info '${info.name}' names nothing`).toBe(true);
    for (const node of graph.node) {
      for (const name of node.input) {
        if (name === '' || defined.has(name)) continue;
        expect(location.depth > 0 && index.isOuterScope(name), `input '${name}' of ${node.opType} is never defined`).toBe(true);
      }
    }
  });
}

function definedNames(graph: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const info of graph.input) names.add(info.name ?? '');
  for (const tensor of graph.initializer) names.add(tensor.name ?? '');
  for (const sparse of graph.sparseInitializer) names.add(sparse.values?.name ?? '');
  for (const node of graph.node) for (const output of node.output) names.add(output);
  return names;
}

/** Op types of a graph's nodes, in order. */
export function opTypes(graph: GraphProto | undefined): string[] {
  return (graph?.node ?? []).map((node) => node.opType ?? '');
}

/** The initializer named `name`. */
export function initializer(graph: GraphProto | undefined, name: string): TensorProto | undefined {
  return graph?.initializer.find((tensor) => tensor.name === name);
}
