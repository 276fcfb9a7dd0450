/**
 * `--simplify`: the clean-up onnx-simplifier and onnxoptimizer are used for,
 * run to a fixed point: Constant nodes lifted into initializers, Identity
 * and inference-mode Dropout removed, BatchNormalization folded into the
 * convolution before it, MatMul + Add fused into Gemm, constant subgraphs
 * folded, If nodes with a constant condition replaced by their branch,
 * duplicate initializers merged, dead nodes and unused initializers removed. Every rewrite keeps the model's outputs (up to float rounding in
 * the folds and fusions).
 */
import { MlctlError } from '../../../common/errors.js';
import { opsetVersion, topologicalSort, UniqueNameGenerator } from '../../../onnx/graph.js';
import type { ModelProto } from '../../../onnx/types.js';
import { inferGraphTypes, initializersOverridable } from '../shapes/infer-types.js';
import type { GraphTypes } from '../shapes/types.js';
import { ConstantTable } from './constants.js';
import { removeDeadCode } from './dead-code.js';
import { dedupeInitializers } from './dedupe-initializers.js';
import { foldConstants } from './fold-constants.js';
import { fuseConvBatchNorm } from './fuse-conv-bn.js';
import { fuseMatMulAdd } from './fuse-matmul-add.js';
import { inlineConstantIfs, type IfSkip } from './inline-if.js';
import { transformGraphs } from './graph-tree.js';
import { liftConstants } from './lift-constants.js';
import { modelStats } from './model-stats.js';
import { removePassThroughs } from './remove-identity.js';
import { DEFAULT_FOLD_GROWTH_LIMIT_BYTES, simplifySteps, type FoldSkip, type SimplifyOptions, type SimplifyReport, type SimplifyStep } from './types.js';

/** The result of {@link simplifyModel}. */
export interface SimplifyResult {
  model: ModelProto;
  report: SimplifyReport;
}

const maxListedSkips = 20;

/**
 * Constant tables for every graph of the model, built top-down so that a
 * subgraph sees the constants of the graphs around it.
 */
function constantTables(model: ModelProto): Map<object, ConstantTable> {
  const tables = new Map<object, ConstantTable>();
  const overridable = initializersOverridable(model);
  const visit = (graph: NonNullable<ModelProto['graph']>, outer: ConstantTable | undefined, isMain: boolean): void => {
    const table = new ConstantTable(graph, outer, isMain && overridable);
    tables.set(graph, table);
    for (const node of graph.node) {
      for (const a of node.attribute) {
        if (a.g !== undefined) visit(a.g, table, false);
        for (const g of a.graphs) visit(g, table, false);
      }
    }
  };
  if (model.graph !== undefined) visit(model.graph, undefined, true);
  return tables;
}

/**
 * Simplifies a model. The input model is not changed.
 * @throws MlctlError MLCTL_UNSUPPORTED for a model without a graph; ModelFormatError for a graph with a cycle.
 */
