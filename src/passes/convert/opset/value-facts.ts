/**
 * What the converter knows about the values of one graph without running
 * it: constants (initializers and Constant nodes) and, where they follow
 * simply, element types and ranks. Declared types (graph inputs, outputs,
 * value_info) come first; the rest is inferred forward over the nodes with a
 * few rules per operator. Unknown stays unknown: adapters either choose a
 * form that needs no fact, or refuse.
 */
import { isDefaultDomain } from '../../../onnx/opset.js';
import { createTensor, tensorData } from '../../../onnx/tensor.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto, type TypeProto } from '../../../onnx/types.js';
import { findAttribute, intAttribute, intsAttribute } from './attributes.js';
import type { ValueFact } from './types.js';

/** Constants and facts of one graph, falling back to the enclosing graph's. */
export class GraphScope {
  private readonly constants = new Map<string, TensorProto>();
  private readonly facts = new Map<string, ValueFact>();

  /**
   * @param opset - the default-domain opset the graph's nodes are written in now.
   */
  constructor(
    readonly graph: GraphProto,
    readonly parent: GraphScope | undefined,
    opset: number,
  ) {
    for (const tensor of graph.initializer) {
      if (tensor.name) {
        this.constants.set(tensor.name, tensor);
        this.facts.set(tensor.name, factOfTensor(tensor));
      }
    }
    for (const info of [...graph.input, ...graph.output, ...graph.valueInfo]) {
      if (info.name) this.merge(info.name, factOfType(info.type));
    }
    for (const node of graph.node) {
      const value = constantNodeValue(node);
      if (value !== undefined && node.output[0]) this.constants.set(node.output[0], value);
      inferNode(node, this, opset);
    }
  }

  /** The constant value of `name` here or in an enclosing graph. */
  constantValue(name: string): TensorProto | undefined {
    return this.constants.get(name) ?? this.parent?.constantValue(name);
  }

  /** Registers a constant this graph now holds. */
  addConstant(name: string, tensor: TensorProto): void {
    this.constants.set(name, tensor);
    this.merge(name, factOfTensor(tensor));
  }

  /** What is known about `name`. */
  fact(name: string): ValueFact {
    return this.facts.get(name) ?? this.parent?.fact(name) ?? {};
  }

  /** Adds what is known about `name` (known parts win over unknown ones). */
  merge(name: string, fact: ValueFact): void {
    if (name === '') return;
    const known = this.facts.get(name) ?? {};
    this.facts.set(name, {
      elemType: known.elemType ?? (fact.elemType === DataType.UNDEFINED ? undefined : fact.elemType),
      rank: known.rank ?? fact.rank,
      length: known.length ?? fact.length,
      nonTensor: known.nonTensor ?? fact.nonTensor,
    });
  }
}

function factOfTensor(tensor: TensorProto): ValueFact {
  return { elemType: tensor.dataType, rank: tensor.dims.length, length: tensor.dims.length === 1 ? Number(tensor.dims[0]) : undefined };
}

/** Element type and rank that a declared type states. */
export function factOfType(type: TypeProto | undefined): ValueFact {
  if (type?.sequenceType !== undefined) return { nonTensor: 'sequence' };
  if (type?.optionalType !== undefined) return { nonTensor: 'optional' };
  if (type?.mapType !== undefined) return { nonTensor: 'map' };
  const tensorType = type?.tensorType;
  if (tensorType === undefined) return {};
  return { elemType: tensorType.elemType, rank: tensorType.shape?.dim.length };
}

/** The tensor a default-domain Constant node produces, when it holds a dense value. */
export function constantNodeValue(node: NodeProto): TensorProto | undefined {
  if (node.opType !== 'Constant' || !isDefaultDomain(node.domain) || node.output.length === 0) return undefined;
  const name = node.output[0] ?? '';
  for (const attribute of node.attribute) {
    switch (attribute.name) {
      case 'value': return attribute.t;
      case 'value_float': return createTensor(name, DataType.FLOAT, [], [attribute.f ?? 0]);
      case 'value_floats': return createTensor(name, DataType.FLOAT, [attribute.floats.length], attribute.floats);
      case 'value_int': return createTensor(name, DataType.INT64, [], [attribute.i ?? 0n]);
      case 'value_ints': return createTensor(name, DataType.INT64, [attribute.ints.length], attribute.ints);
      default: break;
    }
  }
  return undefined;
}

