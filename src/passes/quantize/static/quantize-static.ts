/**
 * `quantizeStatic`: calibrated QDQ quantization of a prepared float model,
 * as a pure function from model and activation ranges to model plus report.
 *
 * The layout is ONNX Runtime's `quantize_static` QDQ format, which its
 * graph optimizer fuses into integer kernels: every quantized activation
 * tensor T becomes `T → QuantizeLinear → DequantizeLinear → (all consumers)`,
 * weights are int8 initializers behind a DequantizeLinear, biases int32 with
 * `scale = input_scale × weight_scale`. A quantized node's float operator
 * stays in the graph between DequantizeLinear and QuantizeLinear; ONNX
 * Runtime replaces `DQ → Conv → Q` with QLinearConv, `DQ → MatMul → Q` with
 * QLinearMatMul, `DQ → Add → Q` with QLinearAdd, and so on.
 */
import { GraphIndex, isTopologicallySorted, opsetVersion, topologicalSort, UniqueNameGenerator } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import type { GraphProto, ModelProto, NodeProto } from '../../../onnx/types.js';
import { NonFiniteWeightError } from '../kernel.js';
import { weightValues } from '../weights.js';
import { defaultWeightKernel } from '../quantize-model.js';
import { planStatic, type StaticNodePlan, type StaticPlan } from './plan-static.js';
import { STATIC_MIN_OPSET } from './prepare.js';
import { QdqBuilder } from './qdq-builder.js';
import type { StaticActivationReport, StaticNodeReport, StaticQuantizeOptions, StaticQuantizeReport, StaticQuantizeResult, TensorRange, TensorRanges } from './types.js';

/**
 * Ranges as the quantizer uses them: non-finite ones dropped, and Softmax
 * outputs set to [0, 1] as ONNX Runtime does.
 */
function effectiveRanges(graph: GraphProto, ranges: TensorRanges): Map<string, TensorRange> {
  const result = new Map<string, TensorRange>();
  for (const [name, range] of ranges) {
    if (Number.isFinite(range.min) && Number.isFinite(range.max) && range.min <= range.max) result.set(name, range);
  }
  for (const node of graph.node) {
    const output = node.output[0] ?? '';
    if (node.opType === 'Softmax' && isDefaultDomain(node.domain) && result.has(output)) result.set(output, { min: 0, max: 1 });
  }
  return result;
}

function nodeReport(plan: StaticNodePlan): StaticNodeReport {
  const report: StaticNodeReport = {
    node: plan.label,
    opType: plan.node.opType ?? '',
    key: plan.label,
    action: plan.action,
    ownsError: plan.role === 'anchor' || plan.role === 'independent',
  };
  if (plan.reason !== undefined) report.reason = plan.reason;
  return report;
}

interface Emitted {
  graph: GraphProto;
  activations: StaticActivationReport[];
}

