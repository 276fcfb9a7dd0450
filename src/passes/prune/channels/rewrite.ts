/**
 * Applying a channel selection to the graph: slicing weights and
 * per-channel constants, rewriting shape constants and depthwise `group`
 * attributes, and fixing (or dropping) value_info that the new channel
 * counts make stale. A constant that other nodes also read is copied rather
 * than changed under them.
 */
import { makeAttribute } from '../../../onnx/builder.js';
import type { UniqueNameGenerator } from '../../../onnx/graph.js';
import { createTensor } from '../../../onnx/tensor.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../../../onnx/types.js';
import { dimsOf, floatValues, int64Values, withFloatValues, type ConstantRef } from '../weights.js';
import type { ChannelAnalysis, InputSite } from './context.js';
import type { Selection } from './select.js';
import { gatherAxis, keptCount, keptPositions } from './tensor-slice.js';

/** A new version of a constant for one node input. */
interface ReaderChange {
  readonly reader: InputSite;
  readonly source: ConstantRef;
  /** The new tensor, still named like the source. */
  readonly tensor: TensorProto;
  /** Equal keys mean equal tensors, so one copy can serve several readers. */
  readonly key: string;
}

const siteKey = (site: InputSite): string => `${site.nodeIndex}:${site.inputIndex}`;

function sameInts(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** The sliced float constants, one per node input that reads them. */
function floatChanges(ctx: ChannelAnalysis, selection: Selection, staleValues: Set<string>): ReaderChange[] {
  const groups = new Map<string, { reader: InputSite; source: ConstantRef; slices: Map<number, Int32Array> }>();
  for (const edit of ctx.tensorEdits) {
    const positions = keptPositions(edit.slice.ids, edit.slice.factor, selection.isRemoved);
    if (positions === undefined) continue;
    for (const name of edit.chainValues) staleValues.add(name);
    const key = siteKey(edit.reader);
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { reader: edit.reader, source: edit.source, slices: new Map() }));
    const existing = group.slices.get(edit.slice.axis);
    if (existing !== undefined && !sameInts(existing, positions)) {
      throw new Error(`prune: two different channel selections for axis ${edit.slice.axis} of '${edit.source.name}'`);
    }
    group.slices.set(edit.slice.axis, positions);
  }
  return [...groups.values()].map(({ reader, source, slices }) => {
    let values = floatValues(source.tensor);
    const dims = dimsOf(source.tensor);
    const ordered = [...slices].sort(([a], [b]) => a - b);
    for (const [axis, positions] of ordered) {
      values = gatherAxis(values, dims, axis, positions);
      dims[axis] = positions.length;
    }
    const key = ordered.map(([axis, positions]) => `${axis}:${positions.join(',')}`).join(';');
    return { reader, source, tensor: withFloatValues(source.tensor, dims, values), key };
  });
}

/** The rewritten int64 shape constants, one per node input that reads them. */
function shapeChanges(ctx: ChannelAnalysis, selection: Selection): ReaderChange[] {
  const changes: ReaderChange[] = [];
  const groups = new Map<string, { reader: InputSite; source: ConstantRef; values: number[] }>();
  for (const edit of ctx.shapeEdits) {
    const key = siteKey(edit.reader);
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { reader: edit.reader, source: edit.source, values: int64Values(edit.source.tensor) }));
    for (const update of edit.updates) {
      const value = (keptCount(update.ids, selection.isRemoved) * update.multiply) / update.divide;
      if (!Number.isInteger(value)) throw new Error(`prune: shape entry ${update.position} of '${edit.source.name}' would become ${value}`);
      group.values[update.position] = value;
    }
  }
  for (const { reader, source, values } of groups.values()) {
    if (values.every((value, i) => value === int64Values(source.tensor)[i])) continue;
    const tensor = createTensor(source.name, DataType.INT64, dimsOf(source.tensor), values.map(BigInt));
    changes.push({ reader, source, tensor, key: values.join(',') });
  }
  return changes;
}

/** How the graph's constants change: replaced in place, copied for some readers, or removed. */
interface ConstantPlan {
  inPlace: Map<string, TensorProto>;
  copies: TensorProto[];
  rewired: Map<string, string>;
  removed: Set<string>;
}

