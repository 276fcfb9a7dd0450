/**
 * Rewriting one graph and, first, the subgraphs its nodes hold (If branches,
 * Loop and Scan bodies). Each graph gets its own quantized initializers, also
 * for weights it reads from an enclosing graph; a float weight is removed
 * from the graph defining it once nothing reads it any more, and kept for
 * consumers that stay float.
 */
import { describeNode, GraphIndex, isTopologicallySorted, nodeSubgraphs, topologicalSort, type UniqueNameGenerator } from '../../onnx/graph.js';
import type { AttributeProto, GraphProto, NodeProto, TensorProto } from '../../onnx/types.js';
import { emitDynamicConv, emitDynamicGemm, emitDynamicMatMul, emitGatherDequantize, emitWeightOnly, type EmitContext } from './emit.js';
import { NonFiniteWeightError } from './kernel.js';
import { planNode, type NodePlan, type PlanOptions } from './plan.js';
import type { NodeReport, QuantizedTensorReport } from './types.js';
import { WeightStore, type StoreOptions } from './weight-store.js';
import type { Scope, WeightSource } from './weights.js';

/** State shared by all graphs of one run. */
export interface RewriteRun {
  readonly names: UniqueNameGenerator;
  readonly plan: PlanOptions;
  readonly store: StoreOptions;
  /** Appended to as nodes are handled. */
  readonly nodes: NodeReport[];
  readonly tensors: QuantizedTensorReport[];
  /**
   * Names per defining graph whose float tensors may be unused after the
   * rewrite (quantized weights, folded biases); removed there when unused.
   */
  readonly touched: Map<GraphProto, Set<string>>;
  /** Reports of the tensors quantized from each (defining graph, name), to set `floatKept`. */
  readonly reportsBySource: Map<GraphProto, Map<string, QuantizedTensorReport[]>>;
  /** When set, every node that would be quantized stays float with this reason (e.g. the opset could not be raised). */
  readonly blockedReason: string | undefined;
  /** Node names or report keys to leave in float. */
  readonly forceFloat: ReadonlySet<string>;
}

function touch(run: RewriteRun, graph: GraphProto, name: string): void {
  let names = run.touched.get(graph);
  if (names === undefined) run.touched.set(graph, (names = new Set()));
  names.add(name);
}

function nodeLabel(node: NodeProto, nodeIndex: number): string {
  return node.name !== undefined && node.name !== '' ? node.name : `#${nodeIndex}`;
}

/** The node with its subgraphs rewritten (the same object when none changed). */
function rewriteSubgraphs(node: NodeProto, nodeIndex: number, path: string, scopes: readonly Scope[], run: RewriteRun): NodeProto {
  if (nodeSubgraphs(node).length === 0) return node;
  let changed = false;
  const attribute = node.attribute.map((attr): AttributeProto => {
    const slot = attr.name ?? '';
    const label = `${path} > ${describeNode(node, nodeIndex)}.${slot}`;
    let next = attr;
    if (attr.g !== undefined) {
      const graph = rewriteGraph(attr.g, label, scopes, run);
      if (graph !== attr.g) next = { ...next, g: graph };
    }
    if (attr.graphs.length > 0) {
      const graphs = attr.graphs.map((graph, i) => rewriteGraph(graph, `${label}[${i}]`, scopes, run));
      if (graphs.some((graph, i) => graph !== attr.graphs[i])) next = { ...next, graphs };
    }
    if (next !== attr) changed = true;
    return next;
  });
  return changed ? { ...node, attribute } : node;
}

function emit(plan: NodePlan & { kind: 'quantize' }, context: EmitContext, out: NodeProto[]): void {
  switch (plan.action) {
    case 'weight-only':
      return emitWeightOnly(plan, context, out);
    case 'gather-dequantize':
      return emitGatherDequantize(plan, context, out);
    case 'dynamic-matmul':
      return emitDynamicMatMul(plan, context, out);
    case 'dynamic-gemm':
      return emitDynamicGemm(plan, context, out);
    case 'dynamic-conv':
      return emitDynamicConv(plan, context, out);
  }
}

const actionKind = (plan: NodePlan & { kind: 'quantize' }): 'dynamic' | 'weight-only' =>
  plan.action.startsWith('dynamic') ? 'dynamic' : 'weight-only';

function recordSource(run: RewriteRun, source: WeightSource, reports: readonly QuantizedTensorReport[]): void {
  let byName = run.reportsBySource.get(source.scope.graph);
  if (byName === undefined) run.reportsBySource.set(source.scope.graph, (byName = new Map()));
  const list = byName.get(source.name) ?? [];
  for (const report of reports) if (!list.includes(report)) list.push(report);
  byName.set(source.name, list);
}