/** Rewrites the main graph after `plan` (see the module comment). */
function emitGraph(graph: GraphProto, plan: StaticPlan, ranges: ReadonlyMap<string, TensorRange>, builder: QdqBuilder): Emitted {
  const byNode = new Map(plan.nodes.map((p) => [p.node, p]));
  const producerOf = new Map<string, NodeProto>();
  for (const node of graph.node) {
    const p = byNode.get(node);
    if (p?.action === 'fused') continue;
    node.output.forEach((name, i) => producerOf.set(i === 0 && p?.outputRename !== undefined ? p.outputRename : name, node));
  }

  // Activation pairs, placed right after the node producing the tensor (graph inputs: first).
  const after = new Map<NodeProto, NodeProto[]>();
  const head: NodeProto[] = [];
  const dequantizedName = new Map<string, string>();
  const activations: StaticActivationReport[] = [];
  for (const activation of plan.activations.values()) {
    const range = ranges.get(activation.paramsFrom)!;
    const params = builder.activationParams(activation.paramsFrom, range);
    const producer = producerOf.get(activation.tensor);
    let out = head;
    if (producer !== undefined) {
      const list = after.get(producer) ?? [];
      after.set(producer, list);
      out = list;
    }
    const dequantized = builder.activationPair(activation.tensor, params, out);
    dequantizedName.set(activation.tensor, dequantized);
    const report: StaticActivationReport = {
      tensor: activation.tensor,
      dequantized,
      rmin: range.min,
      rmax: range.max,
      scale: params.params.scale,
      zeroPoint: params.params.zeroPoint,
    };
    if (activation.paramsFrom !== activation.tensor) report.sharedWith = activation.paramsFrom;
    if (activation.fused !== undefined) report.fusedActivation = activation.fused;
    activations.push(report);
  }

  const body: NodeProto[] = [];
  for (const node of graph.node) {
    const p = byNode.get(node);
    if (p?.action === 'fused') continue;
    const input = node.input.map((name) => dequantizedName.get(name) ?? name);
    if (p?.action === 'quantized') substituteConstants(p, input, builder, dequantizedName, plan, ranges);
    const output = p?.outputRename === undefined ? node.output : [p.outputRename, ...node.output.slice(1)];
    const changed = input.some((name, i) => name !== node.input[i]) || output !== node.output;
    body.push(changed ? { ...node, input, output: [...output] } : node);
    body.push(...(after.get(node) ?? []));
  }
  return { graph: { ...graph, node: [...builder.headNodes, ...head, ...body] }, activations };
}

/** Puts the DequantizeLinear outputs of a quantized node's weight, bias and constant operands into `input`. */
function substituteConstants(
  p: StaticNodePlan,
  input: string[],
  builder: QdqBuilder,
  dequantizedName: ReadonlyMap<string, string>,
  plan: StaticPlan,
  ranges: ReadonlyMap<string, TensorRange>,
): void {
  if (p.weight !== undefined) {
    const root = plan.activations.get(p.node.input[0] ?? '')?.paramsFrom;
    const inputParams = root === undefined || !dequantizedName.has(p.node.input[0] ?? '') ? undefined : builder.activationParams(root, ranges.get(root)!);
    const biasValues = p.bias === undefined || inputParams === undefined ? undefined : weightValues(p.bias.source.tensor, undefined);
    const weight = builder.weight(p.weight.source, p.weight.axis, biasValues === undefined ? undefined : { values: biasValues, inputScale: inputParams!.params.scale }, p.node.opType === 'Gemm');
    input[p.weight.index] = weight.output;
    if (p.bias !== undefined && inputParams !== undefined) {
      const bias = builder.bias(p.bias.source, { scale: inputParams.params.scale, scaleName: inputParams.scale }, weight, { label: p.label, computedScale: p.node.opType === 'Conv' }, weight.raised.length);
      if (bias !== undefined) input[p.bias.index] = bias;
    }
  }
  for (const constant of p.constants ?? []) input[constant.index] = builder.constantOperand(constant.source);
}

/** Removes the replaced float constants nothing reads any more, and value_info of names that no longer exist. */
function cleanUp(graph: GraphProto, builder: QdqBuilder): GraphProto {
  const index = new GraphIndex(graph);
  const removable = new Set([...builder.replacedConstants].filter((name) => !index.isUsed(name)));
  for (const report of builder.weightReports) if (!removable.has(report.name)) report.floatKept = true;
  const defined = new Set<string>();
  for (const node of graph.node) for (const name of node.output) defined.add(name);
  for (const info of graph.input) defined.add(info.name ?? '');
  for (const tensor of graph.initializer) defined.add(tensor.name ?? '');
  return {
    ...graph,
    node: graph.node.filter((n) => !(n.opType === 'Constant' && n.output.length === 1 && removable.has(n.output[0] ?? ''))),
    initializer: graph.initializer.filter((t) => !removable.has(t.name ?? '')),
    input: graph.input.filter((info) => !removable.has(info.name ?? '')),
    valueInfo: graph.valueInfo.filter((info) => defined.has(info.name ?? '') && !removable.has(info.name ?? '')),
  };
}