/** Integer values of a constant tensor (axes, pads, shapes), or undefined if it is not an integer tensor. */
export function integerValues(tensor: TensorProto): number[] | undefined {
  if (tensor.dataType !== DataType.INT64 && tensor.dataType !== DataType.INT32) return undefined;
  return Array.from(tensorData(tensor) as ArrayLike<number | bigint>, (value) => Number(value));
}

/** Float values of a constant floating-point tensor, or undefined for other types. */
export function floatValues(tensor: TensorProto): number[] | undefined {
  if (tensor.dataType !== DataType.FLOAT && tensor.dataType !== DataType.DOUBLE) return undefined;
  return Array.from(tensorData(tensor) as Float32Array | Float64Array);
}

const boolResults = new Set([
  'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf', 'RegexFullMatch',
]);
const int64Results = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression']);
/** Operators whose outputs are not tensors, or whose output type inference here would guess. */
const opaqueResults = new Set([
  'SequenceConstruct', 'SequenceEmpty', 'SequenceInsert', 'SequenceErase', 'SequenceAt', 'SequenceLength',
  'SequenceMap', 'SplitToSequence', 'ConcatFromSequence', 'Optional', 'OptionalGetElement', 'OptionalHasElement',
  'TfIdfVectorizer', 'StringSplit', 'StringConcat', 'StringNormalizer', 'ImageDecoder', 'MelWeightMatrix',
  'HannWindow', 'HammingWindow', 'BlackmanWindow', 'Scan', 'Loop', 'If', 'BitCast', 'LayerNormalization',
]);

/** Operators whose outputs have the shape (so the rank) of their first input. */
const sameRank = new Set([
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'BatchNormalization', 'Cast', 'CastLike', 'Ceil', 'Celu',
  'Clip', 'Conv', 'ConvTranspose', 'ConvInteger', 'Cos', 'Cosh', 'CumSum', 'DepthToSpace', 'DequantizeLinear', 'Dropout',
  'Elu', 'Erf', 'Exp', 'Floor', 'Gelu', 'GlobalAveragePool', 'GlobalLpPool', 'GlobalMaxPool', 'HardSigmoid', 'HardSwish',
  'Hardmax', 'Identity', 'InstanceNormalization', 'IsInf', 'IsNaN', 'LRN', 'LeakyRelu', 'Log', 'LogSoftmax',
  'LpNormalization', 'LpPool', 'AveragePool', 'MaxPool', 'MeanVarianceNormalization', 'Mish', 'Neg', 'Not',
  'QuantizeLinear', 'Reciprocal', 'Relu', 'Resize', 'Upsample', 'ReverseSequence', 'Round', 'Selu', 'Shrink',
  'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Slice', 'Softmax', 'Softplus', 'Softsign', 'SpaceToDepth', 'Sqrt', 'Tan',
  'Tanh', 'ThresholdedRelu', 'Tile', 'Trilu', 'Pad', 'Scatter', 'ScatterElements', 'ScatterND', 'Split', 'TopK',
  'GroupNormalization', 'Swish', 'QLinearConv', 'MaxUnpool', 'Bernoulli', 'RandomNormalLike', 'RandomUniformLike',
  'EyeLike', 'CenterCropPad', 'DeformConv', 'RMSNormalization', 'RotaryEmbedding',
]);
/** Operators whose output rank is that of their inputs broadcast together. */
const broadcastRank = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or',
  'Xor', 'BitShift', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Where', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor',
]);

function inputType(scope: GraphScope, node: NodeProto, index: number): number | undefined {
  const name = node.input[index];
  return name === undefined || name === '' ? undefined : scope.fact(name).elemType;
}

function inputRank(scope: GraphScope, node: NodeProto, index: number): number | undefined {
  const name = node.input[index];
  return name === undefined || name === '' ? undefined : scope.fact(name).rank;
}

