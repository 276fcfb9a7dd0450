/**
 * Rules for operators that move channels along without weights of their
 * own: elementwise operators (which tie the channels of their inputs),
 * pooling and resizing, Concat (which shifts channel indices), and the
 * reshaping operators (Flatten, Reshape, Squeeze, Unsqueeze, Transpose,
 * including a channel shuffle), plus reductions over other axes.
 */
import { int64Values, resolveConstant } from '../weights.js';
import type { ChannelLayout, SplitLayout, ValueLayout } from './channel-set.js';
import { intAttribute, intsAttribute, type ChannelAnalysis, type ShapeUpdate } from './context.js';

function product(dims: readonly number[], from = 0, to = dims.length): number {
  let result = 1;
  for (let i = from; i < to; i++) result *= dims[i]!;
  return result;
}

function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Blocks every input that carries channels, with `reason`, and stops. */
function blockAll(ctx: ChannelAnalysis, nodeIndex: number, reason: string): void {
  ctx.blockInputs(nodeIndex, reason);
}

/**
 * Elementwise operators, unary or broadcasting: every input carrying
 * channels must line them up on the same output axis (they are then tied);
 * other inputs must broadcast along it (size 1) or be constants holding one
 * entry per position (sliced with the channels).
 */
export function elementwiseRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const carried = node.input.map((name) => ctx.layouts.get(name));
  const first = carried.find((layout) => layout !== undefined);
  if (first === undefined) return;
  const output = node.output[0] ?? '';
  const outShape = ctx.shape(output);
  if (first.kind !== 'channels' || carried.some((layout) => layout !== undefined && layout.kind !== 'channels')) {
    blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} reads a channel shuffle in the middle`);
    return;
  }
  if (outShape === undefined) {
    blockAll(ctx, nodeIndex, `the output of ${ctx.describe(nodeIndex)} has an unknown shape`);
    return;
  }
  const outRank = outShape.length;
  const outAxis = first.axis + outRank - first.rank;
  const positions = first.ids.length * first.factor;
  if (outShape[outAxis] !== positions) {
    blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} changes the size of the channel axis`);
    return;
  }
  for (const layout of carried) {
    if (layout === undefined || layout === first) continue;
    const aligned = layout.kind === 'channels' && layout.axis + outRank - layout.rank === outAxis &&
      layout.factor === first.factor && layout.ids.length === first.ids.length;
    if (!aligned) {
      blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} combines values whose channels do not line up`);
      return;
    }
    ctx.set.unite(first.ids, layout.ids);
  }
  for (let inputIndex = 0; inputIndex < node.input.length; inputIndex++) {
    const name = node.input[inputIndex]!;
    if (name === '' || carried[inputIndex] !== undefined) continue;
    const dims = ctx.shape(name);
    if (dims === undefined) {
      ctx.set.block(first.ids, `'${name}' of ${ctx.describe(nodeIndex)} has an unknown shape`);
      continue;
    }
    const axis = outAxis - (outRank - dims.length);
    if (axis < 0 || dims[axis] === 1) continue;
    const reason = dims[axis] === positions
      ? ctx.sliceConstant({ nodeIndex, inputIndex }, axis, first.ids, first.factor)
      : `'${name}' of ${ctx.describe(nodeIndex)} does not broadcast along the channel axis`;
    if (reason !== undefined) {
      const constant = ctx.isConstantInput({ nodeIndex, inputIndex });
      ctx.set.block(first.ids, constant ? reason : `${ctx.describe(nodeIndex)} combines the channels with '${name}', whose channels cannot be pruned`);
    }
  }
  const layout: ChannelLayout = { kind: 'channels', ids: first.ids, axis: outAxis, rank: outRank, factor: first.factor };
  for (const name of node.output) ctx.setLayout(name, layout);
}

/**
 * Pooling, resizing and padding: the channel axis passes through unchanged
 * (checked on the shapes); any other input carrying channels, or a used
 * MaxPool index output, stops them.
 */
export function spatialRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const input = ctx.layouts.get(node.input[0] ?? '');
  if (node.input.slice(1).some((name) => ctx.layouts.has(name))) {
    blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} reads channels in a parameter input`);
    return;
  }
  if (input === undefined) return;
  const inShape = ctx.shape(node.input[0] ?? '');
  const outShape = ctx.shape(node.output[0] ?? '');
  if (input.kind !== 'channels' || inShape === undefined || outShape === undefined || inShape.length !== outShape.length ||
    outShape[input.axis] !== inShape[input.axis]) {
    ctx.set.block(input.ids, `${ctx.describe(nodeIndex)} does not keep the channel axis as it is`);
    return;
  }
  const op = node.opType ?? '';
  if (op === 'MaxPool' && (node.output[1] ?? '') !== '' && ctx.index.isUsed(node.output[1]!)) {
    ctx.set.block(input.ids, `the indices output of ${ctx.describe(nodeIndex)} is used`);
    return;
  }
  if (op === 'Pad') {
    const pads = intsAttribute(node, 'pads') ?? padsInput(ctx, node.input[1] ?? '');
    if (pads === undefined || pads[input.axis] !== 0 || pads[input.axis + inShape.length] !== 0) {
      ctx.set.block(input.ids, `${ctx.describe(nodeIndex)} may pad the channel axis`);
      return;
    }
  }
  if (op === 'Resize' && (node.input[3] ?? '') !== '') {
    const sizes = resolveConstant(ctx.index, node.input[3]!);
    const literal = sizes === undefined ? undefined : int64Values(sizes.tensor)[input.axis];
    const reason = literal === undefined || literal <= 0
      ? `the sizes of ${ctx.describe(nodeIndex)} are not a constant mlctl can rewrite`
      : ctx.rewriteShape({ nodeIndex, inputIndex: 3 }, [{ position: input.axis, ids: input.ids, multiply: input.factor, divide: 1 }]);
    if (reason !== undefined) {
      ctx.set.block(input.ids, reason);
      return;
    }
  }
  ctx.setLayout(node.output[0] ?? '', { ...input, rank: outShape.length });
}

