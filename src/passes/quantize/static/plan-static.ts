/**
 * Deciding, node by node in topological order, what static quantization does
 * with the main graph: which nodes get QuantizeLinear/DequantizeLinear around
 * them, which Relu/Clip fold into their producer, which activation tensors
 * are quantized and where each one's scale and zero point come from.
 *
 * The order matters as it does in ONNX Runtime's quantizer: an operator that
 * moves data (MaxPool, Reshape, ...) is quantized only when its input already
 * is, and then shares its input's parameters.
 */
import { GraphIndex } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import { tensorDims, tensorElementCount } from '../../../onnx/tensor.js';
import { DataType, type GraphProto, type NodeProto } from '../../../onnx/types.js';
import { floatAttribute, intAttribute, isExcluded, perChannelAxis } from '../plan.js';
import { resolveWeight, unsupportedWeightReason, type Scope, type WeightSource } from '../weights.js';
import { dataInputIndices, dataOutputIndices, opRule, type OpRole } from './op-rules.js';
import type { TensorRanges } from './types.js';

/** How one activation tensor is quantized. */
export interface ActivationPlan {
  readonly tensor: string;
  /** The tensor whose range gives the scale and zero point: itself, or the root of a chain of data-moving operators. */
  readonly paramsFrom: string;
  /** Set when a Relu/Clip was folded into the producer of this tensor. */
  readonly fused?: { opType: string; min: number; max: number };
}

/** A constant input quantized as part of a node. */
export interface ConstantInput {
  readonly index: number;
  readonly source: WeightSource;
}

/** The decision for one node the pass considered. */
export interface StaticNodePlan {
  readonly node: NodeProto;
  readonly nodeIndex: number;
  readonly label: string;
  readonly role: OpRole;
  action: 'quantized' | 'fused' | 'float';
  reason?: string;
  /** Anchors: the weight and its per-channel axis (undefined: per tensor). */
  weight?: ConstantInput & { axis: number | undefined };
  /** Anchors: a float bias turned into int32. */
  bias?: ConstantInput;
  /** Add, Mul, Concat: float constant operands, quantized like activations. */
  constants?: ConstantInput[];
  /** The name this node's first output takes because a Relu/Clip after it was folded. */
  outputRename?: string;
}

/** The whole plan. */
export interface StaticPlan {
  readonly nodes: StaticNodePlan[];
  /** Quantized activation tensors, in the order they were decided. */
  readonly activations: Map<string, ActivationPlan>;
}

/** Settled options the planner needs. */
export interface StaticPlanOptions {
  readonly exclude: readonly (string | RegExp)[];
  readonly forceFloat: ReadonlySet<string>;
  readonly minElements: number;
  readonly perChannel: boolean;
}

export function nodeLabel(node: NodeProto, nodeIndex: number): string {
  return node.name !== undefined && node.name !== '' ? node.name : `#${nodeIndex}`;
}

/**
 * The activation tensors calibration should measure: the non-constant data
 * inputs and outputs of every node static quantization may quantize, graph
 * outputs excepted (they stay float). Non-float ones are measured too and
 * dropped by the caller, which learns element types from the runtime.
 */
export function calibrationTensors(graph: GraphProto, exclude: readonly (string | RegExp)[] = []): string[] {
  const index = new GraphIndex(graph);
  const names = new Set<string>();
  for (const node of graph.node) {
    const rule = isDefaultDomain(node.domain) ? opRule(node.opType ?? '') : undefined;
    if (rule === undefined || isExcluded(node, exclude)) continue;
    for (const i of dataInputIndices(rule, node.input.length)) {
      const name = node.input[i] ?? '';
      if (name !== '' && !index.isConstant(name) && !index.isGraphOutput(name)) names.add(name);
    }
    for (const i of dataOutputIndices(rule, node.output.length)) {
      const name = node.output[i] ?? '';
      if (name !== '' && !index.isGraphOutput(name)) names.add(name);
    }
  }
  return [...names];
}