function planConstants(ctx: ChannelAnalysis, changes: readonly ReaderChange[], names: UniqueNameGenerator): ConstantPlan {
  const plan: ConstantPlan = { inPlace: new Map(), copies: [], rewired: new Map(), removed: new Set() };
  const bySource = new Map<string, ReaderChange[]>();
  for (const change of changes) {
    const list = bySource.get(change.source.name);
    if (list === undefined) bySource.set(change.source.name, [change]);
    else list.push(change);
  }
  for (const [name, list] of bySource) {
    const readers = new Set(list.map((change) => siteKey(change.reader)));
    const allReadersChange = ctx.index.consumers(name).every((consumer) => readers.has(siteKey(consumer))) &&
      !ctx.index.isGraphOutput(name) && ctx.index.subgraphUsers(name).length === 0;
    if (allReadersChange && list.every((change) => change.key === list[0]!.key)) {
      plan.inPlace.set(name, list[0]!.tensor);
      continue;
    }
    const copyByKey = new Map<string, string>();
    for (const change of list) {
      let copyName = copyByKey.get(change.key);
      if (copyName === undefined) {
        copyName = names.next(`${name}_pruned`);
        copyByKey.set(change.key, copyName);
        plan.copies.push({ ...change.tensor, name: copyName });
      }
      plan.rewired.set(siteKey(change.reader), copyName);
    }
    if (allReadersChange) plan.removed.add(name);
  }
  return plan;
}

function withGroup(node: NodeProto, group: number): NodeProto {
  const attribute = node.attribute.filter((a) => a.name !== 'group');
  return { ...node, attribute: [...attribute, makeAttribute('group', group)] };
}

function rewriteNodes(graph: GraphProto, plan: ConstantPlan, groups: ReadonlyMap<number, number>): NodeProto[] {
  const nodes: NodeProto[] = [];
  graph.node.forEach((original, nodeIndex) => {
    let node = original;
    const output = node.output[0] ?? '';
    if (node.opType === 'Constant') {
      if (plan.removed.has(output)) return;
      const replacement = plan.inPlace.get(output);
      if (replacement !== undefined) {
        node = { ...node, attribute: node.attribute.map((a) => (a.name === 'value' ? { ...a, t: replacement } : a)) };
      }
    }
    if (node.input.some((_, inputIndex) => plan.rewired.has(`${nodeIndex}:${inputIndex}`))) {
      node = { ...node, input: node.input.map((name, inputIndex) => plan.rewired.get(`${nodeIndex}:${inputIndex}`) ?? name) };
    }
    const group = groups.get(nodeIndex);
    if (group !== undefined) node = withGroup(node, group);
    nodes.push(node);
  });
  return nodes;
}

function tensorInput(tensor: TensorProto): ValueInfoProto {
  return {
    name: tensor.name ?? '',
    type: { tensorType: { elemType: tensor.dataType ?? DataType.FLOAT, shape: { dim: tensor.dims.map((dimValue) => ({ dimValue })) } } },
    metadataProps: [],
  };
}

/** value_info with the channel axis resized, or undefined to drop it when it cannot be fixed. */
function fixValueInfo(info: ValueInfoProto, ctx: ChannelAnalysis, selection: Selection, staleValues: ReadonlySet<string>): ValueInfoProto | undefined {
  const name = info.name ?? '';
  if (staleValues.has(name)) return undefined;
  const layout = ctx.layouts.get(name);
  if (layout === undefined) return info;
  const kept = keptCount(layout.ids, selection.isRemoved);
  if (kept === layout.ids.length) return info;
  if (layout.kind === 'split') return undefined;
  const dims = info.type?.tensorType?.shape?.dim;
  if (dims === undefined) return info;
  const dim = dims[layout.axis];
  if (dims.length !== layout.rank || dim === undefined) return undefined;
  if (dim.dimValue === undefined) return info;
  if (Number(dim.dimValue) !== layout.ids.length * layout.factor) return undefined;
  const fixed = dims.map((d, axis) => (axis === layout.axis ? { ...d, dimValue: BigInt(kept * layout.factor) } : d));
  const tensorType = { ...info.type!.tensorType!, shape: { dim: fixed } };
  return { ...info, type: { ...info.type!, tensorType } };
}

