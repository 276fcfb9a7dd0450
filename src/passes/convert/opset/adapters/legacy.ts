/**
 * Changes before opset 7, for the rare models older than ONNX 1.2:
 * `consumed_inputs` dropped (6), the `broadcast`/`axis` attributes of the
 * binary operators replaced by numpy broadcasting (7), Upsample's
 * width/height scales (7), Concat's axis becoming required (4), Reshape's
 * shape becoming an input (5), Pad's paddings renamed (2), Split's split
 * input becoming an attribute (2), Cast's `to` becoming an enum (6) and
 * LpPool's `p` becoming an integer (2). Every other change before 7 is
 * refused by the driver (no adapter registered).
 */
import { allDataTypes } from '../../../../onnx/dtypes.js';
import { attrFloats, attrInt, attrInts } from '../../../../onnx/builder.js';
import type { NodeProto } from '../../../../onnx/types.js';
import type { AdapterContext } from '../types.js';
import {
  findAttribute,
  floatAttribute,
  hasAttribute,
  inputAt,
  intAttribute,
  removeAttribute,
  setAttribute,
  setInput,
  stringAttribute,
} from '../attributes.js';
import {
  adapter,
  anchorOf,
  int64Tensor,
  rankOf,
  registration,
  requireConstantInts,
  type AdapterRegistration,
} from './helpers.js';

/** Operators whose change at 6 was only dropping `consumed_inputs`, an optimization hint without meaning. */
const consumedInputsOps = [
  'Abs', 'Add', 'BatchNormalization', 'Ceil', 'Clip', 'Div', 'Dropout', 'Elu', 'Exp', 'Floor', 'HardSigmoid',
  'InstanceNormalization', 'LeakyRelu', 'Log', 'Max', 'Mean', 'Min', 'Mul', 'Neg', 'PRelu', 'Reciprocal', 'Relu',
  'Selu', 'Sigmoid', 'Sqrt', 'Sub', 'Sum', 'Tanh',
];

const broadcastOps = ['Add', 'And', 'Div', 'Equal', 'Greater', 'Less', 'Mul', 'Or', 'Pow', 'Sub', 'Xor'];

const unchanged = adapter('unchanged', () => undefined);

const consumedInputsRemoved = adapter('consumed_inputs removed', (node) => {
  if (!hasAttribute(node, 'consumed_inputs')) return undefined;
  removeAttribute(node, 'consumed_inputs');
  return [node];
});

/**
 * Before 7, B broadcast only with broadcast=1, aligned at `axis` of A (or at
 * the back); from 7 on, numpy broadcasting aligns at the back. Trailing unit
 * axes on B make the two agree.
 */
const explicitBroadcastRemoved = adapter('broadcast/axis → numpy broadcasting', (node: NodeProto, context: AdapterContext) => {
  if (!hasAttribute(node, 'broadcast') && !hasAttribute(node, 'axis')) return undefined;
  const broadcast = intAttribute(node, 'broadcast', 0);
  const axis = intAttribute(node, 'axis');
  removeAttribute(node, 'broadcast');
  removeAttribute(node, 'axis');
  if (broadcast === 0 || axis === undefined) return [node];
  const rankA = rankOf(node, 0, context);
  const rankB = rankOf(node, 1, context);
  if (rankA === undefined || rankB === undefined) {
    context.refuse(`it broadcasts at axis=${axis}, which needs the ranks of both inputs to express with numpy broadcasting`);
  }
  const trailing = rankA - axis - rankB;
  if (trailing <= 0) return [node];
  const anchor = anchorOf(node);
  const aligned = context.freshName(`${inputAt(node, 1)}_aligned`);
  const axes = Array.from({ length: trailing }, (_, index) => rankB + index);
  const unsqueeze = context.makeNode('Unsqueeze', [inputAt(node, 1)], [aligned], anchor, { axes });
  node.input[1] = aligned;
  return [unsqueeze, node];
});

const gemmBroadcastRemoved = adapter('broadcast removed', (node) => {
  if (!hasAttribute(node, 'broadcast')) return undefined;
  removeAttribute(node, 'broadcast');
  return [node];
});