/**
 * Rewrites `graph` (subgraphs first) and returns the new graph, or `graph`
 * itself when nothing in it changed.
 * @param scopes - the enclosing graphs, outermost first.
 */
export function rewriteGraph(graph: GraphProto, path: string, scopes: readonly Scope[], run: RewriteRun): GraphProto {
  const index = new GraphIndex(graph);
  const here: Scope[] = [...scopes, { graph, index }];
  const store = new WeightStore(run.names, run.store);
  const context: EmitContext = { store, names: run.names, scopes: here, readExternal: run.store.readExternal };
  const body: NodeProto[] = [];
  let changed = false;

  graph.node.forEach((original, nodeIndex) => {
    const node = rewriteSubgraphs(original, nodeIndex, path, here, run);
    if (node !== original) changed = true;
    const plan = planNode(node, here, run.plan);
    if (plan === undefined) {
      body.push(node);
      return;
    }
    const label = nodeLabel(node, nodeIndex);
    const key = `${path} / ${label}`;
    const report: NodeReport = { node: label, opType: node.opType ?? '', graph: path, key, action: 'skipped' };
    if (plan.kind === 'skip') {
      report.reason = plan.reason;
      if (plan.weightName !== undefined) report.weight = plan.weightName;
      run.nodes.push(report);
      body.push(node);
      return;
    }
    report.weight = plan.weight.name;
    if (run.blockedReason !== undefined || run.forceFloat.has(key) || (node.name !== undefined && run.forceFloat.has(node.name))) {
      report.reason = run.blockedReason ?? 'left in float: the runtime could not load or run its quantized form';
      run.nodes.push(report);
      body.push(node);
      return;
    }
    const emitted: NodeProto[] = [];
    const reportsBefore = store.reports.length;
    const headBefore = store.headNodes.length;
    try {
      emit(plan, context, emitted);
    } catch (error) {
      if (!(error instanceof NonFiniteWeightError)) throw error;
      report.reason = error.message;
      run.nodes.push(report);
      body.push(node);
      return;
    }
    report.action = actionKind(plan);
    if (plan.note !== undefined) report.reason = plan.note;
    report.replacedBy = [...store.headNodes.slice(headBefore), ...emitted].map((n) => n.name ?? '').filter((name) => name !== '');
    run.nodes.push(report);
    body.push(...emitted);
    changed = true;
    touch(run, plan.weight.scope.graph, plan.weight.name);
    const bias = node.input[2];
    if ((plan.action === 'dynamic-gemm' || plan.action === 'dynamic-conv') && bias !== undefined && bias !== '') {
      touchDefiningGraph(run, bias, here);
    }
    recordSource(run, plan.weight, store.reports.slice(reportsBefore));
  });
  run.tensors.push(...store.reports);
  if (!changed) return graph;

  const rewritten: GraphProto = {
    ...graph,
    node: [...store.headNodes, ...body],
    initializer: [...graph.initializer, ...store.initializers],
  };
  const cleaned = removeUnused(rewritten, graph, run);
  return isTopologicallySorted(cleaned) ? cleaned : topologicalSort(cleaned);
}

function touchDefiningGraph(run: RewriteRun, name: string, scopes: readonly Scope[]): void {
  for (let level = scopes.length - 1; level >= 0; level--) {
    const scope = scopes[level]!;
    if (scope.index.isWeight(name) || scope.index.producer(name) !== undefined || scope.index.inputNames.has(name)) {
      touch(run, scope.graph, name);
      return;
    }
  }
}

/**
 * Drops the touched float tensors of `graph` that nothing reads any more:
 * initializers (with their `graph.input` entries, which IR 3 models have),
 * Constant nodes, and value_info of names that no longer exist.
 */
function removeUnused(graph: GraphProto, original: GraphProto, run: RewriteRun): GraphProto {
  const touched = run.touched.get(original);
  if (touched === undefined || touched.size === 0) return graph;
  const index = new GraphIndex(graph);
  const removable = new Set([...touched].filter((name) => !index.isUsed(name)));
  const reports = run.reportsBySource.get(original);
  for (const name of touched) {
    if (!removable.has(name)) for (const report of reports?.get(name) ?? []) report.floatKept = true;
  }
  if (removable.size === 0) return graph;
  const isRemovedConstant = (node: NodeProto): boolean =>
    node.opType === 'Constant' && node.output.length === 1 && removable.has(node.output[0] ?? '');
  return {
    ...graph,
    node: graph.node.filter((node) => !isRemovedConstant(node)),
    initializer: graph.initializer.filter((tensor: TensorProto) => !removable.has(tensor.name ?? '')),
    input: graph.input.filter((info) => !removable.has(info.name ?? '')),
    valueInfo: graph.valueInfo.filter((info) => !removable.has(info.name ?? '')),
  };
}
