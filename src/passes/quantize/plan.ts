/**
 * Deciding, node by node, what the quantize pass does: which input is the
 * weight, along which axis it is quantized, and whether the node gets an
 * integer kernel (dynamic), a DequantizeLinear on its weight (weight-only),
 * or stays float, and why.
 */
import { isDefaultDomain } from '../../onnx/opset.js';
import { DataType, type AttributeProto, type NodeProto } from '../../onnx/types.js';
import type { QuantizedType } from './numerics.js';
import type { QuantizableOpType, QuantizeMode } from './types.js';
import { resolveWeight, unsupportedWeightReason, weightShape, type Scope, type WeightSource } from './weights.js';

/** Settled options the planner needs. */
export interface PlanOptions {
  readonly mode: QuantizeMode;
  readonly weightType: QuantizedType;
  readonly perChannel: boolean;
  readonly symmetric: boolean;
  readonly opTypes: ReadonlySet<string>;
  readonly exclude: readonly (string | RegExp)[];
  readonly minElements: number;
  readonly convInteger: boolean;
  readonly convIntegerWeightTypes: ReadonlySet<QuantizedType>;
  readonly canReadExternal: boolean;
}

/** How one node is rewritten. */
export type NodeAction =
  /** MatMul with constant B → DynamicQuantizeLinear + MatMulInteger + Cast + Mul. */
  | 'dynamic-matmul'
  /** Gemm → (Transpose) + the dynamic MatMul pattern + bias Add. */
  | 'dynamic-gemm'
  /** Conv → DynamicQuantizeLinear + ConvInteger + Cast + Mul (+ Add). */
  | 'dynamic-conv'
  /** Gather over a quantized table, then DequantizeLinear of the gathered rows. */
  | 'gather-dequantize'
  /** DequantizeLinear(w_q) feeding the node's weight input. */
  | 'weight-only';

/** A node the pass will quantize. */
export interface PlannedNode {
  readonly kind: 'quantize';
  readonly node: NodeProto;
  readonly action: NodeAction;
  /** Which input is the weight. */
  readonly inputIndex: number;
  readonly weight: WeightSource;
  /** Channel axis of the stored weight (before any transpose), or undefined for per-tensor. */
  readonly axis: number | undefined;
  /** Why it got weight-only treatment in dynamic mode. */
  readonly note?: string;
}

/** A candidate node left in float. */
export interface SkippedNode {
  readonly kind: 'skip';
  readonly node: NodeProto;
  readonly reason: string;
  readonly weightName?: string;
}

export type NodePlan = PlannedNode | SkippedNode;

const weightInputIndex: Record<QuantizableOpType, number> = { MatMul: 1, Gemm: 1, Conv: 1, ConvTranspose: 1, Gather: 0 };

export function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const attribute: AttributeProto | undefined = node.attribute.find((a) => a.name === name);
  return attribute?.i === undefined ? fallback : Number(attribute.i);
}

export function floatAttribute(node: NodeProto, name: string, fallback: number): number {
  const attribute = node.attribute.find((a) => a.name === name);
  return attribute?.f === undefined ? fallback : attribute.f;
}

/** Whether `node` is named by an exclude entry (exact name or regular expression). */
export function isExcluded(node: NodeProto, exclude: readonly (string | RegExp)[]): boolean {
  const name = node.name ?? '';
  return exclude.some((entry) => (typeof entry === 'string' ? entry === name : entry.test(name)));
}

/**
 * The per-channel axis of a weight for its consumer, as ONNX Runtime picks it:
 * MatMul `[K, N]` → the last axis (N), Gemm → 0 with `transB` else 1,
 * Conv → 0 (output channels), ConvTranspose → 1, Gather → the last axis.
 * Undefined for rank-0/1 weights, which are quantized per tensor.
 */
