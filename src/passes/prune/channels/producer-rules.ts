/**
 * Rules for the operators that own channels through their weights: Conv,
 * ConvTranspose, Gemm and MatMul create output channels (producers) and
 * absorb input channels (consumers); BatchNormalization and
 * InstanceNormalization carry one parameter per channel.
 */
import { dimsOf, resolveConstant, unsupportedFloatReason } from '../weights.js';
import type { ChannelLayout } from './channel-set.js';
import { intAttribute, type ChannelAnalysis } from './context.js';

/** Blocks `ids` with `reason` when `reason` is set. */
function blockIf(ctx: ChannelAnalysis, ids: Int32Array, reason: string | undefined): void {
  if (reason !== undefined) ctx.set.block(ids, reason);
}

/** Starts fresh output channels of a producer, recording it (or blocking them, saying why). */
function produce(ctx: ChannelAnalysis, nodeIndex: number, count: number, weightName: string, outAxis: number): Int32Array {
  const ids = ctx.set.fresh(count);
  const weight = resolveConstant(ctx.index, weightName)!;
  const reason = ctx.producerBlockReason(nodeIndex);
  if (reason !== undefined) {
    ctx.set.block(ids, reason);
    ctx.skipped.push({ node: ctx.label(nodeIndex), reason: `output channels left unpruned: ${reason}` });
  } else {
    blockIf(ctx, ids, ctx.sliceConstant({ nodeIndex, inputIndex: 1 }, outAxis, ids, 1, 'output'));
    ctx.producers.push({ nodeIndex, label: ctx.label(nodeIndex), ids, weight, outAxis });
  }
  return ids;
}

/** Slices an optional per-output-channel bias (input 2) along `axis`, or blocks the channels. */
function sliceBias(ctx: ChannelAnalysis, nodeIndex: number, ids: Int32Array, axis = 0): void {
  const bias = ctx.graph.node[nodeIndex]!.input[2] ?? '';
  if (bias === '') return;
  blockIf(ctx, ids, ctx.sliceConstant({ nodeIndex, inputIndex: 2 }, axis, ids, 1));
}

/** Why the node's weight (input 1) cannot be rewritten, or undefined. */
function weightProblem(ctx: ChannelAnalysis, nodeIndex: number): string | undefined {
  const name = ctx.graph.node[nodeIndex]!.input[1] ?? '';
  const weight = resolveConstant(ctx.index, name);
  if (weight === undefined) return `the weight '${name}' of ${ctx.describe(nodeIndex)} is computed at run time`;
  const unsupported = unsupportedFloatReason(weight.tensor);
  return unsupported === undefined ? undefined : `the weight '${name}' of ${ctx.describe(nodeIndex)} cannot be rewritten: ${unsupported}`;
}

/** Repeats each id `times` times: the output channels of a depthwise Conv with a channel multiplier. */
function repeatIds(ids: Int32Array, times: number): Int32Array {
  const out = new Int32Array(ids.length * times);
  for (let i = 0; i < out.length; i++) out[i] = ids[Math.floor(i / times)]!;
  return out;
}

/** Unites channel i of every block of `blockSize` with channel i of the first block, so all blocks keep the same positions. */
function coupleBlocks(ctx: ChannelAnalysis, ids: Int32Array, blockSize: number): void {
  for (let start = blockSize; start < ids.length; start += blockSize) {
    ctx.set.unite(ids.subarray(0, blockSize), ids.subarray(start, start + blockSize));
  }
}

/** The input's layout if it is channels-first with one position per channel; blocks anything else. */
function channelsFirstInput(ctx: ChannelAnalysis, nodeIndex: number): ChannelLayout | undefined {
  const name = ctx.graph.node[nodeIndex]!.input[0] ?? '';
  const layout = ctx.layouts.get(name);
  if (layout === undefined) return undefined;
  if (layout.kind !== 'channels' || layout.axis !== 1 || layout.factor !== 1) {
    ctx.set.block(layout.ids, `${ctx.describe(nodeIndex)} reads '${name}' with its channels where it expects them on axis 1`);
    return undefined;
  }
  return layout;
}

