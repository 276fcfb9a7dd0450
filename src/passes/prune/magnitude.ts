/**
 * Unstructured magnitude pruning: zero the smallest |w| of the selected
 * weights to an exact sparsity, per tensor or over all of them together, and
 * optionally store the results as sparse tensors.
 */
import { attrSparseTensor, makeNode } from '../../onnx/builder.js';
import { GraphIndex, opsetVersion, UniqueNameGenerator } from '../../onnx/graph.js';
import { isDefaultDomain } from '../../onnx/opset.js';
import type { GraphProto, ModelProto, NodeProto, SparseTensorProto, TensorProto } from '../../onnx/types.js';
import { applyMagnitudeCut, smallestMagnitudeCut, targetCount } from './select-smallest.js';
import { denseSizeBytes, sparseSizeBytes, toSparseTensor } from './sparse-storage.js';
import type { MagnitudeTensorReport, PruneScope, SkippedReport } from './types.js';
import {
  sparseConstantValue,
  countZeros,
  dimsOf,
  floatValues,
  isExcluded,
  nodeLabel,
  resolveConstant,
  unsupportedFloatReason,
  withFloatValues,
  type ConstantRef,
} from './weights.js';

/** Settled options of magnitude pruning. */
export interface MagnitudeOptions {
  sparsity: number;
  scope: PruneScope;
  opTypes: ReadonlySet<string>;
  exclude: readonly (string | RegExp)[];
  minElements: number;
  sparseStorage: boolean;
}

export interface MagnitudeResult {
  model: ModelProto;
  tensors: MagnitudeTensorReport[];
  skipped: SkippedReport[];
  notes: string[];
}

/** The lowest IR version with `sparse_initializer`. */
const SPARSE_INITIALIZER_IR = 6n;

interface Candidate {
  ref: ConstantRef;
  nodes: string[];
}

/** Which input of a node holds the weight to prune, or undefined when none is a constant. */
function weightInput(node: NodeProto, index: GraphIndex): string | undefined {
  if (node.opType === 'MatMul') {
    const [a = '', b = ''] = node.input;
    if (index.isConstant(b)) return b;
    return index.isConstant(a) ? a : b;
  }
  return node.input[1];
}

function collectCandidates(graph: GraphProto, index: GraphIndex, options: MagnitudeOptions, skipped: SkippedReport[]): Candidate[] {
  const candidates = new Map<string, Candidate>();
  const excludedReaders = new Map<string, string>();
  graph.node.forEach((node, nodeIndex) => {
    if (!isDefaultDomain(node.domain) || !options.opTypes.has(node.opType ?? '')) return;
    const label = nodeLabel(node, nodeIndex);
    const name = weightInput(node, index);
    if (name === undefined || name === '') return;
    if (isExcluded(node, options.exclude)) {
      excludedReaders.set(name, label);
      skipped.push({ node: label, tensor: name, reason: 'excluded by --exclude' });
      return;
    }
    const existing = candidates.get(name);
    if (existing !== undefined) {
      existing.nodes.push(label);
      return;
    }
    if (index.sparseInitializer(name) !== undefined || sparseConstantValue(index.producer(name)?.node) !== undefined) {
      skipped.push({ node: label, tensor: name, reason: 'the weight is already stored sparse' });
      return;
    }
    const ref = resolveConstant(index, name);
    if (ref === undefined) {
      skipped.push({ node: label, tensor: name, reason: 'the weight is computed at run time, not a constant' });
      return;
    }
    const unsupported = unsupportedFloatReason(ref.tensor);
    if (unsupported !== undefined) {
      skipped.push({ node: label, tensor: name, reason: `the weight cannot be pruned: ${unsupported}` });
      return;
    }
    const elements = dimsOf(ref.tensor).reduce((a, b) => a * b, 1);
    if (elements < options.minElements) {
      skipped.push({ node: label, tensor: name, reason: `${elements} elements, below --min-elements ${options.minElements}` });
      return;
    }
    candidates.set(name, { ref, nodes: [label] });
  });
  for (const [name, reader] of excludedReaders) {
    const candidate = candidates.get(name);
    if (candidate === undefined) continue;
    candidates.delete(name);
    skipped.push({ node: candidate.nodes.join(', '), tensor: name, reason: `the weight is also read by excluded node '${reader}'` });
  }
  return [...candidates.values()];
}

function prunedValues(values: Float32Array[], options: MagnitudeOptions): Float32Array[] {
  if (options.scope === 'global') {
    const total = values.reduce((sum, v) => sum + v.length, 0);
    const k = targetCount(options.sparsity, total);
    return applyMagnitudeCut(values, smallestMagnitudeCut(values, k), k);
  }
  return values.map((v) => {
    const k = targetCount(options.sparsity, v.length);
    return applyMagnitudeCut([v], smallestMagnitudeCut([v], k), k)[0]!;
  });
}

/** What replaces each pruned tensor: a dense tensor, or a sparse one. */
type Replacement = { kind: 'dense'; tensor: TensorProto } | { kind: 'sparse'; sparse: SparseTensorProto };

/**
 * Where sparse tensors go. ONNX types a sparse initializer as a sparse
 * tensor, which no dense operator accepts (onnx.checker's full check refuses
 * it; ONNX Runtime densifies it anyway), while `Constant(sparse_value)`
 * outputs a dense tensor: from opset 11 on, sparse weights are stored that
 * way; before, as sparse initializers.
 */
type SparseForm = 'constant' | 'initializer';