function padsInput(ctx: ChannelAnalysis, name: string): number[] | undefined {
  const constant = name === '' ? undefined : resolveConstant(ctx.index, name);
  return constant === undefined ? undefined : int64Values(constant.tensor);
}

/**
 * Concat along the channel axis lays its inputs' channels end to end (inputs
 * that carry no prunable channels contribute fixed ones); along another axis
 * it ties its inputs' channels like an elementwise operator.
 */
export function concatRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const carried = node.input.map((name) => ctx.layouts.get(name));
  if (carried.every((layout) => layout === undefined)) return;
  const output = node.output[0] ?? '';
  const outShape = ctx.shape(output);
  if (outShape === undefined || carried.some((layout) => layout !== undefined && (layout.kind !== 'channels' || layout.rank !== outShape.length))) {
    blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} has inputs whose channels mlctl cannot place`);
    return;
  }
  const axis = normalizeAxis(intAttribute(node, 'axis', 0), outShape.length);
  const layouts = carried as Array<ChannelLayout | undefined>;
  const first = layouts.find((layout) => layout !== undefined)!;
  if (first.axis !== axis) {
    if (layouts.some((layout) => layout === undefined || layout.axis !== first.axis || layout.factor !== first.factor || layout.ids.length !== first.ids.length)) {
      blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} joins values along another axis whose channels cannot all be pruned alike`);
      return;
    }
    for (const layout of layouts) ctx.set.unite(first.ids, layout!.ids);
    ctx.setLayout(output, { ...first, rank: outShape.length });
    return;
  }
  if (layouts.some((layout) => layout !== undefined && (layout.axis !== axis || layout.factor !== first.factor))) {
    blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} joins channels laid out differently`);
    return;
  }
  const parts: Int32Array[] = [];
  for (let inputIndex = 0; inputIndex < node.input.length; inputIndex++) {
    const layout = layouts[inputIndex];
    if (layout !== undefined) {
      parts.push(layout.ids);
      continue;
    }
    const name = node.input[inputIndex]!;
    const size = ctx.shape(name)?.[axis];
    if (size === undefined || size % first.factor !== 0) {
      blockAll(ctx, nodeIndex, `'${name}' of ${ctx.describe(nodeIndex)} has an unknown or incompatible shape`);
      return;
    }
    const fixed = ctx.set.fresh(size / first.factor);
    ctx.set.block(fixed, `'${name}' enters ${ctx.describe(nodeIndex)} with channels that cannot be pruned`);
    parts.push(fixed);
  }
  const ids = new Int32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    ids.set(part, offset);
    offset += part.length;
  }
  ctx.setLayout(output, { kind: 'channels', ids, axis, rank: outShape.length, factor: first.factor });
}

/** Where the channel axis lands when `inDims` is reshaped to `outDims`. */
type AxisMapping =
  | { kind: 'channels'; axis: number; spread: number }
  | { kind: 'split'; axis: number; groups: number };

/**
 * Channel c of axis k occupies positions [c·spread, (c+1)·spread) of output
 * axis k' when the dims before both axes multiply to the same number and
 * out[k'] = in[k]·spread with spread dividing what follows axis k (the
 * channel stays the outer digit). A split into [g, C/g] is reported apart.
 */
function mapAxis(inDims: readonly number[], outDims: readonly number[], layout: ChannelLayout): AxisMapping | undefined {
  const k = layout.axis;
  const size = inDims[k]!;
  const before = product(inDims, 0, k);
  const after = product(inDims, k + 1);
  let prefix = 1;
  for (let axis = 0; axis < outDims.length && prefix <= before; axis++) {
    const dim = outDims[axis]!;
    if (prefix === before && size > 0) {
      if (dim % size === 0 && after % (dim / size) === 0) return { kind: 'channels', axis, spread: dim / size };
      if (layout.factor === 1 && dim > 1 && dim < size && size % dim === 0 && outDims[axis + 1] === size / dim) {
        return { kind: 'split', axis, groups: dim };
      }
    }
    prefix *= dim;
  }
  return undefined;
}

/** The shuffled channel order after [g, C/g] → transpose → [C/g, g] → merge, tying each position across groups. */
function mergeShuffle(ctx: ChannelAnalysis, layout: SplitLayout): Int32Array {
  const groups = layout.groups;
  const perGroup = layout.ids.length / groups;
  const ids = new Int32Array(layout.ids.length);
  for (let a = 0; a < groups; a++) {
    for (let b = 0; b < perGroup; b++) {
      ids[b * groups + a] = layout.ids[a * perGroup + b]!;
      // Removing channel b of one group must remove it from all, or the shuffle no longer lines up.
      ctx.set.union(layout.ids[b]!, layout.ids[a * perGroup + b]!);
    }
  }
  return ids;
}

/**
 * Reshape, Flatten, Squeeze and Unsqueeze, judged on the measured shapes.
 * A Reshape's constant target that spells out a channel count is rewritten;
 * one computed at run time stops the channels.
 */
export function reshapeRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const isReshape = node.opType === 'Reshape';
  const layout = ctx.layouts.get(node.input[0] ?? '');
  if (node.input.slice(1).some((name) => ctx.layouts.has(name))) {
    blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} reads channels in its shape input`);
    return;
  }
  if (layout === undefined) return;
  const output = node.output[0] ?? '';
  const inDims = ctx.shape(node.input[0] ?? '');
  const outDims = ctx.shape(output);
  const fail = (reason: string): void => ctx.set.block(layout.ids, reason);
  if (inDims === undefined || outDims === undefined) return fail(`${ctx.describe(nodeIndex)} has an unknown input or output shape`);
  const target = isReshape ? resolveConstant(ctx.index, node.input[1] ?? '') : undefined;
  const targetValues = target === undefined ? undefined : int64Values(target.tensor);

  if (layout.kind === 'split') {
    const merged = layout.transposed ? mergedAxis(inDims, outDims, layout) : undefined;
    if (merged === undefined) return fail(`${ctx.describe(nodeIndex)} reshapes a split channel axis in a way mlctl cannot follow`);
    const ids = mergeShuffle(ctx, layout);
    if (isReshape) {
      const reason = shapeUpdate(ctx, nodeIndex, targetValues, { position: merged, ids, multiply: 1, divide: 1 }, layout.axis);
      if (reason !== undefined) return fail(reason);
    }
    ctx.setLayout(output, { kind: 'channels', ids, axis: merged, rank: outDims.length, factor: 1 });
    return;
  }
  const mapping = mapAxis(inDims, outDims, layout);
  if (mapping === undefined) return fail(`${ctx.describe(nodeIndex)} mixes the channel axis with others`);
  if (mapping.kind === 'split') {
    if (!isReshape) return fail(`${ctx.describe(nodeIndex)} splits the channel axis`);
    const reason = shapeUpdate(ctx, nodeIndex, targetValues,
      { position: mapping.axis + 1, ids: layout.ids, multiply: 1, divide: mapping.groups }, layout.axis);
    if (reason !== undefined) return fail(reason);
    ctx.setLayout(output, { kind: 'split', ids: layout.ids, axis: mapping.axis, rank: outDims.length, groups: mapping.groups, transposed: false });
    return;
  }
  if (isReshape) {
    const reason = shapeUpdate(ctx, nodeIndex, targetValues,
      { position: mapping.axis, ids: layout.ids, multiply: layout.factor * mapping.spread, divide: 1 }, layout.axis,
      mapping.axis === layout.axis && mapping.spread === 1);
    if (reason !== undefined) return fail(reason);
  }
  ctx.setLayout(output, { kind: 'channels', ids: layout.ids, axis: mapping.axis, rank: outDims.length, factor: layout.factor * mapping.spread });
}

