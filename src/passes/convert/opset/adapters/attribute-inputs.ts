/**
 * Attributes that became inputs: Squeeze/Unsqueeze/ReduceSum `axes` and
 * Split `split` at 13, the other Reduce ops' `axes` at 18, Split
 * `num_outputs` at 18, Clip `min`/`max` and Pad `pads`/`value` at 11, Slice
 * `starts`/`ends`/`axes` and TopK `k` at 10, Dropout `ratio` at 12, Upsample
 * `scales` at 9 and DFT `axis` at 20. Up, the attribute becomes a constant
 * input; down, a constant input becomes the attribute again (a computed one
 * has no equivalent).
 */
import { attrFloat, attrFloats, attrInt, attrInts } from '../../../../onnx/builder.js';
import { createTensor, tensorData } from '../../../../onnx/tensor.js';
import { DataType, type NodeProto } from '../../../../onnx/types.js';
import {
  floatAttribute,
  floatsAttribute,
  hasAttribute,
  inputAt,
  intAttribute,
  intsAttribute,
  removeAttribute,
  setAttribute,
  setInput,
  trimOptionalInputs,
} from '../attributes.js';
import type { AdapterContext } from '../types.js';
import {
  adapter,
  anchorOf,
  floatTensor,
  int64Scalar,
  int64Tensor,
  registration,
  requireConstantFloats,
  requireConstantInts,
  typedScalar,
  type AdapterRegistration,
} from './helpers.js';

/** Reduce ops whose `axes` became an input at 18 (ReduceSum moved at 13). */
export const reduceOpsAt18 = [
  'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd',
  'ReduceSumSquare',
] as const;

function constantInput(context: AdapterContext, node: NodeProto, suffix: string, values: readonly (number | bigint)[]): string {
  return context.addConstant(`${anchorOf(node)}_${suffix}`, int64Tensor(values));
}

/** Keeps only the first `count` inputs. */
function keepInputs(node: NodeProto, count: number): void {
  node.input = node.input.slice(0, count);
  trimOptionalInputs(node);
}

const axesToInput = adapter('axes attribute → input', (node: NodeProto, context: AdapterContext) => {
  const axes = intsAttribute(node, 'axes');
  if (axes === undefined) return undefined;
  removeAttribute(node, 'axes');
  if (axes.length > 0) setInput(node, 1, constantInput(context, node, 'axes', axes));
  return [node];
});

const axesToAttribute = adapter('axes input → attribute', (node: NodeProto, context: AdapterContext) => {
  const isReduce = node.opType?.startsWith('Reduce') === true;
  const noop = intAttribute(node, 'noop_with_empty_axes', 0) === 1;
  const axes = inputAt(node, 1) === '' ? [] : requireConstantInts(node, 1, context, 'axes');
  if (isReduce && noop && axes.length === 0) {
    // Reducing over no axes with noop_with_empty_axes=1 leaves the data as it is.
    node.opType = 'Identity';
    node.attribute = [];
    keepInputs(node, 1);
    return [node];
  }
  if (inputAt(node, 1) === '' && !hasAttribute(node, 'noop_with_empty_axes')) return undefined;
  removeAttribute(node, 'noop_with_empty_axes');
  keepInputs(node, 1);
  if (axes.length > 0) setAttribute(node, 'axes', attrInts(axes));
  return [node];
});

const splitToInput = adapter('split attribute → input', (node: NodeProto, context: AdapterContext) => {
  const split = intsAttribute(node, 'split');
  if (split === undefined) return undefined;
  removeAttribute(node, 'split');
  if (split.length > 0) setInput(node, 1, constantInput(context, node, 'split', split));
  return [node];
});

const splitToAttribute = adapter('split input → attribute', (node: NodeProto, context: AdapterContext) => {
  if (inputAt(node, 1) === '') return undefined;
  const split = requireConstantInts(node, 1, context, 'split');
  keepInputs(node, 1);
  setAttribute(node, 'split', attrInts(split));
  return [node];
});