/** Bounds of a Clip (attributes before opset 11, constant inputs after); undefined when they are not constant. */
function clipBounds(node: NodeProto, scopes: readonly Scope[]): { min: number; max: number } | undefined {
  if (node.opType === 'Relu') return { min: 0, max: Infinity };
  if (node.attribute.some((a) => a.name === 'min' || a.name === 'max')) {
    return { min: floatAttribute(node, 'min', -Infinity), max: floatAttribute(node, 'max', Infinity) };
  }
  const bound = (i: number, fallback: number): number | undefined => {
    const name = node.input[i] ?? '';
    if (name === '') return fallback;
    const source = resolveWeight(name, scopes);
    if (source === undefined || source.tensor.dataType !== DataType.FLOAT || tensorElementCount(source.tensor) !== 1) return undefined;
    const raw = source.tensor.rawData;
    return raw !== undefined && raw.length === 4 ? new DataView(raw.buffer, raw.byteOffset, 4).getFloat32(0, true) : source.tensor.floatData[0];
  };
  const min = bound(1, -Infinity);
  const max = bound(2, Infinity);
  return min === undefined || max === undefined ? undefined : { min, max };
}

/** Why a constant cannot serve as this anchor's weight, or undefined when it can. */
function weightProblem(node: NodeProto, source: WeightSource | undefined, name: string, minElements: number): string | undefined {
  if (source === undefined) return `its weight '${name}' is not a constant`;
  const unsupported = unsupportedWeightReason(source, true);
  if (unsupported !== undefined) return unsupported;
  const rank = tensorDims(source.tensor).length;
  if (node.opType === 'Conv' && rank < 3) return `its weight '${name}' has rank ${rank}; expected 3 or more`;
  if (node.opType === 'Gemm' && rank !== 2) return `its weight '${name}' has rank ${rank}; expected 2`;
  const count = tensorElementCount(source.tensor);
  if (count === 0) return `its weight '${name}' is empty`;
  if (count < minElements) return `its weight has ${count} elements, fewer than --min-elements ${minElements}`;
  return undefined;
}

/** The bias an anchor can take as int32: a float constant of one value per output channel. */
function biasInput(node: NodeProto, scopes: readonly Scope[], channels: number): ConstantInput | undefined {
  const name = node.input[2] ?? '';
  if (name === '' || node.opType === 'MatMul') return undefined;
  if (node.opType === 'Gemm' && floatAttribute(node, 'beta', 1) !== 1) return undefined;
  const source = resolveWeight(name, scopes);
  if (source === undefined || unsupportedWeightReason(source, true) !== undefined) return undefined;
  const dims = tensorDims(source.tensor);
  return dims.length === 1 && dims[0] === channels ? { index: 2, source } : undefined;
}