export function perChannelAxis(opType: QuantizableOpType, node: NodeProto, rank: number): number | undefined {
  if (rank < 2) return undefined;
  switch (opType) {
    case 'MatMul':
      return rank - 1;
    case 'Gemm':
      return intAttribute(node, 'transB', 0) !== 0 ? 0 : 1;
    case 'Conv':
      return 0;
    case 'ConvTranspose':
      return 1;
    case 'Gather':
      return rank - 1;
  }
}

/** Plans one node, or returns undefined when it is not a candidate at all (other op types). */
export function planNode(node: NodeProto, scopes: readonly Scope[], options: PlanOptions): NodePlan | undefined {
  const opType = node.opType ?? '';
  if (!isDefaultDomain(node.domain) || !Object.hasOwn(weightInputIndex, opType)) return undefined;
  const op = opType as QuantizableOpType;
  if (!options.opTypes.has(op)) return undefined;
  const skip = (reason: string, weightName?: string): SkippedNode =>
    weightName === undefined ? { kind: 'skip', node, reason } : { kind: 'skip', node, reason, weightName };

  if (isExcluded(node, options.exclude)) return skip('excluded by --exclude');
  const inputIndex = weightInputIndex[op];
  const weightName = node.input[inputIndex] ?? '';
  if (weightName === '') return skip('has no weight input');
  const weight = resolveWeight(weightName, scopes);
  // Gather is as often index plumbing (shapes) as an embedding lookup: only a float table makes it a candidate.
  if (op === 'Gather' && (weight === undefined || weight.tensor.dataType !== DataType.FLOAT)) return undefined;
  if (weight === undefined) return skip(`input '${weightName}' is not a constant`, weightName);
  const unsupported = unsupportedWeightReason(weight, options.canReadExternal);
  if (unsupported !== undefined) return skip(unsupported, weightName);
  const { dims, count } = weightShape(weight.tensor);
  if (count < options.minElements) {
    return skip(`weight has ${count} elements, fewer than --min-elements ${options.minElements}`, weightName);
  }
  if (count === 0) return skip('weight is empty', weightName);
  const axis = options.perChannel ? perChannelAxis(op, node, dims.length) : undefined;
  const plan = (action: NodeAction, note?: string): PlannedNode =>
    note === undefined
      ? { kind: 'quantize', node, action, inputIndex, weight, axis }
      : { kind: 'quantize', node, action, inputIndex, weight, axis, note };

  if (op === 'Gather') {
    // Gathering int8 rows and dequantizing only those beats dequantizing the whole table on every run.
    return intAttribute(node, 'axis', 0) === 0 && dims.length >= 2 ? plan('gather-dequantize') : plan('weight-only');
  }
  if (options.mode === 'weight-only') return plan('weight-only');
  switch (op) {
    case 'MatMul':
      if (dims.length !== 2) return plan('weight-only', 'MatMulInteger takes per-column zero points only for a 2-D weight');
      return plan('dynamic-matmul');
    case 'Gemm':
      if (dims.length !== 2) return skip(`Gemm weight has rank ${dims.length}; expected 2`, weightName);
      return plan('dynamic-gemm');
    case 'Conv':
      if (!options.convInteger) {
        return plan('weight-only', 'ConvInteger runs slower than float Conv in onnxruntime\'s CPU provider; pass --conv-integer to emit it anyway');
      }
      if (!options.convIntegerWeightTypes.has(options.weightType)) {
        return plan('weight-only', `this runtime's ConvInteger does not take ${options.weightType} weights`);
      }
      if (axis !== undefined && !options.symmetric) {
        // Symmetric channels share one zero point; asymmetric ones do not, and ConvInteger takes only one.
        return plan('weight-only', 'ConvInteger takes one weight zero point, and asymmetric per-channel weights have one per channel');
      }
      return plan('dynamic-conv');
    case 'ConvTranspose':
      return plan('weight-only', 'ONNX has no integer ConvTranspose');
  }
}