export async function simplifyModel(model: ModelProto, options: SimplifyOptions = {}): Promise<SimplifyResult> {
  if (model.graph === undefined) throw new MlctlError('MLCTL_UNSUPPORTED', 'simplify needs a model with a graph; this model has only functions');
  const skip = new Set<SimplifyStep>(options.skip ?? []);
  const run = (step: SimplifyStep): boolean => !skip.has(step);
  const changes = Object.fromEntries(simplifySteps.map((step) => [step, 0])) as Record<SimplifyStep, number>;
  const before = modelStats(model);
  const names = UniqueNameGenerator.fromModel(model);
  const opset = opsetVersion(model, '') ?? 1;
  const irVersion = model.irVersion ?? 0n;
  const maxIterations = options.maxIterations ?? 10;
  const skipped = new Map<string, FoldSkip>();
  let foldedByEvaluator = 0;
  const growthLimit = options.foldGrowthLimitBytes ?? DEFAULT_FOLD_GROWTH_LIMIT_BYTES;
  const growth = { limitBytes: growthLimit, remainingBytes: growthLimit };
  let foldedFromShapes = 0;
  const ifSkips = new Map<string, IfSkip>();

  let current: ModelProto = { ...model, graph: topologicalSort(model.graph) };
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations += 1;
    let changed = 0;
    const count = (step: SimplifyStep, n: number): void => {
      changes[step] += n;
      changed += n;
    };

    if (run('lift-constants')) {
      current = transformGraphs(current, (graph) => {
        const lifted = liftConstants(graph, irVersion);
        count('lift-constants', lifted.lifted);
        return lifted.graph;
      });
    }
    if (run('remove-identity') || run('remove-dropout')) {
      const tables = constantTables(current);
      current = transformGraphs(current, (graph) => {
        const kinds = { identity: run('remove-identity'), dropout: run('remove-dropout') };
        const result = removePassThroughs(graph, tables.get(graph) ?? new ConstantTable(graph, undefined, false), kinds);
        count('remove-identity', result.identities);
        count('remove-dropout', result.dropouts);
        return result.graph;
      });
    }
    if (run('fuse-conv-bn')) {
      const tables = constantTables(current);
      current = transformGraphs(current, (graph) => {
        const result = fuseConvBatchNorm(graph, irVersion >= 4n, tables.get(graph) ?? new ConstantTable(graph, undefined, false), names);
        count('fuse-conv-bn', result.fused);
        return result.graph;
      });
    }
    if (run('fuse-matmul-add')) {
      const tables = constantTables(current);
      const subTypes = new Map<object, GraphTypes>();
      const mainTypes = inferGraphTypes(current.graph!, { opset, overridableInitializers: initializersOverridable(current) }, subTypes as Map<never, GraphTypes>);
      current = transformGraphs(current, (graph, place) => {
        const types = place.isMain ? mainTypes : subTypes.get(graph);
        if (types === undefined) return graph;
        const result = fuseMatMulAdd(graph, tables.get(graph) ?? new ConstantTable(graph, undefined, false), types, opset, names);
        count('fuse-matmul-add', result.fused);
        return result.graph;
      });
    }
    if (run('fold-constants')) {
      const folded = await foldConstants(current, {
        evaluate: options.evaluate,
        growth,
        names,
        opset,
        overridableInitializers: initializersOverridable(current),
      });
      current = folded.model;
      foldedByEvaluator += folded.counts.byEvaluator;
      foldedFromShapes += folded.counts.fromShapes;
      count('fold-constants', folded.counts.byEvaluator + folded.counts.fromShapes);
      for (const entry of folded.counts.skipped) skipped.set(`${entry.node}\u0000${entry.reason}`, entry);
    }
    if (run('inline-if')) {
      const tables = constantTables(current);
      const whole = current;
      current = transformGraphs(current, (graph) => {
        const result = inlineConstantIfs(graph, whole, tables.get(graph) ?? new ConstantTable(graph, undefined, false), irVersion >= 4n);
        count('inline-if', result.inlined);
        for (const entry of result.skipped) ifSkips.set(`${entry.node}\u0000${entry.reason}`, entry);
        return result.graph;
      });
    }
    if (run('dedupe-initializers')) {
      current = transformGraphs(current, (graph) => {
        const result = dedupeInitializers(graph);
        count('dedupe-initializers', result.removed);
        return result.graph;
      });
    }
    if (run('dead-code')) {
      current = transformGraphs(current, (graph) => {
        const result = removeDeadCode(graph);
        count('dead-code', result.counts.nodes + result.counts.initializers);
        return result.graph;
      });
    }
    current = { ...current, graph: topologicalSort(current.graph!) };
    if (changed === 0) break;
  }

  const notes: string[] = [];
  if (irVersion < 4n && run('lift-constants')) notes.push(`IR version ${irVersion} requires every initializer to be a graph input, so Constant nodes were not lifted into initializers`);
  if (options.evaluate === undefined && run('fold-constants')) notes.push('no constant evaluator was given: only Shape and Size of static shapes were folded');
  for (const entry of ifSkips.values()) notes.push(`If '${entry.node}' has a constant condition but was not inlined: ${entry.reason}`);
  if (iterations === maxIterations) notes.push(`stopped after ${maxIterations} rounds while rewrites were still changing the model`);
  const skippedList = [...skipped.values()];
  const byReason: Record<string, number> = {};
  for (const entry of skippedList) {
    const reason = entry.reason.replace(/'[^']*'/g, "'…'").replace(/[0-9]+(-byte| bytes)/g, 'N$1');
    byReason[reason] = (byReason[reason] ?? 0) + 1;
  }
  return {
    model: current,
    report: {
      before,
      after: modelStats(current),
      iterations,
      changes,
      foldedByEvaluator,
      foldedFromShapes,
      foldSkipped: skippedList.slice(0, maxListedSkips),
      foldSkippedByReason: byReason,
      notes,
    },
  };
}
