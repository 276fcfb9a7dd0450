/**
 * Constant folding: nodes whose inputs are all constants are evaluated
 * once, and the values the rest of the graph reads become constants. Shape
 * and Size of values whose shape inference found static are answered
 * directly. Evaluation is the caller's {@link ConstantEvaluator}; a batch
 * that fails is retried node by node, so one node the evaluator cannot run
 * does not stop the others.
 *
 * A node is folded only when inference predicts its output shapes, so the
 * size of the result is known before anything is evaluated. What folding
 * adds to the model (results minus the constants they free) is charged to
 * one growth limit for the whole pass: a small constant never becomes a
 * large stored tensor, and many medium ones do not add up to one either.
 */
import { describeError } from '../../../common/errors.js';
import { makeGraph, makeModel, makeTensorValueInfo } from '../../../onnx/builder.js';
import { isExternalTensor } from '../../../onnx/external-data.js';
import { GraphIndex, nodeSubgraphs, topologicalSortNodes, type UniqueNameGenerator } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import { createTensor } from '../../../onnx/tensor.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../../../onnx/types.js';
import { inferGraphTypes } from '../shapes/infer-types.js';
import { elementCountOf, isStaticShape, type GraphTypes } from '../shapes/types.js';
import { addConstants, ConstantTable } from './constants.js';
import type { ConstantEvaluator, FoldSkip } from './types.js';

/** Operators never folded: random, training-only, or folding them would undo a deliberate encoding (quantized weights). */
const neverFolded = new Set([
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'Dropout',
  'DequantizeLinear', 'Constant',
]);

const bytesPerElement: Partial<Record<number, number>> = {
  [DataType.FLOAT]: 4, [DataType.DOUBLE]: 8, [DataType.FLOAT16]: 2, [DataType.INT8]: 1, [DataType.UINT8]: 1,
  [DataType.INT16]: 2, [DataType.UINT16]: 2, [DataType.INT32]: 4, [DataType.UINT32]: 4, [DataType.INT64]: 8,
  [DataType.UINT64]: 8, [DataType.BOOL]: 1,
};

/** Counts and skips of one folding round. */
export interface FoldCounts {
  byEvaluator: number;
  fromShapes: number;
  skipped: FoldSkip[];
}

/** Everything {@link foldConstants} needs besides the model. */
export interface FoldContext {
  evaluate: ConstantEvaluator | undefined;
  /** The total growth limit, and what is left of it (shared by every graph and round). */
  growth: { limitBytes: number; remainingBytes: number };
  names: UniqueNameGenerator;
  opset: number;
  overridableInitializers: boolean;
}

function storedBytes(tensor: TensorProto): number | undefined {
  const size = bytesPerElement[tensor.dataType ?? 0];
  if (size === undefined) return undefined;
  return elementCountOf(tensor.dims.map(Number)) * size;
}