/** The graph with `changes` applied, `group` attributes set, and (when `fixValues`) value_info fixed. */
function applyChanges(
  ctx: ChannelAnalysis,
  selection: Selection,
  changes: readonly ReaderChange[],
  groups: ReadonlyMap<number, number>,
  names: UniqueNameGenerator,
  irVersion: bigint,
  staleValues: ReadonlySet<string> | undefined,
): GraphProto {
  const graph = ctx.graph;
  const plan = planConstants(ctx, changes, names);
  const initializer = graph.initializer
    .filter((tensor) => !plan.removed.has(tensor.name ?? ''))
    .map((tensor) => plan.inPlace.get(tensor.name ?? '') ?? tensor);
  initializer.push(...plan.copies);

  const initializerNames = new Set(graph.initializer.map((tensor) => tensor.name ?? ''));
  const listsInitializers = irVersion < 4n || graph.input.some((info) => initializerNames.has(info.name ?? ''));
  const input = graph.input
    .filter((info) => !plan.removed.has(info.name ?? ''))
    .map((info) => {
      const replacement = initializerNames.has(info.name ?? '') ? plan.inPlace.get(info.name ?? '') : undefined;
      return replacement === undefined ? info : { ...info, type: tensorInput(replacement).type };
    });
  if (listsInitializers) input.push(...plan.copies.map(tensorInput));

  const valueInfo = staleValues === undefined
    ? graph.valueInfo
    : graph.valueInfo
      .map((info) => fixValueInfo(info, ctx, selection, staleValues))
      .filter((info): info is ValueInfoProto => info !== undefined);
  return { ...graph, node: rewriteNodes(graph, plan, groups), initializer, input, valueInfo };
}

/**
 * The main graph with the selected channels removed. The input graph is not
 * changed. `names` must know every name in the model.
 */
export function rewriteChannels(ctx: ChannelAnalysis, selection: Selection, names: UniqueNameGenerator, irVersion: bigint): GraphProto {
  const staleValues = new Set<string>();
  const changes = [...floatChanges(ctx, selection, staleValues), ...shapeChanges(ctx, selection)];
  const groups = new Map<number, number>();
  for (const edit of ctx.groupEdits) {
    const kept = keptCount(edit.ids, selection.isRemoved);
    if (kept !== edit.ids.length) groups.set(edit.nodeIndex, kept);
  }
  return applyChanges(ctx, selection, changes, groups, names, irVersion, staleValues);
}

/**
 * The main graph unchanged in shape, but with the weights that read the
 * selected channels zeroed there: every consumer ignores them, so it
 * computes what the pruned graph computes. A reference for checking a
 * rewrite, not a way to make a model smaller.
 */
export function maskChannels(ctx: ChannelAnalysis, selection: Selection, names: UniqueNameGenerator, irVersion: bigint): GraphProto {
  const groups = new Map<string, { reader: InputSite; source: ConstantRef; masks: Array<[number, Int32Array]> }>();
  for (const edit of ctx.tensorEdits) {
    if (edit.role !== 'input') continue;
    const kept = keptPositions(edit.slice.ids, edit.slice.factor, selection.isRemoved);
    if (kept === undefined) continue;
    const key = siteKey(edit.reader);
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { reader: edit.reader, source: edit.source, masks: [] }));
    group.masks.push([edit.slice.axis, kept]);
  }
  const changes: ReaderChange[] = [...groups.values()].map(({ reader, source, masks }) => {
    const dims = dimsOf(source.tensor);
    const values = new Float32Array(floatValues(source.tensor));
    for (const [axis, kept] of masks) zeroOutside(values, dims, axis, kept);
    const key = masks.map(([axis, kept]) => `${axis}:${kept.join(',')}`).join(';');
    return { reader, source, tensor: withFloatValues(source.tensor, dims, values), key };
  });
  return applyChanges(ctx, selection, changes, new Map(), names, irVersion, undefined);
}

/** Zeroes, in place, every position along `axis` that is not in `kept`. */
function zeroOutside(values: Float32Array, dims: readonly number[], axis: number, kept: Int32Array): void {
  const size = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const keep = new Uint8Array(size);
  for (const position of kept) keep[position] = 1;
  for (let o = 0; o < outer; o++) {
    for (let p = 0; p < size; p++) if (keep[p] === 0) values.fill(0, (o * size + p) * inner, (o * size + p + 1) * inner);
  }
}
