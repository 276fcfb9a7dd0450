/**
 * Shape rules of operators whose output has their input's shape (unary
 * math, activations, normalizations, casts) or the broadcast of their
 * inputs' shapes (arithmetic, comparison, logic, Where).
 */
import { DataType } from '../../../onnx/types.js';
import { intAttribute } from './node-attributes.js';
import { broadcastAll, typed, unknownType, type RuleContext, type ShapeRule } from './rule-context.js';

/** Operators whose first output has the element type and shape of their first input. */
export const sameAsInputOps: readonly string[] = [
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Ceil', 'Celu', 'Cos', 'Cosh', 'Elu', 'Erf', 'Exp',
  'Floor', 'Gelu', 'HardSigmoid', 'HardSwish', 'Hardmax', 'Identity', 'LeakyRelu', 'Log', 'LogSoftmax',
  'LpNormalization', 'Mish', 'Neg', 'Reciprocal', 'Relu', 'Round', 'Selu', 'Shrink', 'Sigmoid', 'Sign', 'Sin',
  'Sinh', 'Softmax', 'Softplus', 'Softsign', 'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu', 'Clip', 'Not', 'BitwiseNot',
  'Trilu', 'CumSum', 'LRN', 'InstanceNormalization', 'MeanVarianceNormalization', 'GroupNormalization',
  'ReverseSequence', 'ScatterND', 'ScatterElements', 'Scatter', 'PRelu', 'Swish',
];

/** Broadcasting operators whose output has the element type of their first input. */
export const broadcastOps: readonly string[] = [
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'Max', 'Min', 'Sum', 'Mean',
];

/** Broadcasting operators with a bool output. */
export const comparisonOps: readonly string[] = ['And', 'Or', 'Xor', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual'];

const sameAsInput: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  return [typed(x.elemType, x.dims)];
};

function inputShapes(c: RuleContext): ReturnType<typeof broadcastAll> {
  const shapes = [];
  for (let i = 0; i < c.node.input.length; i++) if (c.has(i)) shapes.push(c.input(i)?.dims);
  return broadcastAll(shapes);
}

const broadcast: ShapeRule = (c) => [typed(c.input(0)?.elemType, inputShapes(c))];
const comparison: ShapeRule = (c) => [typed(DataType.BOOL, inputShapes(c))];

export const elementwiseRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(sameAsInputOps.map((op) => [op, sameAsInput])),
  ...Object.fromEntries(broadcastOps.map((op) => [op, broadcast])),
  ...Object.fromEntries(comparisonOps.map((op) => [op, comparison])),
  // PRelu's slope broadcasts to X (unidirectionally), so the output is X's shape.
  IsNaN: (c) => [typed(DataType.BOOL, c.input(0)?.dims)],
  IsInf: (c) => [typed(DataType.BOOL, c.input(0)?.dims)],
  Where: (c) => [typed(c.input(1)?.elemType ?? c.input(2)?.elemType, inputShapes(c))],
  Cast: (c) => [typed(intAttribute(c.node, 'to'), c.input(0)?.dims)],
  CastLike: (c) => [typed(c.input(1)?.elemType, c.input(0)?.dims)],
  Dropout: (c) => [typed(c.input(0)?.elemType, c.input(0)?.dims), typed(DataType.BOOL, c.input(0)?.dims)],
  BatchNormalization: (c) => {
    const x = c.input(0) ?? unknownType;
    const channel = x.dims?.[1] ?? null;
    const stats = typed(c.input(3)?.elemType ?? x.elemType, [channel]);
    return [typed(x.elemType, x.dims), stats, stats, stats, stats];
  },
  LayerNormalization: (c) => {
    const x = c.input(0) ?? unknownType;
    const rank = x.dims?.length;
    const axis = intAttribute(c.node, 'axis', -1);
    const stash = intAttribute(c.node, 'stash_type', DataType.FLOAT);
    const reduced = x.dims === undefined || rank === undefined ? undefined
      : x.dims.map((dim, i) => (i >= (axis < 0 ? axis + rank : axis) ? 1 : dim));
    return [typed(x.elemType, x.dims), typed(stash, reduced), typed(stash, reduced)];
  },
  QuantizeLinear: (c) => [typed(c.has(2) ? c.input(2)?.elemType : intAttribute(c.node, 'output_dtype') ?? DataType.UINT8, c.input(0)?.dims)],
  DequantizeLinear: (c) => [typed(c.input(1)?.elemType, c.input(0)?.dims)],
  DynamicQuantizeLinear: (c) => [typed(DataType.UINT8, c.input(0)?.dims), typed(DataType.FLOAT, []), typed(DataType.UINT8, [])],
  EyeLike: (c) => [typed(intAttribute(c.node, 'dtype') ?? c.input(0)?.elemType, c.input(0)?.dims)],
  Bernoulli: (c) => [typed(intAttribute(c.node, 'dtype') ?? c.input(0)?.elemType, c.input(0)?.dims)],
  RandomNormalLike: (c) => [typed(intAttribute(c.node, 'dtype') ?? c.input(0)?.elemType, c.input(0)?.dims)],
  RandomUniformLike: (c) => [typed(intAttribute(c.node, 'dtype') ?? c.input(0)?.elemType, c.input(0)?.dims)],
};