/** The output axis where a transposed split ([.., C/g, g, ..] at `layout.axis`) is merged back into C. */
function mergedAxis(inDims: readonly number[], outDims: readonly number[], layout: SplitLayout): number | undefined {
  const before = product(inDims, 0, layout.axis);
  let prefix = 1;
  for (let axis = 0; axis < outDims.length && prefix <= before; axis++) {
    if (prefix === before && outDims[axis] === layout.ids.length) return axis;
    prefix *= outDims[axis]!;
  }
  return undefined;
}

/**
 * Checks a Reshape target against the channels it moves and records the
 * rewrite of the entry that spells out their count. -1 needs no rewrite; 0
 * (copy the input's size) at the input's channel axis is right only when the
 * channel axis stays there unchanged (`copyKeeps`). Returns why it cannot be done.
 */
function shapeUpdate(
  ctx: ChannelAnalysis,
  nodeIndex: number,
  target: number[] | undefined,
  update: ShapeUpdate,
  inputChannelAxis: number,
  copyKeeps = false,
): string | undefined {
  const node = ctx.graph.node[nodeIndex]!;
  if (target === undefined) {
    return `the target shape '${node.input[1] ?? ''}' of ${ctx.describe(nodeIndex)} is computed at run time, so mlctl cannot prove it still fits`;
  }
  const copiesChannels = target[inputChannelAxis] === 0 && !(copyKeeps && inputChannelAxis === update.position);
  if (copiesChannels) return `${ctx.describe(nodeIndex)} copies the channel count into another axis (a 0 in its target shape)`;
  const literal = target[update.position];
  if (literal === undefined || literal <= 0) return undefined;
  return ctx.rewriteShape({ nodeIndex, inputIndex: 1 }, [update]);
}

