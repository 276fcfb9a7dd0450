/**
 * Single-operator changes that fit no bigger group: Scatter renamed
 * ScatterElements (11), Dropout's mask turned bool (10), RoiAlign's default
 * coordinate mapping (16), GridSample's mode names (20), Range's stash_type
 * (27), Constant's value_* attributes (12), Gemm's optional C (11), per-axis
 * (de)quantization (13), and is_test coming back when going below opset 7.
 */
import { attrInt, attrString } from '../../../../onnx/builder.js';
import { createTensor } from '../../../../onnx/tensor.js';
import { DataType, type NodeProto, type TensorProto } from '../../../../onnx/types.js';
import {
  findAttribute,
  hasAttribute,
  inputAt,
  intAttribute,
  removeAttribute,
  setAttribute,
  setInput,
  stringAttribute,
  trimOptionalOutputs,
} from '../attributes.js';
import type { AdapterContext } from '../types.js';
import { constantNodeValue } from '../value-facts.js';
import {
  adapter,
  anchorOf,
  int64Tensor,
  rankOf,
  registration,
  requireElemType,
  scalarTensor,
  type AdapterRegistration,
} from './helpers.js';

const scatterToScatterElements = {
  ...adapter('Scatter → ScatterElements', (node) => {
    node.opType = 'ScatterElements';
    return [node];
  }),
  replacesWith: 'ScatterElements',
};

const scatterElementsToScatter = {
  ...adapter('ScatterElements → Scatter', (node: NodeProto, context: AdapterContext) => {
    node.opType = 'Scatter';
    context.note('Scatter before opset 11 does not accept negative indices');
    return [node];
  }),
  replacesWith: 'Scatter',
};

/** Dropout-10's mask is bool; Dropout-7's has the data's type. */
const maskToBool = adapter('mask output → bool', (node: NodeProto, context: AdapterContext) => {
  const mask = node.output[1] ?? '';
  if (mask === '') return undefined;
  if (!context.isUsed(mask)) {
    node.output = node.output.slice(0, 1);
    return [node];
  }
  const elemType = requireElemType(node, 0, context, 'its mask output, used by the model, must be cast back to that type');
  const boolMask = context.freshName(`${mask}_bool`);
  node.output[1] = boolMask;
  return [node, context.makeNode('Cast', [boolMask], [mask], anchorOf(node), { to: elemType })];
});

const maskFromBool = adapter('bool mask → mask of the data type', (node: NodeProto, context: AdapterContext) => {
  const mask = node.output[1] ?? '';
  if (mask === '') return undefined;
  if (!context.isUsed(mask)) {
    node.output = node.output.slice(0, 1);
    return [node];
  }
  const typedMask = context.freshName(`${mask}_typed`);
  node.output[1] = typedMask;
  return [node, context.makeNode('Cast', [typedMask], [mask], anchorOf(node), { to: DataType.BOOL })];
});

const roiAlignMappingUp = adapter('default coordinate mapping written out', (node) => {
  if (hasAttribute(node, 'coordinate_transformation_mode')) return undefined;
  // Before 16 RoiAlign always mapped as 'output_half_pixel'; 16 made 'half_pixel' the default.
  setAttribute(node, 'coordinate_transformation_mode', attrString('output_half_pixel'));
  return [node];
});

const roiAlignMappingDown = adapter('coordinate mapping removed', (node: NodeProto, context: AdapterContext) => {
  const mapping = stringAttribute(node, 'coordinate_transformation_mode', 'half_pixel');
  if (mapping !== 'output_half_pixel') context.refuse(`coordinate_transformation_mode='${mapping}' did not exist before opset 16`);
  removeAttribute(node, 'coordinate_transformation_mode');
  return [node];
});

const gridSampleModesUp = adapter('mode names bilinear/bicubic → linear/cubic', (node) => {
  const renamed: Record<string, string> = { bilinear: 'linear', bicubic: 'cubic' };
  const mode = stringAttribute(node, 'mode');
  const replacement = mode === undefined ? undefined : renamed[mode];
  if (replacement === undefined) return undefined;
  setAttribute(node, 'mode', attrString(replacement));
  return [node];
});

const gridSampleModesDown = adapter('mode names linear/cubic → bilinear/bicubic', (node: NodeProto, context: AdapterContext) => {
  const rank = rankOf(node, 0, context);
  if (rank !== undefined && rank !== 4) context.refuse(`it samples a rank-${rank} input, and GridSample before opset 20 takes 4-D inputs only`);
  const renamed: Record<string, string> = { linear: 'bilinear', cubic: 'bicubic' };
  const mode = stringAttribute(node, 'mode');
  const replacement = mode === undefined ? undefined : renamed[mode];
  if (replacement === undefined) return undefined;
  setAttribute(node, 'mode', attrString(replacement));
  return [node];
});

const halfFloatTypes = new Set<number>([DataType.FLOAT16, DataType.BFLOAT16]);

const rangeStashUp = adapter('stash_type for half-precision ranges', (node: NodeProto, context: AdapterContext) => {
  const elemType = context.fact(inputAt(node, 0)).elemType;
  if (elemType === undefined) {
    context.note('the element type is unknown: a float16/bfloat16 Range accumulates in float32 from opset 27 on');
    return undefined;
  }
  if (!halfFloatTypes.has(elemType)) return undefined;
  // Before 27 the range was computed in its own type; stash_type keeps that.
  setAttribute(node, 'stash_type', attrInt(elemType));
  return [node];
});

