/**
 * Structured channel pruning: analyze which channels depend on which,
 * choose the least important ones per family, rewrite the graph, and say
 * what was done and what was left alone.
 */
import { isTopologicallySorted, opsetVersion, topologicalSort, UniqueNameGenerator } from '../../../onnx/graph.js';
import type { ModelProto } from '../../../onnx/types.js';
import type { ChannelGroupReport, ChannelNorm, SkippedReport, ValueShapes } from '../types.js';
import { analyzeChannels } from './analyze.js';
import type { ChannelAnalysis } from './context.js';
import { maskChannels, rewriteChannels } from './rewrite.js';
import { selectChannels, type Selection } from './select.js';
import { keptCount } from './tensor-slice.js';

/** Settled options of channel pruning. */
export interface ChannelOptions {
  sparsity: number;
  norm: ChannelNorm;
  /** Keep a multiple of this many channels per layer (1: no rounding). */
  roundTo: number;
  producerOpTypes: ReadonlySet<string>;
  exclude: readonly (string | RegExp)[];
  valueShapes: ValueShapes;
}

export interface ChannelResult {
  model: ModelProto;
  groups: ChannelGroupReport[];
  skipped: SkippedReport[];
  notes: string[];
}

function groupReports(ctx: ChannelAnalysis, selection: Selection): ChannelGroupReport[] {
  const familyOfRoot = new Map<number, number>();
  selection.families.forEach((family, familyIndex) => {
    for (const root of family.roots) familyOfRoot.set(root, familyIndex);
  });
  const followers = selection.families.map(() => new Set<number>());
  const follow = (nodeIndex: number, ids: Int32Array): void => {
    const seen = new Set<number>();
    for (const id of ids) {
      const family = familyOfRoot.get(ctx.set.find(id));
      if (family !== undefined && !seen.has(family)) {
        seen.add(family);
        followers[family]!.add(nodeIndex);
      }
    }
  };
  for (const edit of ctx.tensorEdits) follow(edit.nodeIndex, edit.slice.ids);
  for (const edit of ctx.shapeEdits) for (const update of edit.updates) follow(edit.reader.nodeIndex, update.ids);
  for (const edit of ctx.groupEdits) follow(edit.nodeIndex, edit.ids);

  return selection.families.map((family, familyIndex) => {
    const producers = family.producers.map((p) => ctx.producers[p]!);
    const producerNodes = new Set(producers.map((p) => p.nodeIndex));
    return {
      producers: producers.map((p) => p.label),
      channels: producers.map((p) => ({ node: p.label, before: p.ids.length, after: keptCount(p.ids, selection.isRemoved) })),
      followers: [...followers[familyIndex]!]
        .filter((nodeIndex) => !producerNodes.has(nodeIndex))
        .sort((a, b) => a - b)
        .map((nodeIndex) => ctx.label(nodeIndex)),
    };
  });
}

/** Producers some of whose channels had to stay, with the first reason found. */
function blockedProducers(ctx: ChannelAnalysis, selection: Selection): SkippedReport[] {
  const skipped: SkippedReport[] = [];
  for (const producer of ctx.producers) {
    let blocked = 0;
    let reason: string | undefined;
    for (const id of producer.ids) {
      const why = selection.blocked.get(ctx.set.find(id));
      if (why === undefined) continue;
      blocked += 1;
      reason ??= why;
    }
    if (reason === undefined) continue;
    const which = blocked === producer.ids.length ? 'output channels left unpruned' : `${blocked} of ${producer.ids.length} output channels left unpruned`;
    skipped.push({ node: producer.label, reason: `${which}: ${reason}` });
  }
  return skipped;
}

/** The analysis and selection behind both {@link pruneChannels} and {@link maskPrunedChannels}. */
function plan(model: ModelProto, options: ChannelOptions): { ctx: ChannelAnalysis; selection: Selection } | undefined {
  const original = model.graph;
  if (original === undefined) return undefined;
  const graph = isTopologicallySorted(original) ? original : topologicalSort(original);
  const ctx = analyzeChannels(graph, options.valueShapes, {
    producerOpTypes: options.producerOpTypes,
    exclude: options.exclude,
    opset: opsetVersion(model, '') ?? 1,
  });
  return { ctx, selection: selectChannels(ctx, options.sparsity, options.norm, options.roundTo) };
}

/**
 * Removes the least important `sparsity` of each family of output channels
 * in the main graph. Pure: the input model is not changed.
 */
export function pruneChannels(model: ModelProto, options: ChannelOptions): ChannelResult {
  const planned = plan(model, options);
  if (planned === undefined) return { model, groups: [], skipped: [], notes: ['the model has no main graph'] };
  const { ctx, selection } = planned;
  const newGraph = rewriteChannels(ctx, selection, UniqueNameGenerator.fromModel(model), model.irVersion ?? 0n);
  const notes: string[] = [];
  if (options.valueShapes.size === 0) {
    notes.push('no value shapes were given: channels reaching values whose shape the model does not declare were left unpruned');
  }
  return {
    model: { ...model, graph: newGraph },
    groups: groupReports(ctx, selection),
    skipped: [...ctx.skipped, ...blockedProducers(ctx, selection)],
    notes,
  };
}

/**
 * The model {@link pruneChannels} would prune, at full size, with the weights
 * that read the channels it would remove set to zero. Both compute the same
 * outputs (up to float rounding), which checks the rewrite independently of
 * how much accuracy the pruning itself costs.
 */
export function maskPrunedChannels(model: ModelProto, options: ChannelOptions): ModelProto {
  const planned = plan(model, options);
  if (planned === undefined) return model;
  return { ...model, graph: maskChannels(planned.ctx, planned.selection, UniqueNameGenerator.fromModel(model), model.irVersion ?? 0n) };
}