/** Plans the main graph (see the module comment). `graph` must be topologically sorted. */
export function planStatic(graph: GraphProto, ranges: TensorRanges, options: StaticPlanOptions): StaticPlan {
  const index = new GraphIndex(graph);
  const scopes: Scope[] = [{ graph, index }];
  const activations = new Map<string, ActivationPlan>();
  const nodes: StaticNodePlan[] = [];
  const planByNode = new Map<NodeProto, StaticNodePlan>();
  const quantizable = (name: string): boolean => ranges.has(name) && !index.isGraphOutput(name) && !index.isConstant(name);
  const own = (tensor: string): void => {
    if (!activations.has(tensor)) activations.set(tensor, { tensor, paramsFrom: tensor });
  };

  graph.node.forEach((node, nodeIndex) => {
    const rule = isDefaultDomain(node.domain) ? opRule(node.opType ?? '') : undefined;
    if (rule === undefined) return;
    const label = nodeLabel(node, nodeIndex);
    const plan: StaticNodePlan = { node, nodeIndex, label, role: rule.role, action: 'float' };
    nodes.push(plan);
    planByNode.set(node, plan);
    const float = (reason: string): void => {
      plan.reason = reason;
    };
    if (isExcluded(node, options.exclude)) return float('excluded by --exclude');
    if (options.forceFloat.has(label)) return float('kept in float by the accuracy-driven search');
    const inputs = dataInputIndices(rule, node.input.length).map((i) => ({ i, name: node.input[i] ?? '' })).filter((input) => input.name !== '');
    const outputs = dataOutputIndices(rule, node.output.length).map((i) => node.output[i] ?? '');
    const extraOutputUsed = node.output.some((name) => !outputs.includes(name) && name !== '' && index.isUsed(name));
    if (extraOutputUsed) return float('an output other than its data output is used');

    switch (rule.role) {
      case 'anchor': {
        const activation = node.input[0] ?? '';
        if (index.isConstant(activation)) return float(`its input '${activation}' is a constant`);
        if (!activations.has(activation) && !quantizable(activation)) return float(`its input '${activation}' has no calibrated float range`);
        const weightName = node.input[1] ?? '';
        const source = resolveWeight(weightName, scopes);
        let secondActivation: string | undefined;
        if (node.opType === 'MatMul' && source === undefined) {
          if (!activations.has(weightName) && !quantizable(weightName)) return float(`its input '${weightName}' has no calibrated float range`);
          secondActivation = weightName;
        } else {
          const problem = weightProblem(node, source, weightName, options.minElements);
          if (problem !== undefined) return float(problem);
          const dims = tensorDims(source!.tensor);
          const op = node.opType as 'Conv' | 'MatMul' | 'Gemm';
          const axis = !options.perChannel || (op === 'MatMul' && dims.length !== 2) ? undefined : perChannelAxis(op, node, dims.length);
          plan.weight = { index: 1, source: source!, axis };
          const channels = op === 'Conv' ? dims[0]! : op === 'Gemm' ? dims[intAttribute(node, 'transB', 0) !== 0 ? 0 : 1]! : -1;
          const bias = biasInput(node, scopes, channels);
          if (bias !== undefined) plan.bias = bias;
        }
        own(activation);
        if (secondActivation !== undefined) own(secondActivation);
        const output = outputs[0] ?? '';
        if (quantizable(output)) own(output);
        plan.action = 'quantized';
        if (!quantizable(output)) plan.reason = index.isGraphOutput(output) ? 'its output is a graph output and stays float' : `its output '${output}' has no calibrated range and stays float`;
        return;
      }
      case 'independent': {
        const output = outputs[0] ?? '';
        if (!quantizable(output)) {
          return float(index.isGraphOutput(output) ? 'its output is a graph output, which stays float' : `its output '${output}' has no calibrated float range`);
        }
        const constants: ConstantInput[] = [];
        for (const { i, name } of inputs) {
          const source = index.isConstant(name) || index.isOuterScope(name) ? resolveWeight(name, scopes) : undefined;
          if (source !== undefined) {
            if (source.tensor.dataType !== DataType.FLOAT || unsupportedWeightReason(source, true) !== undefined) return float(`its constant input '${name}' is not float32`);
            constants.push({ index: i, source });
          } else if (!activations.has(name) && !quantizable(name)) {
            return float(`its input '${name}' has no calibrated float range`);
          }
        }
        if (constants.length === inputs.length) return float('all its inputs are constants');
        for (const { i, name } of inputs) if (!constants.some((c) => c.index === i)) own(name);
        if (constants.length > 0) plan.constants = constants;
        own(output);
        plan.action = 'quantized';
        return;
      }
      case 'same-as-input': {
        const input = node.input[0] ?? '';
        const output = outputs[0] ?? '';
        const from = activations.get(input);
        if (from === undefined) return float('its input is not quantized');
        if (!ranges.has(output) || index.isGraphOutput(output)) return float(index.isGraphOutput(output) ? 'its output is a graph output, which stays float' : 'its output is not a float tensor');
        activations.set(output, { tensor: output, paramsFrom: from.paramsFrom });
        plan.action = 'quantized';
        return;
      }
      case 'removable': {
        const input = node.input[0] ?? '';
        const output = outputs[0] ?? '';
        if (!activations.has(input)) return float('its input is not quantized');
        if (!quantizable(output)) return float(index.isGraphOutput(output) ? 'its output is a graph output, which stays float' : `its output '${output}' has no calibrated range`);
        const producer = index.producer(input);
        const producerPlan = producer === undefined ? undefined : planByNode.get(producer.node);
        const bounds = clipBounds(node, scopes);
        const fusable =
          producerPlan !== undefined && producerPlan.action === 'quantized' && producer!.outputIndex === 0 &&
          (producerPlan.role === 'anchor' || producerPlan.role === 'independent') &&
          activations.get(input)?.paramsFrom === input && index.consumers(input).length === 1 &&
          index.subgraphUsers(input).length === 0 && bounds !== undefined && bounds.min <= 0 && bounds.max >= 0;
        if (fusable) {
          activations.delete(input);
          activations.set(output, { tensor: output, paramsFrom: output, fused: { opType: node.opType ?? '', min: bounds.min, max: bounds.max } });
          producerPlan.outputRename = output;
          plan.action = 'fused';
          plan.reason = `folded into the quantization of ${producerPlan.label}'s output`;
          return;
        }
        own(output);
        plan.action = 'quantized';
        return;
      }
    }
  });
  return { nodes, activations };
}