/** Leaves a node in float after its weight turned out not to be quantizable. */
function demote(node: StaticNodePlan, reason: string): void {
  node.action = 'float';
  node.reason = reason;
  delete node.weight;
  delete node.bias;
}

/**
 * Quantizes the main graph of `model` (prepared with `prepareForStatic`, opset
 * 13 or newer) with the calibrated `ranges`. Subgraphs and functions are left
 * in float. The input model is not changed.
 */
export function quantizeStatic(model: ModelProto, ranges: TensorRanges, options: StaticQuantizeOptions = {}): StaticQuantizeResult {
  const activationType = options.activationType ?? 'uint8';
  const perChannel = options.perChannel ?? true;
  const reduceRange = options.reduceRange ?? false;
  const notes: string[] = [];
  const emptyReport = (): StaticQuantizeReport => ({
    activationType, weightType: 'int8', perChannel, reduceRange, nodes: [], activations: [], weights: [], biases: [],
    nodesQuantized: 0, nodesFloat: 0, weightBytesBefore: 0, weightBytesAfter: 0, notes,
  });
  if (model.graph === undefined) {
    notes.push('the model has no main graph');
    return { model, report: emptyReport() };
  }
  const original = isTopologicallySorted(model.graph) ? model.graph : topologicalSort(model.graph);
  const effective = effectiveRanges(original, ranges);
  const opset = opsetVersion(model, '') ?? 1;
  const plan = planStatic(original, opset < STATIC_MIN_OPSET ? new Map() : effective, {
    exclude: options.exclude ?? [],
    forceFloat: new Set(options.forceFloat ?? []),
    minElements: options.minElements ?? 0,
    perChannel,
  });
  if (opset < STATIC_MIN_OPSET) notes.push(`the model's opset ${opset} is below ${STATIC_MIN_OPSET}; prepare it first (prepareForStatic)`);

  const builder = new QdqBuilder(UniqueNameGenerator.fromModel(model), activationType, reduceRange, options.weightKernel ?? defaultWeightKernel, options.explicitBiasScales ?? false);
  // Quantize weights up front so that a NaN or infinite weight leaves its node in float before anything is emitted.
  for (const node of plan.nodes) {
    if (node.action !== 'quantized' || node.weight === undefined) continue;
    try {
      builder.kernelResult(node.weight.source, node.weight.axis);
    } catch (error) {
      if (!(error instanceof NonFiniteWeightError)) throw error;
      demote(node, error.message);
    }
  }
  const quantizedCount = plan.nodes.filter((n) => n.action !== 'float').length;
  const report = emptyReport();
  report.nodes = plan.nodes.map(nodeReport);
  report.nodesQuantized = plan.nodes.filter((n) => n.action === 'quantized').length;
  report.nodesFloat = plan.nodes.filter((n) => n.action === 'float').length;
  if (quantizedCount === 0) return { model, report };

  const emitted = emitGraph(original, plan, effective, builder);
  let graph = cleanUp({ ...emitted.graph, initializer: [...original.initializer, ...builder.initializers] }, builder);
  if (!isTopologicallySorted(graph)) graph = topologicalSort(graph);
  report.activations = emitted.activations;
  report.weights = builder.weightReports;
  report.biases = builder.biasReports;
  report.weightBytesBefore = builder.weightReports.reduce((sum, t) => sum + t.bytesBefore, 0);
  report.weightBytesAfter = builder.weightReports.reduce((sum, t) => sum + t.bytesAfter + (t.floatKept ? t.bytesBefore : 0), 0);
  const clipped = builder.biasReports.reduce((sum, b) => sum + b.clipped, 0);
  if (clipped > 0) notes.push(`${clipped} bias values fell outside int32 and were clipped`);
  const raised = builder.biasReports.reduce((sum, b) => sum + b.weightScalesRaised, 0);
  if (raised > 0) notes.push(`${raised} weight channel scales were raised so that their int32 bias fits (as onnxruntime does)`);
  return { model: { ...model, graph }, report };
}