/** Transpose moves the channel axis; on a split axis only the swap of a channel shuffle is followed. */
export function transposeRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const layout: ValueLayout | undefined = ctx.layouts.get(node.input[0] ?? '');
  if (layout === undefined) return;
  const rank = layout.rank;
  const perm = intsAttribute(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const output = node.output[0] ?? '';
  if (layout.kind === 'channels') {
    ctx.setLayout(output, { ...layout, axis: perm.indexOf(layout.axis) });
    return;
  }
  const inner = perm.indexOf(layout.axis + 1);
  if (layout.transposed || inner < 0 || perm[inner + 1] !== layout.axis) {
    ctx.set.block(layout.ids, `${ctx.describe(nodeIndex)} rearranges a split channel axis other than as a channel shuffle`);
    return;
  }
  ctx.setLayout(output, { ...layout, axis: inner, transposed: true });
}

/** Reductions over axes other than the channel axis (ReduceMean for squeeze-excitation, ...). */
export function reduceRule(ctx: ChannelAnalysis, nodeIndex: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const layout = ctx.channels(node.input[0] ?? '');
  if (layout === undefined) {
    if (ctx.layouts.has(node.input[0] ?? '')) blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} reduces a split channel axis`);
    return;
  }
  const axesInput = node.input[1] ?? '';
  const constant = axesInput === '' ? undefined : resolveConstant(ctx.index, axesInput);
  const axes = (intsAttribute(node, 'axes') ?? (constant === undefined ? undefined : int64Values(constant.tensor)))
    ?.map((axis) => normalizeAxis(axis, layout.rank));
  if (axes === undefined || axes.length === 0 || axes.includes(layout.axis)) {
    ctx.set.block(layout.ids, `${ctx.describe(nodeIndex)} reduces over the channel axis`);
    return;
  }
  const keepDims = intAttribute(node, 'keepdims', 1) !== 0;
  const axis = keepDims ? layout.axis : layout.axis - axes.filter((a) => a < layout.axis).length;
  ctx.setLayout(node.output[0] ?? '', { ...layout, axis, rank: keepDims ? layout.rank : layout.rank - axes.length });
}

/** Softmax-like operators: channels pass when the operator normalizes over axes after them only. */
export function softmaxRule(ctx: ChannelAnalysis, nodeIndex: number, opset: number): void {
  const node = ctx.graph.node[nodeIndex]!;
  const layout = ctx.channels(node.input[0] ?? '');
  if (layout === undefined) {
    if (ctx.layouts.has(node.input[0] ?? '')) blockAll(ctx, nodeIndex, `${ctx.describe(nodeIndex)} reads a split channel axis`);
    return;
  }
  const axis = normalizeAxis(intAttribute(node, 'axis', opset >= 13 ? -1 : 1), layout.rank);
  // Before opset 13 the operator flattens every axis from `axis` on into one.
  const mixes = opset >= 13 ? axis === layout.axis : layout.axis >= axis;
  if (mixes) {
    ctx.set.block(layout.ids, `${ctx.describe(nodeIndex)} normalizes over the channel axis`);
    return;
  }
  ctx.setLayout(node.output[0] ?? '', layout);
}