const outputSequenceRemoved = adapter('output_sequence removed', (node) => {
  if (!hasAttribute(node, 'output_sequence')) return undefined;
  removeAttribute(node, 'output_sequence');
  return [node];
});

const upsampleScales = adapter('width/height scales → scales', (node: NodeProto, context: AdapterContext) => {
  const height = floatAttribute(node, 'height_scale');
  const width = floatAttribute(node, 'width_scale');
  if (height === undefined || width === undefined) context.refuse('it lacks width_scale or height_scale');
  removeAttribute(node, 'height_scale');
  removeAttribute(node, 'width_scale');
  if (stringAttribute(node, 'mode') === 'bilinear') setAttribute(node, 'mode', 'linear');
  // Upsample-1 worked on NCHW tensors only.
  setAttribute(node, 'scales', attrFloats([1, 1, height, width]));
  return [node];
});

const concatAxisRequired = adapter('default axis written out', (node) => {
  if (hasAttribute(node, 'axis')) return undefined;
  setAttribute(node, 'axis', attrInt(1));
  return [node];
});

const reshapeShapeToInput = adapter('shape attribute → input', (node: NodeProto, context: AdapterContext) => {
  const shape = findAttribute(node, 'shape')?.ints;
  removeAttribute(node, 'consumed_inputs');
  if (shape === undefined) return [node];
  removeAttribute(node, 'shape');
  setInput(node, 1, context.addConstant(`${anchorOf(node)}_shape`, int64Tensor(shape)));
  return [node];
});

const padPaddingsRenamed = adapter('paddings → pads', (node) => {
  const paddings = findAttribute(node, 'paddings');
  if (paddings === undefined) return undefined;
  removeAttribute(node, 'paddings');
  setAttribute(node, 'pads', attrInts(paddings.ints));
  return [node];
});

const splitInputToAttribute = adapter('split input → attribute', (node: NodeProto, context: AdapterContext) => {
  if (inputAt(node, 1) === '') return undefined;
  const split = requireConstantInts(node, 1, context, 'split');
  node.input = [inputAt(node, 0)];
  setAttribute(node, 'split', attrInts(split));
  return [node];
});

const castToEnum = adapter('to: type name → enum', (node: NodeProto, context: AdapterContext) => {
  const name = stringAttribute(node, 'to');
  if (name === undefined) return undefined;
  const info = allDataTypes.find((entry) => entry.onnxName === name.toUpperCase());
  if (info === undefined) context.refuse(`to='${name}' names no ONNX data type`);
  setAttribute(node, 'to', attrInt(info.dataType));
  return [node];
});

const lpPoolIntegerP = adapter('p: float → int', (node: NodeProto, context: AdapterContext) => {
  const p = floatAttribute(node, 'p');
  if (p === undefined) return undefined;
  if (!Number.isInteger(p)) context.refuse(`p=${p} is not an integer, as opset 2 requires`);
  setAttribute(node, 'p', attrInt(p));
  return [node];
});

/** The adapters of this group (all convert up). */
export const legacyAdapters: readonly AdapterRegistration[] = [
  registration(consumedInputsOps, 6, 'up', consumedInputsRemoved),
  registration(broadcastOps, 7, 'up', explicitBroadcastRemoved),
  registration('Gemm', 7, 'up', gemmBroadcastRemoved),
  registration(['GRU', 'LSTM', 'RNN'], 7, 'up', outputSequenceRemoved),
  registration(['AveragePool', 'PRelu'], 7, 'up', unchanged),
  registration('Gemm', 6, 'up', unchanged),
  registration('GRU', 3, 'up', unchanged),
  registration('Upsample', 7, 'up', upsampleScales),
  registration('Concat', 4, 'up', concatAxisRequired),
  registration('Reshape', 5, 'up', reshapeShapeToInput),
  registration('Pad', 2, 'up', padPaddingsRenamed),
  registration('Split', 2, 'up', splitInputToAttribute),
  registration('Cast', 6, 'up', castToEnum),
  registration(['LpPool', 'GlobalLpPool'], 2, 'up', lpPoolIntegerP),
];