const rangeStashDown = adapter('stash_type removed', (node: NodeProto, context: AdapterContext) => {
  if (!hasAttribute(node, 'stash_type')) {
    const elemType = context.fact(inputAt(node, 0)).elemType;
    if (elemType === undefined || halfFloatTypes.has(elemType)) {
      context.note('before opset 27 a float16/bfloat16 Range accumulates in its own type, not float32');
    }
    return undefined;
  }
  removeAttribute(node, 'stash_type');
  return [node];
});

const constantValueAttributesDown = adapter('value_* attributes → value tensor', (node: NodeProto, context: AdapterContext) => {
  if (hasAttribute(node, 'value') || hasAttribute(node, 'sparse_value')) return undefined;
  const strings = findAttribute(node, 'value_string') ?? findAttribute(node, 'value_strings');
  let value: TensorProto | undefined = constantNodeValue(node);
  if (strings !== undefined) {
    const list = strings.s !== undefined ? [strings.s] : strings.strings;
    value = createTensor('', DataType.STRING, strings.s !== undefined ? [] : [list.length], list);
  }
  if (value === undefined) context.refuse('it has no value attribute that opset 11 knows');
  node.attribute = [];
  setAttribute(node, 'value', value);
  return [node];
});

const constantSparseDown = adapter('sparse_value check', (node: NodeProto, context: AdapterContext) => {
  if (hasAttribute(node, 'sparse_value')) context.refuse('sparse_value did not exist before opset 11');
  return undefined;
});

const gemmOptionalCDown = adapter('omitted C → zero', (node: NodeProto, context: AdapterContext) => {
  if (inputAt(node, 2) !== '') return undefined;
  const elemType = requireElemType(node, 0, context, 'Gemm before opset 11 needs a C input of that type');
  const zero = scalarTensor(elemType, 0);
  if (zero === undefined) context.refuse('its element type has no zero constant here');
  setInput(node, 2, context.addConstant(`${anchorOf(node)}_c`, zero));
  return [node];
});

/** Per-axis scales (more than one element) appeared at 13. */
const perAxisQuantizationDown = adapter('axis removed (per-tensor only)', (node: NodeProto, context: AdapterContext) => {
  const scale = context.constantValue(inputAt(node, 1));
  const isScalar = scale !== undefined && scale.dims.reduce((count, dim) => count * Number(dim), 1) === 1;
  const rank = rankOf(node, 1, context);
  if (!isScalar && rank !== 0) {
    context.refuse(`its scale '${inputAt(node, 1)}' is not known to be a single value, and (de)quantization per axis did not exist before opset 13`);
  }
  if (!hasAttribute(node, 'axis')) return undefined;
  removeAttribute(node, 'axis');
  return [node];
});

/** Shape-15's start/end written as a Slice of the whole shape. */
const shapeRangeToSlice = adapter('start/end → Slice', (node: NodeProto, context: AdapterContext) => {
  const start = intAttribute(node, 'start', 0);
  const end = intAttribute(node, 'end');
  if (!hasAttribute(node, 'start') && end === undefined) return undefined;
  removeAttribute(node, 'start');
  removeAttribute(node, 'end');
  if (start === 0 && end === undefined) return [node];
  const anchor = anchorOf(node);
  const output = node.output[0] ?? '';
  const whole = context.freshName(`${anchor}_whole`);
  node.output = [whole];
  const constant = (suffix: string, value: bigint): string => context.addConstant(`${anchor}_${suffix}`, int64Tensor([value]));
  const slice = context.makeNode(
    'Slice',
    [whole, constant('start', BigInt(start)), constant('end', end === undefined ? 2n ** 63n - 1n : BigInt(end)), constant('axes', 0n)],
    [output],
    anchor,
  );
  return [node, slice];
});

/** Scan-8 runs over a batch axis that Scan-9 dropped; without a Loop around it there is no equivalent. */
const scanBatchAxis = adapter('batch axis check', (_node: NodeProto, context: AdapterContext) =>
  context.refuse(
    context.toOpset > context.fromOpset
      ? 'Scan-8 iterates over a leading batch axis, which Scan-9 dropped'
      : 'Scan-9 has no batch axis, which Scan-8 requires',
  ),
);

/** Below opset 7, inference mode has to be asked for with is_test=1. */
const isTestAdded = adapter('is_test=1 added', (node: NodeProto) => {
  setAttribute(node, 'is_test', attrInt(1));
  trimOptionalOutputs(node);
  return [node];
});

/** The adapters of this group. */
export const operatorChangeAdapters: readonly AdapterRegistration[] = [
  registration('Scatter', 11, 'up', scatterToScatterElements),
  registration('ScatterElements', 11, 'down', scatterElementsToScatter),
  registration('Dropout', 10, 'up', maskToBool),
  registration('Dropout', 10, 'down', maskFromBool),
  registration('RoiAlign', 16, 'up', roiAlignMappingUp),
  registration('RoiAlign', 16, 'down', roiAlignMappingDown),
  registration('GridSample', 20, 'up', gridSampleModesUp),
  registration('GridSample', 20, 'down', gridSampleModesDown),
  registration('Range', 27, 'up', rangeStashUp),
  registration('Range', 27, 'down', rangeStashDown),
  registration('Constant', 12, 'down', constantValueAttributesDown),
  registration('Constant', 11, 'down', constantSparseDown),
  registration('Gemm', 11, 'down', gemmOptionalCDown),
  registration(['QuantizeLinear', 'DequantizeLinear'], 13, 'down', perAxisQuantizationDown),
  registration(['BatchNormalization', 'Dropout'], 7, 'down', isTestAdded),
  registration('Shape', 15, 'down', shapeRangeToSlice),
  registration('Scan', 9, 'up', scanBatchAxis),
  registration('Scan', 9, 'down', scanBatchAxis),
];