function label(node: NodeProto): string {
  return node.name !== undefined && node.name !== '' ? node.name : `${node.opType ?? '?'} → ${node.output[0] ?? '?'}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim().slice(0, 300);
}

/** Shape or Size answered from a static shape. */
function shapeTensor(node: NodeProto, types: GraphTypes): TensorProto | undefined {
  if (node.opType !== 'Shape' && node.opType !== 'Size') return undefined;
  const dims = types.type(node.input[0] ?? '')?.dims;
  if (!isStaticShape(dims)) return undefined;
  const name = node.output[0] ?? '';
  if (node.opType === 'Size') return createTensor(name, DataType.INT64, [], [elementCountOf(dims)]);
  const value = types.value(name);
  if (value === undefined) return undefined;
  return createTensor(name, DataType.INT64, [value.values.length], value.values);
}

interface Plan {
  /** Nodes to evaluate, in order. */
  evaluated: NodeProto[];
  /** Values answered without evaluation (Shape/Size). */
  direct: Map<string, TensorProto>;
  /** Nodes answered directly. */
  directNodes: Set<NodeProto>;
  skipped: FoldSkip[];
}

function plan(nodes: readonly NodeProto[], constants: ConstantTable, types: GraphTypes, index: GraphIndex, growth: FoldContext['growth']): Plan {
  const known = new Map<string, number>();
  const knownBytes = (name: string): number | undefined => {
    const bytes = known.get(name);
    if (bytes !== undefined) return bytes;
    const tensor = constants.get(name);
    if (tensor === undefined || isExternalTensor(tensor)) return undefined;
    return storedBytes(tensor) ?? (tensor.rawData?.length ?? 0);
  };
  // An input's bytes offset a folded result only when folding frees them: the input
  // belongs to this graph and this node is its one reader. A constant of an enclosing
  // graph stays where it is, so a copy of it in a subgraph is pure growth.
  const freed = (name: string, bytes: number): number => {
    const local = constants.isLocal(name) || known.has(name);
    const soleReader = index.consumers(name).length === 1 && index.subgraphUsers(name).length === 0 && !index.isGraphOutput(name);
    return local && soleReader ? bytes : 0;
  };
  const result: Plan = { evaluated: [], direct: new Map(), directNodes: new Set(), skipped: [] };
  for (const node of nodes) {
    if (!isDefaultDomain(node.domain) || nodeSubgraphs(node).length > 0) continue;
    const direct = shapeTensor(node, types);
    if (direct !== undefined) {
      result.direct.set(direct.name!, direct);
      result.directNodes.add(node);
      known.set(direct.name!, storedBytes(direct) ?? 0);
      continue;
    }
    const inputs = node.input.filter((name) => name !== '');
    if (inputs.length === 0 || neverFolded.has(node.opType ?? '')) continue;
    const inputBytes = inputs.map(knownBytes);
    if (inputBytes.some((bytes) => bytes === undefined)) continue;
    const skip = (reason: string): void => {
      result.skipped.push({ node: label(node), opType: node.opType ?? '?', reason });
    };
    let outputBytes = 0;
    let unknown: string | undefined;
    for (const name of node.output) {
      if (name === '') continue;
      const type = types.type(name);
      const size = bytesPerElement[type?.elemType ?? 0];
      if (!isStaticShape(type?.dims) || size === undefined) {
        unknown = name;
        break;
      }
      outputBytes += elementCountOf(type.dims) * size;
    }
    if (unknown !== undefined) {
      skip(`the shape or type of '${unknown}' is not known, so the size of the result cannot be checked`);
      continue;
    }
    const totalIn = inputs.reduce((sum, name, i) => sum + freed(name, inputBytes[i]!), 0);
    const grows = outputBytes - totalIn;
    if (grows > growth.remainingBytes) {
      skip(`its result (${outputBytes} bytes) would grow the model by ${grows} bytes, more than the ${growth.remainingBytes} bytes left of the ${growth.limitBytes}-byte growth limit`);
      continue;
    }
    if (grows > 0) growth.remainingBytes -= grows;
    result.evaluated.push(node);
    for (const name of node.output) {
      if (name === '') continue;
      const type = types.type(name)!;
      known.set(name, elementCountOf(type.dims as number[]) * bytesPerElement[type.elemType!]!);
    }
  }
  return result;
}

/** Builds the model that evaluates `nodes` from the constants they read. */
function evaluationModel(model: ModelProto, nodes: readonly NodeProto[], leaves: ReadonlyMap<string, TensorProto>, outputs: readonly string[], types: GraphTypes): ModelProto {
  const graph = makeGraph({
    name: 'mlctl_fold',
    nodes,
    inputs: [],
    outputs: outputs.map((name) => makeTensorValueInfo(name, types.type(name)?.elemType ?? DataType.FLOAT)),
    initializers: [...leaves].map(([name, tensor]) => ({ ...tensor, name })),
  });
  // The folded nodes run under the model's own opsets and IR version.
  return { ...makeModel({ graph, opsets: {}, irVersion: model.irVersion ?? 8n }), opsetImport: model.opsetImport };
}

function checkResult(tensor: TensorProto | undefined, name: string, types: GraphTypes): string | undefined {
  if (tensor === undefined) return `the evaluator returned no value for '${name}'`;
  const type = types.type(name);
  if (type === undefined || type.elemType !== tensor.dataType) return `the evaluator returned data type ${tensor.dataType} for '${name}', not ${type?.elemType}`;
  const dims = tensor.dims.map(Number);
  const expected = type.dims;
  if (!isStaticShape(expected) || dims.length !== expected.length || dims.some((dim, i) => dim !== expected[i])) {
    return `the evaluator returned dims [${dims.join(',')}] for '${name}', not the inferred ones`;
  }
  return undefined;
}

async function evaluateNodes(
  model: ModelProto,
  nodes: readonly NodeProto[],
  constants: ConstantTable,
  known: ReadonlyMap<string, TensorProto>,
  outputs: readonly string[],
  types: GraphTypes,
  evaluate: ConstantEvaluator,
): Promise<Map<string, TensorProto>> {
  const produced = new Set(nodes.flatMap((node) => node.output));
  const leaves = new Map<string, TensorProto>();
  for (const node of nodes) {
    for (const name of node.input) {
      if (name === '' || produced.has(name) || leaves.has(name)) continue;
      const tensor = known.get(name) ?? constants.get(name);
      if (tensor === undefined) throw new Error(`no constant value for '${name}'`);
      leaves.set(name, tensor);
    }
  }
  const tensors = await evaluate({ model: evaluationModel(model, nodes, leaves, outputs, types), outputs });
  const results = new Map<string, TensorProto>();
  outputs.forEach((name, i) => {
    const tensor = tensors[i];
    const problem = checkResult(tensor, name, types);
    if (problem !== undefined) throw new Error(problem);
    results.set(name, { ...tensor!, name });
  });
  return results;
}

/**
 * Folds one graph (not its subgraphs). New constants become initializers
 * (Constant nodes before IR 4, and for graph outputs).
 * @param model - the model the graph belongs to (opsets and IR version of the evaluation model).
 */
export async function foldGraph(
  graph: GraphProto,
  model: ModelProto,
  constants: ConstantTable,
  types: GraphTypes,
  context: FoldContext,
): Promise<{ graph: GraphProto; counts: FoldCounts }> {
  let sorted: NodeProto[];
  try {
    sorted = topologicalSortNodes(graph.node);
  } catch {
    return { graph, counts: { byEvaluator: 0, fromShapes: 0, skipped: [] } };
  }
  const index = new GraphIndex(graph);
  const steps = plan(sorted, constants, types, index, context.growth);
  const removed = new Set<NodeProto>(steps.directNodes);
  const values = new Map<string, TensorProto>(steps.direct);
  const skipped = [...steps.skipped];
  let byEvaluator = 0;

  if (steps.evaluated.length > 0 && context.evaluate !== undefined) {
    const evaluatedSet = new Set(steps.evaluated);
    const isNeeded = (name: string): boolean =>
      index.isGraphOutput(name) || index.subgraphUsers(name).length > 0 || index.consumers(name).some((c) => !evaluatedSet.has(c.node));
    const frontier = steps.evaluated.flatMap((node) => node.output.filter((name) => name !== '' && isNeeded(name)));
    try {
      const results = frontier.length === 0 ? new Map<string, TensorProto>() : await evaluateNodes(model, steps.evaluated, constants, values, frontier, types, context.evaluate);
      for (const [name, tensor] of results) values.set(name, tensor);
      for (const node of steps.evaluated) removed.add(node);
      byEvaluator = steps.evaluated.length;
    } catch {
      // Node by node: one node the evaluator cannot run leaves the others foldable.
      for (const node of steps.evaluated) {
        const name = label(node);
        const missing = node.input.find((name) => name !== '' && !values.has(name) && !constants.has(name));
        if (missing !== undefined) {
          skipped.push({ node: name, opType: node.opType ?? '?', reason: `its input '${missing}' could not be folded` });
          continue;
        }
        const outputs = node.output.filter((name) => name !== '');
        try {
          const results = await evaluateNodes(model, [node], constants, values, outputs, types, context.evaluate);
          for (const [name, tensor] of results) values.set(name, tensor);
          removed.add(node);
          byEvaluator += 1;
        } catch (error) {
          skipped.push({ node: name, opType: node.opType ?? '?', reason: `evaluation failed: ${firstLine(describeError(error))}` });
        }
      }
    }
  } else if (steps.evaluated.length > 0) {
    for (const node of steps.evaluated) skipped.push({ node: label(node), opType: node.opType ?? '?', reason: 'no constant evaluator was given' });
  }
  if (removed.size === 0) return { graph, counts: { byEvaluator: 0, fromShapes: 0, skipped } };

  const node = graph.node.filter((n) => !removed.has(n));
  const stillRead = (name: string): boolean =>
    index.subgraphUsers(name).length > 0 || index.consumers(name).some((c) => !removed.has(c.node));
  const added: { name: string; tensor: TensorProto; nodeName: string }[] = [];
  const outputs: { name: string; tensor: TensorProto; nodeName: string }[] = [];
  for (const n of removed) {
    for (const name of n.output) {
      const tensor = values.get(name);
      if (name === '' || tensor === undefined) continue;
      const entry = { name, tensor, nodeName: context.names.next(`Constant_${name}`) };
      // A graph output must be made by a node, so it becomes a Constant node even in the main graph.
      if (index.isGraphOutput(name)) outputs.push(entry);
      else if (stillRead(name)) added.push(entry);
    }
  }
  // Before IR 4 an initializer must also be a graph input; Constant nodes keep the interface as it was.
  let result = addConstants({ ...graph, node }, (model.irVersion ?? 0n) >= 4n, added);
  result = addConstants(result, false, outputs);
  return { graph: result, counts: { byEvaluator, fromShapes: steps.directNodes.size, skipped } };
}

/**
 * Folds constants in the main graph, then in each subgraph (which may read
 * the main graph's new constants from the enclosing scope).
 */
export async function foldConstants(model: ModelProto, context: FoldContext): Promise<{ model: ModelProto; counts: FoldCounts }> {
  if (model.graph === undefined) return { model, counts: { byEvaluator: 0, fromShapes: 0, skipped: [] } };
  const subTypes = new Map<GraphProto, GraphTypes>();
  const mainTypes = inferGraphTypes(model.graph, { opset: context.opset, overridableInitializers: context.overridableInitializers }, subTypes);
  const total: FoldCounts = { byEvaluator: 0, fromShapes: 0, skipped: [] };

  const foldTree = async (graph: GraphProto, isMain: boolean, outer: ConstantTable | undefined, types: GraphTypes): Promise<GraphProto> => {
    const constants = new ConstantTable(graph, outer, isMain && context.overridableInitializers);
    const folded = await foldGraph(graph, model, constants, types, context);
    total.byEvaluator += folded.counts.byEvaluator;
    total.fromShapes += folded.counts.fromShapes;
    total.skipped.push(...folded.counts.skipped);
    const after = folded.graph;
    const table = new ConstantTable(after, outer, isMain && context.overridableInitializers);
    let changed = after !== graph;
    const node: NodeProto[] = [];
    for (const n of after.node) {
      if (nodeSubgraphs(n).length === 0) {
        node.push(n);
        continue;
      }
      const attribute = [];
      for (const a of n.attribute) {
        if (a.g === undefined && a.graphs.length === 0) {
          attribute.push(a);
          continue;
        }
        const sub = async (g: GraphProto): Promise<GraphProto> =>
          foldTree(g, false, table, subTypes.get(g) ?? inferGraphTypes(g, { opset: context.opset, outer: types }));
        const graphs: GraphProto[] = [];
        for (const g of a.graphs) graphs.push(await sub(g));
        const next = { ...a, graphs };
        if (a.g !== undefined) next.g = await sub(a.g);
        if (next.g !== a.g || graphs.some((g, i) => g !== a.graphs[i])) changed = true;
        attribute.push(next);
      }
      node.push({ ...n, attribute });
    }
    return changed ? { ...after, node } : graph;
  };
  const graph = await foldTree(model.graph, true, undefined, mainTypes);
  return { model: graph === model.graph ? model : { ...model, graph }, counts: total };
}