/** Conv: input channels on weight axis 1, output channels on axis 0; depthwise and grouped variants. */
export function convRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const output = node.output[0] ?? '';
  const problem = weightProblem(ctx, nodeIndex);
  if (problem !== undefined) {
    ctx.blockInputs(nodeIndex, problem);
    ctx.skipped.push({ node: ctx.label(nodeIndex), reason: problem });
    return;
  }
  const weightDims = dimsOf(resolveConstant(ctx.index, node.input[1] ?? '')!.tensor);
  const [outChannels = 0, inPerGroup = 0] = weightDims;
  const group = intAttribute(node, 'group', 1);
  const inChannels = inPerGroup * group;
  const rank = ctx.shape(output)?.length ?? weightDims.length;
  const input = channelsFirstInput(ctx, nodeIndex);
  const excluded = ctx.producerBlockReason(nodeIndex) === 'excluded by --exclude';
  if (input !== undefined && excluded) ctx.set.block(input.ids, `${ctx.describe(nodeIndex)} is excluded by --exclude`);

  if (group > 1 && group === inChannels && input !== undefined && !excluded) {
    // Depthwise: output channel o reads only input channel o / multiplier, so it follows its input.
    if (outChannels % inChannels !== 0) {
      ctx.set.block(input.ids, `${ctx.describe(nodeIndex)} has ${outChannels} outputs for ${inChannels} groups`);
      return;
    }
    const ids = repeatIds(input.ids, outChannels / inChannels);
    blockIf(ctx, input.ids, ctx.sliceConstant({ nodeIndex, inputIndex: 1 }, 0, ids, 1));
    sliceBias(ctx, nodeIndex, ids);
    ctx.groupEdits.push({ nodeIndex, ids: input.ids });
    ctx.setLayout(output, { kind: 'channels', ids, axis: 1, rank, factor: 1 });
    return;
  }
  if (input !== undefined && !excluded) {
    if (group > 1) coupleBlocks(ctx, input.ids, inPerGroup);
    blockIf(ctx, input.ids, ctx.sliceConstant({ nodeIndex, inputIndex: 1 }, 1, input.ids.subarray(0, inPerGroup), 1, 'input'));
  }
  const ids = produce(ctx, nodeIndex, outChannels, node.input[1] ?? '', 0);
  if (group > 1) {
    // Every group must keep the same number of outputs, and at least one.
    if (outChannels / group < 2) ctx.set.block(ids, `${ctx.describe(nodeIndex)} has one output channel per group, and its input channels stay`);
    coupleBlocks(ctx, ids, outChannels / group);
  }
  sliceBias(ctx, nodeIndex, ids);
  ctx.setLayout(output, { kind: 'channels', ids, axis: 1, rank, factor: 1 });
}

/** ConvTranspose (group 1): input channels on weight axis 0, output channels on axis 1. */
export function convTransposeRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const problem = weightProblem(ctx, nodeIndex) ??
    (intAttribute(node, 'group', 1) !== 1 ? `${ctx.describe(nodeIndex)} is grouped, which mlctl does not prune` : undefined);
  if (problem !== undefined) {
    ctx.blockInputs(nodeIndex, problem);
    ctx.skipped.push({ node: ctx.label(nodeIndex), reason: problem });
    return;
  }
  const weightDims = dimsOf(resolveConstant(ctx.index, node.input[1] ?? '')!.tensor);
  const input = channelsFirstInput(ctx, nodeIndex);
  if (input !== undefined) {
    if (ctx.producerBlockReason(nodeIndex) === 'excluded by --exclude') ctx.set.block(input.ids, `${ctx.describe(nodeIndex)} is excluded by --exclude`);
    else blockIf(ctx, input.ids, ctx.sliceConstant({ nodeIndex, inputIndex: 1 }, 0, input.ids, 1, 'input'));
  }
  const output = node.output[0] ?? '';
  const ids = produce(ctx, nodeIndex, weightDims[1] ?? 0, node.input[1] ?? '', 1);
  sliceBias(ctx, nodeIndex, ids);
  ctx.setLayout(output, { kind: 'channels', ids, axis: 1, rank: ctx.shape(output)?.length ?? weightDims.length, factor: 1 });
}

