/**
 * BatchNormalization (is_test gone at 7, spatial gone at 9, training outputs
 * reshaped at 14) and GroupNormalization (per-group scale and bias became
 * per-channel at 21).
 */
import { attrInt } from '../../../../onnx/builder.js';
import { dataTypeName } from '../../../../onnx/dtypes.js';
import { createTensor } from '../../../../onnx/tensor.js';
import { DataType, type NodeProto } from '../../../../onnx/types.js';
import {
  floatAttribute,
  hasAttribute,
  inputAt,
  intAttribute,
  removeAttribute,
  setAttribute,
  trimOptionalOutputs,
} from '../attributes.js';
import type { AdapterContext } from '../types.js';
import { floatValues } from '../value-facts.js';
import {
  adapter,
  anchorOf,
  int64Tensor,
  registration,
  requireElemType,
  scalarTensor,
  type AdapterRegistration,
} from './helpers.js';

/** Output names beyond the first that are set (optional outputs left out are ''). */
function extraOutputs(node: NodeProto, from = 1): string[] {
  return node.output.slice(from).filter((name) => name !== '');
}

/** Drops outputs from `from` on that nothing reads, or refuses when one is read. */
function dropUnusedOutputs(node: NodeProto, from: number, context: AdapterContext, why: string): void {
  const used = node.output.slice(from).filter((name) => name !== '' && context.isUsed(name));
  if (used.length > 0) context.refuse(`its output${used.length > 1 ? 's' : ''} ${used.map((name) => `'${name}'`).join(', ')} ${why}`);
  node.output = node.output.slice(0, from);
}

/** Shared by BatchNormalization and Dropout: is_test=1 is what opset 7 always does. */
const isTestRemoved = adapter('is_test removed', (node: NodeProto, context: AdapterContext) => {
  const isTest = intAttribute(node, 'is_test');
  if (isTest === 0) {
    context.refuse('is_test=0 runs it in training mode, which opset 7 cannot express this way');
  }
  if (isTest === undefined) {
    context.note('is_test was absent (training mode by default before opset 7); converted as inference, as runtimes ran it');
  }
  if (node.opType === 'BatchNormalization' && extraOutputs(node).length > 0) {
    dropUnusedOutputs(node, 1, context, 'are read, and from opset 7 on the extra outputs switch BatchNormalization to training mode');
  }
  removeAttribute(node, 'is_test');
  return [node];
});

/** spatial=0 (statistics per activation, not per channel) written out as arithmetic. */
const spatialRemoved = adapter('spatial removed', (node: NodeProto, context: AdapterContext) => {
  const spatial = intAttribute(node, 'spatial', 1);
  if (spatial === 1) {
    if (!hasAttribute(node, 'spatial')) return undefined;
    removeAttribute(node, 'spatial');
    return [node];
  }
  if (extraOutputs(node).length > 0) {
    context.refuse('it normalizes per activation (spatial=0) in training mode, which opset 9 cannot express');
  }
  const epsilon = floatAttribute(node, 'epsilon', 1e-5);
  const elemType = requireElemType(node, 0, context, 'epsilon must be written as a constant of that type');
  const epsilonTensor = scalarTensor(elemType, epsilon);
  if (epsilonTensor === undefined) context.refuse(`epsilon cannot be written as ${dataTypeName(elemType)}`);
  const [x = '', scale = '', bias = '', mean = '', variance = ''] = node.input;
  const anchor = anchorOf(node);
  const name = (suffix: string): string => context.freshName(`${anchor}_${suffix}`);
  const [shifted, denominatorIn, denominator, normalized, scaled] = ['centered', 'var_eps', 'std', 'normalized', 'scaled'].map(name) as [string, string, string, string, string];
  const epsilonName = context.addConstant(`${anchor}_epsilon`, epsilonTensor);
  context.note('per-activation normalization (spatial=0) written as (x - mean) / sqrt(var + epsilon) * scale + B');
  return [
    context.makeNode('Sub', [x, mean], [shifted], anchor),
    context.makeNode('Add', [variance, epsilonName], [denominatorIn], anchor),
    context.makeNode('Sqrt', [denominatorIn], [denominator], anchor),
    context.makeNode('Div', [shifted, denominator], [normalized], anchor),
    context.makeNode('Mul', [normalized, scale], [scaled], anchor),
    context.makeNode('Add', [scaled, bias], [node.output[0] ?? ''], anchor),
  ];
});

const trainingOutputsUp = adapter('training outputs → training_mode', (node: NodeProto, context: AdapterContext) => {
  if (node.output.length <= 1) return undefined;
  const training = node.output.slice(1, 3).some((name) => name !== '');
  dropUnusedOutputs(node, 3, context, 'are saved_mean/saved_var, which BatchNormalization dropped in opset 14');
  trimOptionalOutputs(node);
  if (training) {
    setAttribute(node, 'training_mode', attrInt(1));
    context.note('its running mean and variance outputs make it a training-mode node: training_mode=1');
  }
  return [node];
});