const equalSplitToNumOutputs = adapter('equal split → num_outputs', (node) => {
  if (inputAt(node, 1) !== '' || hasAttribute(node, 'num_outputs')) return undefined;
  setAttribute(node, 'num_outputs', attrInt(node.output.length));
  return [node];
});

const numOutputsToEqualSplit = adapter('num_outputs → equal split', (node: NodeProto, context: AdapterContext) => {
  const numOutputs = intAttribute(node, 'num_outputs');
  if (numOutputs === undefined) return undefined;
  if (numOutputs !== node.output.length) {
    context.refuse(`num_outputs=${numOutputs} differs from its ${node.output.length} outputs`);
  }
  removeAttribute(node, 'num_outputs');
  context.note('an equal split before opset 18 needs the axis size to be divisible by the number of outputs (opset 18 let the last part be smaller)');
  return [node];
});

const sliceToInputs = adapter('starts/ends/axes attributes → inputs', (node: NodeProto, context: AdapterContext) => {
  const starts = intsAttribute(node, 'starts') ?? [];
  const ends = intsAttribute(node, 'ends') ?? [];
  const axes = intsAttribute(node, 'axes');
  for (const name of ['starts', 'ends', 'axes']) removeAttribute(node, name);
  keepInputs(node, 1);
  setInput(node, 1, constantInput(context, node, 'starts', starts));
  setInput(node, 2, constantInput(context, node, 'ends', ends));
  if (axes !== undefined) setInput(node, 3, constantInput(context, node, 'axes', axes));
  return [node];
});

const sliceToAttributes = adapter('starts/ends/axes inputs → attributes', (node: NodeProto, context: AdapterContext) => {
  const starts = requireConstantInts(node, 1, context, 'starts');
  const ends = requireConstantInts(node, 2, context, 'ends');
  const axes = inputAt(node, 3) === '' ? undefined : requireConstantInts(node, 3, context, 'axes');
  if (inputAt(node, 4) !== '') {
    const steps = requireConstantInts(node, 4, context, 'steps');
    if (steps.some((step) => step !== 1)) context.refuse(`it slices with steps [${steps.join(', ')}], and Slice before opset 10 has no steps`);
  }
  keepInputs(node, 1);
  setAttribute(node, 'starts', attrInts(starts));
  setAttribute(node, 'ends', attrInts(ends));
  if (axes !== undefined) setAttribute(node, 'axes', attrInts(axes));
  return [node];
});

const topKToInput = adapter('k attribute → K input', (node: NodeProto, context: AdapterContext) => {
  const k = intAttribute(node, 'k');
  if (k === undefined) context.refuse('it has no k attribute, which TopK before opset 10 requires');
  removeAttribute(node, 'k');
  keepInputs(node, 1);
  setInput(node, 1, constantInput(context, node, 'k', [k]));
  return [node];
});

const topKToAttribute = adapter('K input → k attribute', (node: NodeProto, context: AdapterContext) => {
  const [k, ...rest] = requireConstantInts(node, 1, context, 'K');
  if (k === undefined || rest.length > 0) context.refuse(`its K input '${inputAt(node, 1)}' does not hold exactly one value`);
  keepInputs(node, 1);
  setAttribute(node, 'k', attrInt(k));
  return [node];
});

const clipToInputs = adapter('min/max attributes → inputs', (node: NodeProto, context: AdapterContext) => {
  const min = floatAttribute(node, 'min');
  const max = floatAttribute(node, 'max');
  if (min === undefined && max === undefined) return undefined;
  removeAttribute(node, 'min');
  removeAttribute(node, 'max');
  keepInputs(node, 1);
  const anchor = anchorOf(node);
  if (min !== undefined) setInput(node, 1, context.addConstant(`${anchor}_min`, typedScalar(node, 0, min, context, 'the min value')));
  if (max !== undefined) setInput(node, 2, context.addConstant(`${anchor}_max`, typedScalar(node, 0, max, context, 'the max value')));
  return [node];
});

