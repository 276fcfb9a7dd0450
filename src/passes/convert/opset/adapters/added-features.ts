/**
 * Converting down across a version that only added features: attributes
 * with a backward-compatible default, optional inputs or outputs, new
 * attribute values, negative axes (opset 11). A node that uses none of them
 * converts as it is (attributes equal to their default are dropped); one that
 * uses them has no equivalent.
 */
import { attrInt, attrInts } from '../../../../onnx/builder.js';
import { AttributeType } from '../../../../onnx/types.js';
import {
  describeAttribute,
  findAttribute,
  inputAt,
  intAttribute,
  intsAttribute,
  removeAttribute,
  setAttribute,
  stringAttribute,
} from '../attributes.js';
import type { NodeProto } from '../../../../onnx/types.js';
import type { AdapterContext, OpAdapter } from '../types.js';
import { adapter, normalizeAxis, rankOf, registration, type AdapterRegistration } from './helpers.js';

/** What a schema version added. */
interface AddedFeatures {
  /** Added attributes and their defaults (`'ones'`: a list of 1s; `null`: none, so any value is new). */
  attributes?: Readonly<Record<string, number | string | 'ones' | null>>;
  /** Attribute values added to an existing attribute. */
  values?: Readonly<Record<string, readonly string[]>>;
  /** Indices of added optional inputs. */
  inputs?: readonly number[];
  /** Indices of added optional outputs. */
  outputs?: readonly number[];
}

function featureCheck(version: number, features: AddedFeatures): OpAdapter {
  return adapter('new features unused', (node: NodeProto, context: AdapterContext) => {
    let changed = false;
    for (const [name, fallback] of Object.entries(features.attributes ?? {})) {
      const attribute = findAttribute(node, name);
      if (attribute === undefined) continue;
      const isDefault =
        fallback === 'ones'
          ? attribute.ints.every((value) => value === 1n)
          : fallback !== null &&
            (attribute.type === AttributeType.STRING ? stringAttribute(node, name) === fallback : intAttribute(node, name) === fallback);
      if (!isDefault) context.refuse(`${describeAttribute(attribute)} did not exist before opset ${version}`);
      removeAttribute(node, name);
      changed = true;
    }
    for (const [name, added] of Object.entries(features.values ?? {})) {
      const value = stringAttribute(node, name);
      if (value !== undefined && added.includes(value)) context.refuse(`${name}='${value}' did not exist before opset ${version}`);
    }
    for (const index of features.inputs ?? []) {
      if (inputAt(node, index) !== '') context.refuse(`its input #${index} ('${inputAt(node, index)}') did not exist before opset ${version}`);
    }
    for (const index of features.outputs ?? []) {
      const name = node.output[index] ?? '';
      if (name === '') continue;
      if (context.isUsed(name)) context.refuse(`its output '${name}' did not exist before opset ${version}`);
      node.output = node.output.slice(0, index);
      changed = true;
    }
    return changed ? [node] : undefined;
  });
}

/** Opset 11 allowed negative axes; before, an axis counts from the front. */
function negativeAxes(attributeName: 'axis' | 'axes'): OpAdapter {
  return adapter('negative axes → positive', (node: NodeProto, context: AdapterContext) => {
    const axis = intAttribute(node, 'axis');
    const values = attributeName === 'axis' ? (axis === undefined ? undefined : [BigInt(axis)]) : intsAttribute(node, 'axes');
    if (values === undefined || values.every((value) => value >= 0n)) return undefined;
    let rank = rankOf(node, 0, context);
    // Unsqueeze's axes count in the output, which has one axis per entry more.
    if (rank !== undefined && node.opType === 'Unsqueeze') rank += values.length;
    if (rank === undefined) {
      context.refuse(`${attributeName} [${values.join(', ')}] counts from the back of an input whose rank is unknown; opset 10 needs non-negative axes`);
    }
    const normalized = values.map((value) => normalizeAxis(Number(value), rank));
    setAttribute(node, attributeName, attributeName === 'axis' ? attrInt(normalized[0] ?? 0) : attrInts(normalized));
    return [node];
  });
}

const reduceOps = [
  'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd',
  'ReduceSum', 'ReduceSumSquare',
];

/** The adapters of this group (all convert down). */
export const addedFeatureAdapters: readonly AdapterRegistration[] = [
  registration('AveragePool', 7, 'down', featureCheck(7, { attributes: { count_include_pad: 0 } })),
  registration('MaxPool', 8, 'down', featureCheck(8, { attributes: { storage_order: 0 }, outputs: [1] })),
  registration('AveragePool', 10, 'down', featureCheck(10, { attributes: { ceil_mode: 0 } })),
  registration('MaxPool', 10, 'down', featureCheck(10, { attributes: { ceil_mode: 0, dilations: 'ones' } })),
  registration('TopK', 11, 'down', featureCheck(11, { attributes: { largest: 1, sorted: 1 } })),
  registration('DepthToSpace', 11, 'down', featureCheck(11, { attributes: { mode: 'DCR' } })),
  registration(['ArgMax', 'ArgMin', 'Compress', 'Concat', 'Flatten', 'Gather', 'Hardmax', 'LogSoftmax', 'Softmax', 'Split'], 11, 'down', negativeAxes('axis')),
  registration([...reduceOps, 'Squeeze', 'Unsqueeze'], 11, 'down', negativeAxes('axes')),
  registration(['ArgMax', 'ArgMin'], 12, 'down', featureCheck(12, { attributes: { select_last_index: 0 } })),
  registration('GatherND', 12, 'down', featureCheck(12, { attributes: { batch_dims: 0 } })),
  registration('Reshape', 14, 'down', featureCheck(14, { attributes: { allowzero: 0 } })),
  registration(['GRU', 'LSTM', 'RNN'], 14, 'down', featureCheck(14, { attributes: { layout: 0 } })),
  registration(['ScatterElements', 'ScatterND'], 16, 'down', featureCheck(16, { attributes: { reduction: 'none' } })),
  registration(['ScatterElements', 'ScatterND'], 18, 'down', featureCheck(18, { values: { reduction: ['max', 'min'] } })),
  registration('LpPool', 18, 'down', featureCheck(18, { attributes: { ceil_mode: 0, dilations: 'ones' } })),
  registration('Pad', 18, 'down', featureCheck(18, { inputs: [3] })),
  registration('AveragePool', 19, 'down', featureCheck(19, { attributes: { dilations: 'ones' } })),
  registration(['Cast', 'CastLike'], 19, 'down', featureCheck(19, { attributes: { saturate: 1 } })),
  registration('QuantizeLinear', 19, 'down', featureCheck(19, { attributes: { saturate: 1 } })),
  registration('Pad', 19, 'down', featureCheck(19, { values: { mode: ['wrap'] } })),
  registration('QuantizeLinear', 21, 'down', featureCheck(21, { attributes: { block_size: 0, output_dtype: 0 } })),
  registration('DequantizeLinear', 21, 'down', featureCheck(21, { attributes: { block_size: 0 } })),
  registration('DequantizeLinear', 23, 'down', featureCheck(23, { attributes: { output_dtype: 0 } })),
  registration('QuantizeLinear', 23, 'down', featureCheck(23, { attributes: { precision: 0 } })),
  registration(['Cast', 'CastLike'], 24, 'down', featureCheck(24, { attributes: { round_mode: 'up' } })),
  registration('Attention', 24, 'down', featureCheck(24, { inputs: [6] })),
  registration('Attention', 25, 'down', featureCheck(25, { attributes: { left_window_size: -1, right_window_size: -1 } })),
];
