/**
 * What the converter does once every node has crossed every step: stamps the
 * new opset and IR version, removes constants that only fed attributes that
 * are now inputs (or the reverse), and reports on what it left alone.
 */
import { isDefaultDomain, normalizeDomain } from '../../../onnx/opset.js';
import { nodeSubgraphs } from '../../../onnx/graph.js';
import type { GraphProto, ModelProto, TensorProto, ValueInfoProto } from '../../../onnx/types.js';
import type { GraphFrame } from './step-context.js';

/** The graphs the converter walks from: the main graph, then training graphs. */
export function topLevelGraphs(model: ModelProto): GraphFrame[] {
  const frames: GraphFrame[] = [];
  if (model.graph !== undefined) {
    frames.push({ graph: model.graph, parent: undefined, path: `graph '${model.graph.name ?? ''}'`, holdsInitializers: true });
  }
  model.trainingInfo.forEach((info, index) => {
    for (const [part, graph] of [['initialization', info.initialization], ['algorithm', info.algorithm]] as const) {
      if (graph !== undefined) frames.push({ graph, parent: undefined, path: `trainingInfo[${index}].${part}`, holdsInitializers: false });
    }
  });
  return frames;
}

function forEachGraphDeep(model: ModelProto, visit: (graph: GraphProto) => void): void {
  const walk = (graph: GraphProto): void => {
    visit(graph);
    for (const node of graph.node) for (const sub of nodeSubgraphs(node)) walk(sub.graph);
  };
  for (const frame of topLevelGraphs(model)) walk(frame.graph);
}

/** Every value name that some node input or graph output reads, in any graph of the model. */
export function usedValueNames(model: ModelProto): Set<string> {
  const used = new Set<string>();
  forEachGraphDeep(model, (graph) => {
    for (const node of graph.node) for (const name of node.input) if (name !== '') used.add(name);
    for (const output of graph.output) if (output.name) used.add(output.name);
  });
  return used;
}

/** What {@link finishModel} needs to know about the run. */
export interface FinishInput {
  fromOpset: number;
  targetOpset: number;
  minIrVersion: number;
  /** Value names read in the input model. */
  usedBefore: ReadonlySet<string>;
  /** Initializers the adapters added to the main graph. */
  createdInitializers: readonly TensorProto[];
}

/**
 * Removes initializers and Constant nodes that the input model read but the
 * converted one no longer does (an axes input that became an attribute
 * again). Returns how many were removed.
 */
function removeOrphanedConstants(model: ModelProto, usedBefore: ReadonlySet<string>): number {
  const usedAfter = usedValueNames(model);
  const orphaned = (name: string | undefined): boolean => name !== undefined && usedBefore.has(name) && !usedAfter.has(name);
  let removed = 0;
  forEachGraphDeep(model, (graph) => {
    const inputs = new Set(graph.input.map((info) => info.name));
    const initializers = graph.initializer.filter((tensor) => inputs.has(tensor.name) || !orphaned(tensor.name));
    const nodes = graph.node.filter(
      (node) => !(node.opType === 'Constant' && isDefaultDomain(node.domain) && node.output.every((name) => orphaned(name))),
    );
    removed += graph.initializer.length - initializers.length + graph.node.length - nodes.length;
    graph.initializer = initializers;
    graph.node = nodes;
  });
  return removed;
}

function inputFor(tensor: TensorProto): ValueInfoProto {
  return {
    name: tensor.name,
    type: { tensorType: { elemType: tensor.dataType, shape: { dim: tensor.dims.map((dimValue) => ({ dimValue })) } } },
    metadataProps: [],
  };
}

/**
 * Stamps the target opset and the IR version it needs, cleans up, and
 * returns the model-level notes for the report.
 */
export function finishModel(model: ModelProto, input: FinishInput): string[] {
  const notes: string[] = [];
  for (const entry of model.opsetImport) {
    if (normalizeDomain(entry.domain) === '') entry.version = BigInt(input.targetOpset);
  }
  const irVersion = Number(model.irVersion ?? 0n);
  if (irVersion < input.minIrVersion) {
    model.irVersion = BigInt(input.minIrVersion);
    notes.push(`IR version raised from ${irVersion} to ${input.minIrVersion}, the lowest that opset ${input.targetOpset} allows`);
  }
  // Before IR 4, every initializer must also be a graph input.
  if (Number(model.irVersion ?? 0n) < 4 && model.graph !== undefined) {
    for (const tensor of input.createdInitializers) model.graph.input.push(inputFor(tensor));
  }
  const removed = removeOrphanedConstants(model, input.usedBefore);
  if (removed > 0) notes.push(`${removed} constant${removed === 1 ? '' : 's'} no longer read after the conversion removed`);
  if (model.functions.length > 0) {
    const versions = model.functions.map((fn) => fn.opsetImport.find((entry) => normalizeDomain(entry.domain) === '')?.version);
    const imports = [...new Set(versions.filter((v) => v !== undefined).map(String))];
    notes.push(
      `${model.functions.length} model-local function${model.functions.length === 1 ? '' : 's'} left as ${model.functions.length === 1 ? 'it is' : 'they are'}` +
        (imports.length > 0 ? ` (importing default-domain opset ${imports.join(', ')})` : '') +
        '; function bodies keep their own opset imports and are not converted',
    );
  }
  if (model.trainingInfo.length > 0) notes.push('training graphs (training_info) were converted too');
  if (input.targetOpset < input.fromOpset) {
    notes.push('converting down does not check element types: a type an operator accepts only from a newer opset is not detected');
  }
  return notes;
}