function constantScalar(node: NodeProto, index: number, context: AdapterContext, what: string): number | undefined {
  if (inputAt(node, index) === '') return undefined;
  const values = requireConstantFloats(node, index, context, what);
  if (values.length !== 1) context.refuse(`its ${what} input '${inputAt(node, index)}' does not hold exactly one value`);
  return values[0];
}

const clipToAttributes = adapter('min/max inputs → attributes', (node: NodeProto, context: AdapterContext) => {
  const min = constantScalar(node, 1, context, 'min');
  const max = constantScalar(node, 2, context, 'max');
  if (node.input.length <= 1) return undefined;
  keepInputs(node, 1);
  if (min !== undefined) setAttribute(node, 'min', attrFloat(min));
  if (max !== undefined) setAttribute(node, 'max', attrFloat(max));
  return [node];
});

const padToInputs = adapter('pads/value attributes → inputs', (node: NodeProto, context: AdapterContext) => {
  const pads = intsAttribute(node, 'pads');
  if (pads === undefined) context.refuse('it has no pads attribute, which Pad before opset 11 requires');
  const value = floatAttribute(node, 'value', 0);
  removeAttribute(node, 'pads');
  removeAttribute(node, 'value');
  keepInputs(node, 1);
  setInput(node, 1, constantInput(context, node, 'pads', pads));
  if (value !== 0) setInput(node, 2, context.addConstant(`${anchorOf(node)}_value`, typedScalar(node, 0, value, context, 'the pad value')));
  return [node];
});

const padToAttributes = adapter('pads/constant_value inputs → attributes', (node: NodeProto, context: AdapterContext) => {
  const pads = requireConstantInts(node, 1, context, 'pads');
  const value = constantScalar(node, 2, context, 'constant_value');
  keepInputs(node, 1);
  setAttribute(node, 'pads', attrInts(pads));
  if (value !== undefined && value !== 0) setAttribute(node, 'value', attrFloat(value));
  return [node];
});

const dropoutRatioToInput = adapter('ratio attribute → input', (node: NodeProto, context: AdapterContext) => {
  const mask = node.output[1] ?? '';
  if (mask !== '' && context.isUsed(mask)) {
    context.note('its mask output is read: from opset 12 an inference-mode mask is all true (before, runtimes differed; onnxruntime gave all false)');
  }
  const ratio = floatAttribute(node, 'ratio');
  if (ratio === undefined) return undefined;
  removeAttribute(node, 'ratio');
  keepInputs(node, 1);
  setInput(node, 1, context.addConstant(`${anchorOf(node)}_ratio`, floatTensor([ratio], true)));
  return [node];
});

const dropoutRatioToAttribute = adapter('ratio input → attribute', (node: NodeProto, context: AdapterContext) => {
  if (inputAt(node, 2) !== '') {
    const training = context.constantValue(inputAt(node, 2));
    const values = training === undefined ? undefined : Array.from(tensorData(training) as ArrayLike<number>);
    if (values === undefined || values.some((value) => value !== 0)) {
      context.refuse(`its training_mode input '${inputAt(node, 2)}' is not a constant false, and Dropout before opset 12 runs only in inference mode`);
    }
  }
  const ratio = constantScalar(node, 1, context, 'ratio');
  const mask = node.output[1] ?? '';
  const maskUsed = mask !== '' && context.isUsed(mask);
  if (ratio === undefined && node.input.length <= 1 && !hasAttribute(node, 'seed') && !maskUsed) return undefined;
  if (hasAttribute(node, 'seed')) {
    removeAttribute(node, 'seed');
    context.note('the seed attribute was dropped: Dropout before opset 12 has none');
  }
  keepInputs(node, 1);
  if (ratio !== undefined) setAttribute(node, 'ratio', attrFloat(ratio));
  if (!maskUsed) return [node];
  // From 12 an inference-mode mask is all true; before, it was not defined, so it is made explicitly.
  const anchor = anchorOf(node);
  const shape = context.freshName(`${anchor}_shape`);
  node.output = node.output.slice(0, 1);
  return [
    node,
    context.makeNode('Shape', [inputAt(node, 0)], [shape], anchor),
    context.makeNode('ConstantOfShape', [shape], [mask], anchor, { value: createTensor('', DataType.BOOL, [1], [true]) }),
  ];
});