/** Element types of a node's outputs (undefined where not known). */
function outputTypes(node: NodeProto, scope: GraphScope, opset: number): (number | undefined)[] {
  const op = node.opType ?? '';
  const first = inputType(scope, node, 0);
  const dtypeOr = (fallback: number | undefined): number | undefined => intAttribute(node, 'dtype') ?? fallback;
  if (boolResults.has(op)) return [DataType.BOOL];
  if (int64Results.has(op)) return [DataType.INT64];
  if (opaqueResults.has(op)) return [];
  switch (op) {
    case 'Cast': return [intAttribute(node, 'to')];
    case 'CastLike': return [inputType(scope, node, 1)];
    case 'Constant': return [constantNodeValue(node)?.dataType];
    case 'ConstantOfShape': return [findAttribute(node, 'value')?.t?.dataType ?? DataType.FLOAT];
    case 'EyeLike': case 'RandomNormalLike': case 'RandomUniformLike': case 'Bernoulli': return [dtypeOr(first)];
    case 'RandomNormal': case 'RandomUniform': return [dtypeOr(DataType.FLOAT)];
    case 'Multinomial': return [dtypeOr(DataType.INT32)];
    case 'TopK': case 'MaxPool': return [first, DataType.INT64];
    case 'Unique': return [first, DataType.INT64, DataType.INT64, DataType.INT64];
    case 'Dropout': return [first, opset >= 10 ? DataType.BOOL : first];
    case 'QuantizeLinear': return [inputType(scope, node, 2) ?? intAttribute(node, 'output_dtype') ?? DataType.UINT8];
    case 'DequantizeLinear': return [inputType(scope, node, 1)];
    case 'DynamicQuantizeLinear': return [DataType.UINT8, DataType.FLOAT, DataType.UINT8];
    case 'MatMulInteger': case 'ConvInteger': return [DataType.INT32];
    case 'QLinearConv': case 'QLinearMatMul': return [inputType(scope, node, 7)];
    case 'OneHot': return [inputType(scope, node, 2)];
    case 'Where': return [inputType(scope, node, 1)];
    default: return node.output.map(() => first);
  }
}

function axesCount(node: NodeProto, scope: GraphScope): number | undefined {
  const attribute = intsAttribute(node, 'axes');
  if (attribute !== undefined) return attribute.length;
  const axesInput = node.input[1];
  if (axesInput === undefined || axesInput === '') return undefined;
  const value = scope.constantValue(axesInput);
  return value === undefined ? undefined : integerValues(value)?.length;
}

function reducedRank(node: NodeProto, scope: GraphScope, rank: number): number | undefined {
  if (intAttribute(node, 'keepdims', 1) === 1) return rank;
  if (node.opType === 'ArgMax' || node.opType === 'ArgMin') return rank - 1;
  const count = axesCount(node, scope);
  if (count !== undefined && count > 0) return rank - count;
  // No axes at all: every axis is reduced, unless the node is then a no-op.
  const axesGiven = findAttribute(node, 'axes') !== undefined || (node.input[1] ?? '') !== '';
  if (!axesGiven && intAttribute(node, 'noop_with_empty_axes', 0) === 0) return 0;
  return undefined;
}