const trainingOutputsDown = adapter('training_mode → training outputs', (node: NodeProto, context: AdapterContext) => {
  const training = intAttribute(node, 'training_mode', 0) === 1;
  if (!hasAttribute(node, 'training_mode') && node.output.length <= 1) return undefined;
  removeAttribute(node, 'training_mode');
  if (!training) {
    dropUnusedOutputs(node, 1, context, 'are read, and before opset 14 these outputs switch BatchNormalization to training mode');
  } else {
    // Before 14, training mode is told by the statistics outputs, all four of them.
    const anchor = anchorOf(node);
    const [y = '', mean = '', variance = ''] = node.output;
    node.output = [
      y,
      mean === '' ? context.freshName(`${anchor}_mean`) : mean,
      variance === '' ? context.freshName(`${anchor}_var`) : variance,
      context.freshName(`${anchor}_saved_mean`),
      context.freshName(`${anchor}_saved_var`),
    ];
  }
  return [node];
});

/** Repeats each group's scale (or bias) over the group's channels: [G] → [C]. */
const perGroupToPerChannel = adapter('per-group scale/bias → per-channel', (node: NodeProto, context: AdapterContext) => {
  const groups = intAttribute(node, 'num_groups');
  if (groups === undefined) context.refuse('it has no num_groups attribute');
  const x = inputAt(node, 0);
  const anchor = anchorOf(node);
  const name = (suffix: string): string => context.freshName(`${anchor}_${suffix}`);
  const channels = name('channels');
  const perGroup = name('channels_per_group');
  const expandShape = name('expand_shape');
  const nodes: NodeProto[] = [
    context.makeNode('Shape', [x], [channels], anchor, { start: 1, end: 2 }),
    context.makeNode('Div', [channels, context.addConstant(`${anchor}_num_groups`, int64Tensor([groups]))], [perGroup], anchor),
    context.makeNode('Concat', [context.addConstant(`${anchor}_one`, int64Tensor([1])), perGroup], [expandShape], anchor, { axis: 0 }),
  ];
  const column = context.addConstant(`${anchor}_column`, int64Tensor([-1, 1]));
  const flat = context.addConstant(`${anchor}_flat`, int64Tensor([-1]));
  for (const index of [1, 2]) {
    const perGroupValue = inputAt(node, index);
    const [asColumn, expanded, perChannel] = ['column', 'expanded', 'per_channel'].map((s) => name(`${perGroupValue}_${s}`)) as [string, string, string];
    nodes.push(
      context.makeNode('Reshape', [perGroupValue, column], [asColumn], anchor),
      context.makeNode('Expand', [asColumn, expandShape], [expanded], anchor),
      context.makeNode('Reshape', [expanded, flat], [perChannel], anchor),
    );
    node.input[index] = perChannel;
  }
  const elemType = context.fact(x).elemType;
  if (elemType === undefined) {
    context.note('the input type is unknown: opset 21 computes the statistics in float32 (stash_type=1), which differs for float16 inputs');
  } else if (elemType !== DataType.FLOAT) {
    // Opset 18 computed in the input's own type; stash_type keeps that.
    setAttribute(node, 'stash_type', attrInt(elemType));
  }
  nodes.push(node);
  return nodes;
});

const perChannelToPerGroup = adapter('per-channel scale/bias → per-group', (node: NodeProto, context: AdapterContext) => {
  const groups = intAttribute(node, 'num_groups');
  if (groups === undefined) context.refuse('it has no num_groups attribute');
  const anchor = anchorOf(node);
  for (const index of [1, 2]) {
    const name = inputAt(node, index);
    const tensor = context.constantValue(name);
    const values = tensor === undefined ? undefined : floatValues(tensor);
    if (tensor === undefined || values === undefined || values.length % groups !== 0) {
      context.refuse(`its per-channel input '${name}' is not a float constant whose length is a multiple of ${groups}, so it cannot be written per group`);
    }
    const perGroup = values.length / groups;
    const grouped: number[] = [];
    for (let group = 0; group < groups; group++) {
      const slice = values.slice(group * perGroup, (group + 1) * perGroup);
      if (slice.some((value) => value !== slice[0])) {
        context.refuse(`its input '${name}' differs between channels of one group, which opset 20 cannot express`);
      }
      grouped.push(slice[0] ?? 0);
    }
    node.input[index] = context.addConstant(`${anchor}_${index === 1 ? 'scale' : 'bias'}`, createTensor('', tensor.dataType ?? DataType.FLOAT, [groups], grouped));
  }
  removeAttribute(node, 'stash_type');
  return [node];
});

/** The adapters of this group. */
export const normalizationAdapters: readonly AdapterRegistration[] = [
  registration(['BatchNormalization', 'Dropout'], 7, 'up', isTestRemoved),
  registration('BatchNormalization', 9, 'up', spatialRemoved),
  registration('BatchNormalization', 14, 'up', trainingOutputsUp),
  registration('BatchNormalization', 14, 'down', trainingOutputsDown),
  registration('GroupNormalization', 21, 'up', perGroupToPerChannel),
  registration('GroupNormalization', 21, 'down', perChannelToPerGroup),
];