const scalesToInput = adapter('scales attribute → input', (node: NodeProto, context: AdapterContext) => {
  const scales = floatsAttribute(node, 'scales');
  if (scales === undefined) context.refuse('it has no scales attribute, which Upsample in opsets 7 and 8 requires');
  removeAttribute(node, 'scales');
  keepInputs(node, 1);
  setInput(node, 1, context.addConstant(`${anchorOf(node)}_scales`, floatTensor(scales)));
  return [node];
});

const scalesToAttribute = adapter('scales input → attribute', (node: NodeProto, context: AdapterContext) => {
  const scales = requireConstantFloats(node, 1, context, 'scales');
  keepInputs(node, 1);
  setAttribute(node, 'scales', attrFloats(scales));
  return [node];
});

const dftAxisToInput = adapter('axis attribute → input', (node: NodeProto, context: AdapterContext) => {
  // The default moved from 1 to -2, so the axis is always written out.
  const axis = intAttribute(node, 'axis', 1);
  removeAttribute(node, 'axis');
  const axisInput = context.addConstant(`${anchorOf(node)}_axis`, int64Scalar(axis));
  setInput(node, 2, axisInput);
  return [node];
});

const dftAxisToAttribute = adapter('axis input → attribute', (node: NodeProto, context: AdapterContext) => {
  let axis = -2;
  if (inputAt(node, 2) !== '') {
    const [value, ...rest] = requireConstantInts(node, 2, context, 'axis');
    if (value === undefined || rest.length > 0) context.refuse(`its axis input '${inputAt(node, 2)}' does not hold exactly one value`);
    axis = value;
  }
  keepInputs(node, 2);
  setAttribute(node, 'axis', attrInt(axis));
  return [node];
});

/** The adapters of this group. */
export const attributeInputAdapters: readonly AdapterRegistration[] = [
  registration(['Squeeze', 'Unsqueeze', 'ReduceSum'], 13, 'up', axesToInput),
  registration(['Squeeze', 'Unsqueeze', 'ReduceSum'], 13, 'down', axesToAttribute),
  registration(reduceOpsAt18, 18, 'up', axesToInput),
  registration(reduceOpsAt18, 18, 'down', axesToAttribute),
  registration('Split', 13, 'up', splitToInput),
  registration('Split', 13, 'down', splitToAttribute),
  registration('Split', 18, 'up', equalSplitToNumOutputs),
  registration('Split', 18, 'down', numOutputsToEqualSplit),
  registration('Slice', 10, 'up', sliceToInputs),
  registration('Slice', 10, 'down', sliceToAttributes),
  registration('TopK', 10, 'up', topKToInput),
  registration('TopK', 10, 'down', topKToAttribute),
  registration('Clip', 11, 'up', clipToInputs),
  registration('Clip', 11, 'down', clipToAttributes),
  registration('Pad', 11, 'up', padToInputs),
  registration('Pad', 11, 'down', padToAttributes),
  registration('Dropout', 12, 'up', dropoutRatioToInput),
  registration('Dropout', 12, 'down', dropoutRatioToAttribute),
  registration('Upsample', 9, 'up', scalesToInput),
  registration('Upsample', 9, 'down', scalesToAttribute),
  registration('DFT', 20, 'up', dftAxisToInput),
  registration('DFT', 20, 'down', dftAxisToAttribute),
];