function rebuildGraph(
  graph: GraphProto,
  replacements: ReadonlyMap<string, Replacement>,
  form: SparseForm,
  dropInputs: boolean,
  names: UniqueNameGenerator,
): GraphProto {
  const sparseConstant = (sparse: SparseTensorProto, name: string, nodeName?: string): NodeProto =>
    makeNode('Constant', [], [name], { sparse_value: attrSparseTensor(sparse) }, { name: nodeName ?? names.next(`${name}_sparse`) });
  const sparseInitializer: SparseTensorProto[] = [...graph.sparseInitializer];
  const initializer: TensorProto[] = [];
  const headNodes: NodeProto[] = [];
  const moved = new Set<string>();
  for (const tensor of graph.initializer) {
    const name = tensor.name ?? '';
    const replacement = replacements.get(name);
    if (replacement === undefined) initializer.push(tensor);
    else if (replacement.kind === 'dense') initializer.push(replacement.tensor);
    else {
      moved.add(name);
      if (form === 'constant') headNodes.push(sparseConstant(replacement.sparse, name));
      else sparseInitializer.push(replacement.sparse);
    }
  }
  const node: NodeProto[] = [...headNodes];
  for (const original of graph.node) {
    const output = original.output[0] ?? '';
    const replacement = original.opType === 'Constant' ? replacements.get(output) : undefined;
    if (replacement === undefined) node.push(original);
    else if (replacement.kind === 'dense') {
      node.push({ ...original, attribute: original.attribute.map((a) => (a.name === 'value' ? { ...a, t: replacement.tensor } : a)) });
    } else if (form === 'constant') node.push(sparseConstant(replacement.sparse, output, original.name));
    else sparseInitializer.push(replacement.sparse);
  }
  const weightNames = new Set(initializer.map((t) => t.name ?? ''));
  // A weight that became a Constant node can no longer also be a graph input.
  const input = graph.input.filter((info) => {
    const name = info.name ?? '';
    if (form === 'constant' && moved.has(name)) return false;
    return !(dropInputs && (weightNames.has(name) || moved.has(name)));
  });
  return { ...graph, node, initializer, sparseInitializer, input };
}

/**
 * Magnitude-prunes the weights of the main graph's selected nodes. Nodes in
 * subgraphs are left alone. Pure: the input model is not changed.
 */
export function pruneMagnitude(model: ModelProto, options: MagnitudeOptions): MagnitudeResult {
  const graph = model.graph;
  const skipped: SkippedReport[] = [];
  const notes: string[] = [];
  if (graph === undefined) return { model, tensors: [], skipped, notes: ['the model has no main graph'] };
  const index = new GraphIndex(graph);
  const candidates = collectCandidates(graph, index, options, skipped);
  const before = candidates.map((c) => floatValues(c.ref.tensor));
  const after = prunedValues(before, options);

  const replacements = new Map<string, Replacement>();
  const tensors: MagnitudeTensorReport[] = candidates.map((candidate, i) => {
    const values = after[i]!;
    const dims = dimsOf(candidate.ref.tensor);
    const zerosAfter = countZeros(values);
    const bytesBefore = denseSizeBytes(values.length);
    const sparseBytes = sparseSizeBytes(values.length - zerosAfter);
    const storeSparse = options.sparseStorage && sparseBytes < bytesBefore;
    if (options.sparseStorage && !storeSparse) {
      skipped.push({ tensor: candidate.ref.name, reason: `kept dense: its ${values.length - zerosAfter} non-zeros would take ${sparseBytes} bytes sparse, not less than ${bytesBefore} dense` });
    }
    replacements.set(
      candidate.ref.name,
      storeSparse
        ? { kind: 'sparse', sparse: toSparseTensor(candidate.ref.name, dims, values) }
        : { kind: 'dense', tensor: withFloatValues(candidate.ref.tensor, dims, values) },
    );
    return {
      name: candidate.ref.name,
      nodes: candidate.nodes,
      shape: dims,
      elements: values.length,
      zerosBefore: countZeros(before[i]!),
      zerosAfter,
      sparsityAfter: values.length === 0 ? 0 : zerosAfter / values.length,
      storage: storeSparse ? 'sparse' : 'dense',
      bytesBefore,
      bytesAfter: storeSparse ? sparseBytes : bytesBefore,
    };
  });

  const anySparse = tensors.some((t) => t.storage === 'sparse');
  const form: SparseForm = (opsetVersion(model, '') ?? 0) >= 11 ? 'constant' : 'initializer';
  const irVersion = model.irVersion ?? 0n;
  const raiseIr = anySparse && form === 'initializer' && irVersion < SPARSE_INITIALIZER_IR;
  // Below IR 4 every initializer is also a graph input yet a constant; at IR 6 such
  // inputs would become overridable, which stops ONNX Runtime from folding them.
  const dropInputs = raiseIr && irVersion < 4n;
  if (anySparse) {
    notes.push(form === 'constant'
      ? 'sparse weights are stored as Constant nodes with a sparse_value (opset 11 and later), which give dense tensors to the nodes that read them'
      : 'sparse weights are stored as sparse initializers: opsets before 11 have no Constant sparse_value; onnxruntime densifies them when loading, but onnx.checker\'s full check (type inference) does not accept them as dense inputs');
  }
  if (raiseIr) {
    notes.push(`IR version raised from ${irVersion} to ${SPARSE_INITIALIZER_IR}, the first with sparse initializers` +
      (dropInputs ? '; initializers are no longer listed as graph inputs, so they stay constants' : ''));
  }
  const newGraph = rebuildGraph(graph, replacements, form, dropInputs, UniqueNameGenerator.fromModel(model));
  const newModel: ModelProto = { ...model, graph: newGraph, ...(raiseIr ? { irVersion: SPARSE_INITIALIZER_IR } : {}) };
  return { model: newModel, tensors, skipped, notes };
}