/** Rank of a node's first output, when it follows from its inputs' ranks and constant inputs. */
function outputRank(node: NodeProto, scope: GraphScope): number | undefined {
  const op = node.opType ?? '';
  const rank = inputRank(scope, node, 0);
  if (sameRank.has(op)) return rank;
  if (broadcastRank.has(op)) {
    const ranks = node.input.filter((name) => name !== '').map((name) => scope.fact(name).rank);
    return ranks.every((r) => r !== undefined) && ranks.length > 0 ? Math.max(...(ranks as number[])) : undefined;
  }
  switch (op) {
    case 'Constant': return constantNodeValue(node)?.dims.length;
    case 'Transpose': return intsAttribute(node, 'perm')?.length ?? rank;
    case 'Gemm': case 'Flatten': case 'NonZero': return 2;
    case 'Shape': case 'Range': return 1;
    case 'Size': return 0;
    case 'Concat': return node.input.map((name) => scope.fact(name).rank).find((r) => r !== undefined);
    case 'MatMul': case 'MatMulInteger': case 'QLinearMatMul': {
      const other = inputRank(scope, node, op === 'QLinearMatMul' ? 3 : 1);
      if (rank === undefined || other === undefined) return undefined;
      if (rank === 1 && other === 1) return 0;
      if (rank === 1) return other - 1;
      if (other === 1) return rank - 1;
      return Math.max(rank, other);
    }
    case 'Squeeze': {
      const count = axesCount(node, scope);
      return rank === undefined || count === undefined ? undefined : rank - count;
    }
    case 'Unsqueeze': {
      const count = axesCount(node, scope);
      return rank === undefined || count === undefined ? undefined : rank + count;
    }
    case 'Reshape': case 'ConstantOfShape': case 'Expand': {
      const shapeName = node.input[op === 'ConstantOfShape' ? 0 : 1] ?? '';
      const length = shapeName === '' ? undefined : scope.fact(shapeName).length;
      if (op !== 'Expand') return length;
      return length === undefined || rank === undefined ? undefined : Math.max(length, rank);
    }
    case 'Gather': {
      const indices = inputRank(scope, node, 1);
      return rank === undefined || indices === undefined ? undefined : rank - 1 + indices;
    }
    case 'GatherElements': return inputRank(scope, node, 1);
    case 'OneHot': return rank === undefined ? undefined : rank + 1;
    default:
      if (op.startsWith('Reduce') || op === 'ArgMax' || op === 'ArgMin') {
        return rank === undefined ? undefined : reducedRank(node, scope, rank);
      }
      return undefined;
  }
}

/** Clamps a Slice bound the way Slice does, for a positive step. */
function sliceBound(bound: number, length: number): number {
  const fromEnd = bound < 0 ? bound + length : bound;
  return Math.min(Math.max(fromEnd, 0), length);
}

/** Length of a node's 1-D first output (shape arithmetic), when it follows from its inputs. */
function outputLength(node: NodeProto, scope: GraphScope): number | undefined {
  const length = (index: number): number | undefined => {
    const name = node.input[index] ?? '';
    return name === '' ? undefined : scope.fact(name).length;
  };
  switch (node.opType) {
    case 'Constant': {
      const value = constantNodeValue(node);
      return value?.dims.length === 1 ? Number(value.dims[0]) : undefined;
    }
    case 'Shape': {
      const rank = inputRank(scope, node, 0);
      if (rank === undefined) return undefined;
      const end = intAttribute(node, 'end');
      return sliceBound(end ?? rank, rank) - sliceBound(intAttribute(node, 'start', 0), rank);
    }
    case 'Cast': case 'Identity': case 'Neg': case 'Abs': return length(0);
    case 'Concat': {
      const lengths = node.input.map((_, index) => length(index));
      return lengths.every((value) => value !== undefined) ? lengths.reduce((sum, value) => sum + (value ?? 0), 0) : undefined;
    }
    case 'Unsqueeze': return inputRank(scope, node, 0) === 0 ? 1 : undefined;
    case 'Slice': {
      const total = length(0);
      if (total === undefined) return undefined;
      const bounds = (attribute: string, index: number): number[] | undefined => {
        const fromAttribute = intsAttribute(node, attribute);
        if (fromAttribute !== undefined) return fromAttribute.map(Number);
        const constant = scope.constantValue(node.input[index] ?? '');
        return constant === undefined ? undefined : integerValues(constant);
      };
      const starts = bounds('starts', 1);
      const ends = bounds('ends', 2);
      const steps = (node.input[4] ?? '') === '' ? [1] : bounds('', 4);
      if (starts?.length !== 1 || ends?.length !== 1 || steps?.[0] !== 1) return undefined;
      return Math.max(sliceBound(ends[0] ?? 0, total) - sliceBound(starts[0] ?? 0, total), 0);
    }
    default: return undefined;
  }
}

function inferNode(node: NodeProto, scope: GraphScope, opset: number): void {
  if (!isDefaultDomain(node.domain)) return;
  const types = outputTypes(node, scope, opset);
  const rank = outputRank(node, scope);
  const length = rank === 1 ? outputLength(node, scope) : undefined;
  node.output.forEach((name, index) => {
    const sameShapeOutput = index === 0 || node.opType === 'Split' || node.opType === 'TopK';
    scope.merge(name, {
      elemType: types[index],
      rank: sameShapeOutput ? rank : undefined,
      length: index === 0 ? length : undefined,
    });
  });
}