/** Gemm: A's columns (K) are B's rows, output columns (N) are B's columns; `transB` swaps B's axes. */
export function gemmRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const problem = weightProblem(ctx, nodeIndex);
  if (problem !== undefined) {
    ctx.blockInputs(nodeIndex, problem);
    ctx.skipped.push({ node: ctx.label(nodeIndex), reason: problem });
    return;
  }
  const transA = intAttribute(node, 'transA', 0) !== 0;
  const transB = intAttribute(node, 'transB', 0) !== 0;
  const weightDims = dimsOf(resolveConstant(ctx.index, node.input[1] ?? '')!.tensor);
  const rowAxis = transB ? 1 : 0;
  const input = ctx.layouts.get(node.input[0] ?? '');
  if (input !== undefined) {
    if (input.kind !== 'channels' || transA || input.rank !== 2 || input.axis !== 1) {
      ctx.set.block(input.ids, `${ctx.describe(nodeIndex)} reads its input with the channels where it does not contract them${transA ? ' (transA)' : ''}`);
    } else if (ctx.producerBlockReason(nodeIndex) === 'excluded by --exclude') {
      ctx.set.block(input.ids, `${ctx.describe(nodeIndex)} is excluded by --exclude`);
    } else {
      blockIf(ctx, input.ids, ctx.sliceConstant({ nodeIndex, inputIndex: 1 }, rowAxis, input.ids, input.factor, 'input'));
    }
  }
  const output = node.output[0] ?? '';
  const ids = produce(ctx, nodeIndex, weightDims[1 - rowAxis] ?? 0, node.input[1] ?? '', 1 - rowAxis);
  const bias = node.input[2] ?? '';
  if (bias !== '') {
    const biasDims = ctx.shape(bias);
    const columns = biasDims?.[biasDims.length - 1];
    if (biasDims === undefined) ctx.set.block(ids, `the bias '${bias}' of ${ctx.describe(nodeIndex)} has an unknown shape`);
    else if (columns === ids.length) sliceBias(ctx, nodeIndex, ids, biasDims.length - 1);
  }
  ctx.setLayout(output, { kind: 'channels', ids, axis: 1, rank: 2, factor: 1 });
}

/** MatMul with a constant 2-D right operand: like Gemm without transposes, on the last axis. */
export function matMulRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const left = ctx.layouts.get(node.input[0] ?? '');
  const right = ctx.layouts.get(node.input[1] ?? '');
  const problem = weightProblem(ctx, nodeIndex);
  const weight = resolveConstant(ctx.index, node.input[1] ?? '');
  const weightDims = weight === undefined ? [] : dimsOf(weight.tensor);
  if (problem !== undefined || right !== undefined || weightDims.length !== 2) {
    const reason = problem ?? `${ctx.describe(nodeIndex)} does not multiply by a constant 2-D matrix`;
    ctx.blockInputs(nodeIndex, reason);
    ctx.skipped.push({ node: ctx.label(nodeIndex), reason });
    return;
  }
  if (left !== undefined) {
    if (left.kind !== 'channels' || left.axis !== left.rank - 1) {
      ctx.set.block(left.ids, `${ctx.describe(nodeIndex)} contracts an axis other than the channel axis`);
    } else if (ctx.producerBlockReason(nodeIndex) === 'excluded by --exclude') {
      ctx.set.block(left.ids, `${ctx.describe(nodeIndex)} is excluded by --exclude`);
    } else {
      blockIf(ctx, left.ids, ctx.sliceConstant({ nodeIndex, inputIndex: 1 }, 0, left.ids, left.factor, 'input'));
    }
  }
  const output = node.output[0] ?? '';
  const rank = ctx.shape(output)?.length;
  const ids = produce(ctx, nodeIndex, weightDims[1] ?? 0, node.input[1] ?? '', 1);
  if (rank === undefined || rank < 2) {
    ctx.set.block(ids, `the output of ${ctx.describe(nodeIndex)} has an unknown or 1-D shape`);
    return;
  }
  ctx.setLayout(output, { kind: 'channels', ids, axis: rank - 1, rank, factor: 1 });
}

/** BatchNormalization / InstanceNormalization: one parameter per channel in inputs 1.. (`parameterCount` of them). */
export function normalizationRule(ctx: ChannelAnalysis, nodeIndex: number, parameterCount: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const input = channelsFirstInput(ctx, nodeIndex);
  if (input === undefined) return;
  if (node.output.slice(1).some((name) => name !== '' && ctx.index.isUsed(name))) {
    ctx.set.block(input.ids, `${ctx.describe(nodeIndex)} also outputs running statistics, which are used`);
    return;
  }
  for (let inputIndex = 1; inputIndex <= parameterCount; inputIndex++) {
    blockIf(ctx, input.ids, ctx.sliceConstant({ nodeIndex, inputIndex }, 0, input.ids, 1));
  }
  ctx.setLayout(node.output[0] ?? '', input);
}
