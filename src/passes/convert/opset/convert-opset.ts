/**
 * The opset converter's driver: moves a model's default-domain opset one
 * version at a time, asking the adapter registry how each operator crosses
 * each step, in the main graph, training graphs and every subgraph.
 */
import { MlctlError } from '../../../common/errors.js';
import { makeNode } from '../../../onnx/builder.js';
import { describeNode, nodeSubgraphs, opsetVersion, UniqueNameGenerator } from '../../../onnx/graph.js';
import { isDefaultDomain, latestOpset, minIrVersionForOpset } from '../../../onnx/opset.js';
import type { GraphProto, ModelProto, NodeProto, TensorProto } from '../../../onnx/types.js';
import { OpsetConversionError } from './errors.js';
import { copyModel } from './model-copy.js';
import { changesAt, firstSchemaVersion, isKnownOperator, removedInOpset, schemaVersionAt } from './op-versions.js';
import { findAdapter, lastLegacyOpset, type Direction } from './registry.js';
import { Refusal, StepContext, type GraphFrame, type StepServices } from './step-context.js';
import type { AdapterRecord, ConversionFailure, OpAdapter, OpsetConversionOptions, OpsetConversionReport } from './types.js';
import { finishModel, topLevelGraphs, usedValueNames } from './finish.js';
import { typeNotAcceptedBefore } from './type-constraints.js';
import { GraphScope } from './value-facts.js';

/** Constants up to this many bytes are shared between nodes of a graph when equal. */
const sharedConstantMaxBytes = 64;

function constantKey(tensor: TensorProto): string | undefined {
  const bytes = tensor.rawData;
  if (bytes === undefined || bytes.length > sharedConstantMaxBytes) return undefined;
  return `${tensor.dataType ?? 0}|${tensor.dims.join(',')}|${Buffer.from(bytes).toString('hex')}`;
}

function checkTarget(targetOpset: number): void {
  if (!Number.isSafeInteger(targetOpset) || targetOpset < 1) {
    throw new MlctlError('MLCTL_BAD_INPUT', `target opset '${String(targetOpset)}' is not valid; expected an integer from 1 to ${latestOpset}`);
  }
  if (targetOpset > latestOpset) {
    throw new MlctlError('MLCTL_UNSUPPORTED', `target opset ${targetOpset} is newer than any released ONNX opset (the newest is ${latestOpset})`);
  }
}

/** Why an operator is not part of opset `opset`. */
function missingReason(opType: string, opset: number): string {
  if (!isKnownOperator(opType)) return `'${opType}' is not an operator of the default ONNX domain`;
  const removed = removedInOpset(opType);
  if (removed !== undefined && opset >= removed) return `${opType} was removed from the default domain in opset ${removed}`;
  return `${opType} does not exist in opset ${opset} (it was introduced in opset ${firstSchemaVersion(opType) ?? '?'})`;
}

class ConversionRun implements StepServices {
  readonly names: UniqueNameGenerator;
  usedNames: ReadonlySet<string>;
  readonly failures: ConversionFailure[] = [];
  readonly createdInitializers: TensorProto[] = [];
  private readonly failed = new Set<NodeProto>();
  private readonly carriedOver = new Set<NodeProto>();
  private readonly changed = new Set<NodeProto>();
  private readonly records = new Map<string, AdapterRecord>();
  private readonly scopes = new WeakMap<GraphProto, GraphScope>();
  private readonly mainConstants = new Map<string, string>();
  private subgraphConstants = new WeakMap<GraphProto, Map<string, string>>();
  private currentOpset: number;

  constructor(readonly model: ModelProto, fromOpset: number) {
    this.names = UniqueNameGenerator.fromModel(model);
    this.usedNames = usedValueNames(model);
    this.currentOpset = fromOpset;
  }

  get adapterRecords(): AdapterRecord[] {
    return [...this.records.values()];
  }

  get nodesCarriedOver(): number {
    return [...this.carriedOver].filter((node) => !this.failed.has(node) && !this.changed.has(node)).length;
  }

  scope(frame: GraphFrame): GraphScope {
    let scope = this.scopes.get(frame.graph);
    if (scope === undefined) {
      scope = new GraphScope(frame.graph, frame.parent === undefined ? undefined : this.scope(frame.parent), this.currentOpset);
      this.scopes.set(frame.graph, scope);
    }
    return scope;
  }

  addConstant(frame: GraphFrame, base: string, tensor: TensorProto, pending: NodeProto[]): string {
    const key = constantKey(tensor);
    let cache = frame.holdsInitializers ? this.mainConstants : this.subgraphConstants.get(frame.graph);
    if (cache === undefined) {
      cache = new Map();
      this.subgraphConstants.set(frame.graph, cache);
    }
    const shared = key === undefined ? undefined : cache.get(key);
    if (shared !== undefined) return shared;
    const name = this.names.next(base);
    const named: TensorProto = { ...tensor, name };
    if (frame.holdsInitializers) {
      frame.graph.initializer.push(named);
      this.createdInitializers.push(named);
    } else {
      pending.push(makeNode('Constant', [], [name], { value: named }, { name: this.names.next(`${base}_Constant`) }));
    }
    this.scope(frame).addConstant(name, named);
    if (key !== undefined) cache.set(key, name);
    return name;
  }

  /** Converts every graph from opset `from` to `to` (one step). */
  step(from: number, to: number): void {
    this.currentOpset = from;
    this.usedNames = usedValueNames(this.model);
    // A Constant node made in an earlier step may sit after a node that wants it now.
    this.subgraphConstants = new WeakMap();
    const direction: Direction = to > from ? 'up' : 'down';
    for (const frame of topLevelGraphs(this.model)) this.convertGraph(frame, from, to, direction);
  }

  private convertGraph(frame: GraphFrame, from: number, to: number, direction: Direction): void {
    // Facts are gathered before any node of the graph changes (adapters edit nodes in place).
    this.scope(frame);
    const nodes: NodeProto[] = [];
    frame.graph.node.forEach((node, index) => {
      for (const result of this.convertNode(node, index, frame, from, to, direction)) {
        for (const sub of nodeSubgraphs(result)) {
          const path = `${frame.path} > ${describeNode(result, index)}.${sub.attributeName}${sub.index === undefined ? '' : `[${sub.index}]`}`;
          this.convertGraph({ graph: sub.graph, parent: frame, path, holdsInitializers: false }, from, to, direction);
        }
        nodes.push(result);
      }
    });
    frame.graph.node = nodes;
  }

  private fail(node: NodeProto, index: number, frame: GraphFrame, from: number, to: number, reason: string): NodeProto[] {
    this.failed.add(node);
    this.failures.push({
      graphPath: frame.path,
      node: describeNode(node, index),
      opType: node.opType ?? '',
      step: `${from} → ${to}`,
      reason,
    });
    return [node];
  }

  private convertNode(node: NodeProto, index: number, frame: GraphFrame, from: number, to: number, direction: Direction): NodeProto[] {
    if (!isDefaultDomain(node.domain) || this.failed.has(node)) return [node];
    const opType = node.opType ?? '';
    const fromVersion = schemaVersionAt(opType, from);
    if (fromVersion === undefined) return this.fail(node, index, frame, from, to, missingReason(opType, from));
    const changedAt = direction === 'up' ? to : from;
    if (!changesAt(opType, changedAt)) return [node];
    const adapter = findAdapter(opType, changedAt, direction);
    const toVersion = schemaVersionAt(adapter?.replacesWith ?? opType, to);
    let result: NodeProto[];
    if (adapter === undefined) {
      if (toVersion === undefined) {
        return this.fail(node, index, frame, from, to, direction === 'up' ? missingReason(opType, to) : `${opType} does not exist before opset ${from}`);
      }
      if (changedAt <= lastLegacyOpset) {
        return this.fail(node, index, frame, from, to, `${opType} changed in opset ${changedAt}, a change mlctl does not convert`);
      }
      this.carriedOver.add(node);
      result = [node];
    } else if (toVersion === undefined) {
      return this.fail(node, index, frame, from, to, missingReason(adapter.replacesWith ?? opType, to));
    } else {
      result = this.runAdapter(adapter, node, index, frame, from, to, fromVersion, toVersion);
    }
    if (direction === 'down' && !this.failed.has(node)) {
      // The older schema may accept fewer element types.
      const scope = this.scope(frame);
      for (const converted of result) {
        if (converted.opType !== opType || !isDefaultDomain(converted.domain)) continue;
        const reason = typeNotAcceptedBefore(converted, changedAt, (name) => {
          const fact = scope.fact(name);
          return fact.nonTensor === 'map' ? undefined : (fact.nonTensor ?? fact.elemType);
        });
        if (reason !== undefined) return this.fail(node, index, frame, from, to, reason);
      }
    }
    return result;
  }

  private runAdapter(
    adapter: OpAdapter,
    node: NodeProto,
    index: number,
    frame: GraphFrame,
    from: number,
    to: number,
    fromVersion: number,
    toVersion: number,
  ): NodeProto[] {
    const opType = node.opType ?? '';
    const context = new StepContext(this, frame, from, to, fromVersion, toVersion);
    let result: NodeProto[] | undefined;
    try {
      result = adapter.adapt(node, context);
    } catch (error) {
      if (error instanceof Refusal) return this.fail(node, index, frame, from, to, error.reason);
      if (error instanceof MlctlError) return this.fail(node, index, frame, from, to, error.message);
      throw error;
    }
    if (result === undefined && context.notes.length === 0) {
      this.carriedOver.add(node);
      return [...context.pending, node];
    }
    const key = `${opType}|${fromVersion}|${toVersion}|${adapter.description}`;
    let record = this.records.get(key);
    if (record === undefined) {
      record = { opType, fromVersion, toVersion, adapter: adapter.description, nodesChanged: 0, notes: [] };
      this.records.set(key, record);
    }
    if (result !== undefined) {
      record.nodesChanged += 1;
      this.changed.add(node);
    }
    for (const note of context.notes) if (!record.notes.includes(note)) record.notes.push(note);
    return [...context.pending, ...(result ?? [node])];
  }
}

function countNodes(model: ModelProto): number {
  let count = 0;
  const visit = (graph: GraphProto): void => {
    for (const node of graph.node) {
      count += 1;
      for (const sub of nodeSubgraphs(node)) visit(sub.graph);
    }
  };
  for (const frame of topLevelGraphs(model)) visit(frame.graph);
  return count;
}

/**
 * Converts a model's default-domain (`ai.onnx`) opset to `targetOpset`, one
 * opset version at a time, up or down. Every operator whose signature or
 * meaning changed on the way is rewritten to an equivalent form (attributes
 * that became inputs, changed axis semantics, renamed or replaced operators);
 * the others carry over. Subgraphs are converted too; model-local functions
 * keep their own opset imports. The IR version is raised when the target
 * opset needs a newer one. The input model is not changed.
 *
 * @returns the converted model and a report of what changed.
 * @throws OpsetConversionError (`MLCTL_UNSUPPORTED`) listing every node that
 *   has no equivalent in the target opset; nothing is returned then.
 * @throws MlctlError `MLCTL_BAD_INPUT` for a target that is not a positive
 *   integer, `MLCTL_UNSUPPORTED` for one above the newest opset, and
 *   `MLCTL_BAD_MODEL` when the model imports no default-domain opset.
 */
export function convertOpset(
  model: ModelProto,
  targetOpset: number,
  options: OpsetConversionOptions = {},
): { model: ModelProto; report: OpsetConversionReport } {
  const label = options.label ?? 'model';
  checkTarget(targetOpset);
  const fromOpset = opsetVersion(model, '');
  if (fromOpset === undefined) {
    throw new MlctlError('MLCTL_BAD_MODEL', `'${label}' imports no default-domain (ai.onnx) opset, so it has no opset to convert`);
  }
  if (fromOpset > latestOpset) {
    throw new MlctlError('MLCTL_UNSUPPORTED', `'${label}' uses opset ${fromOpset}, newer than any opset mlctl knows (up to ${latestOpset})`);
  }
  const converted = copyModel(model);
  const nodesBefore = countNodes(converted);
  const run = new ConversionRun(converted, fromOpset);
  const direction = targetOpset >= fromOpset ? 1 : -1;
  for (let opset = fromOpset; opset !== targetOpset; opset += direction) run.step(opset, opset + direction);
  if (run.failures.length > 0) throw new OpsetConversionError(label, fromOpset, targetOpset, run.failures);

  const irVersionFrom = Number(model.irVersion ?? 0n);
  const notes = finishModel(converted, {
    fromOpset,
    targetOpset,
    minIrVersion: minIrVersionForOpset(targetOpset),
    usedBefore: usedValueNames(model),
    createdInitializers: run.createdInitializers,
  });
  return {
    model: converted,
    report: {
      fromOpset,
      toOpset: targetOpset,
      irVersionFrom,
      irVersionTo: Number(converted.irVersion ?? 0n),
      nodesBefore,
      nodesAfter: countNodes(converted),
      adapters: run.adapterRecords,
      nodesCarriedOver: run.nodesCarriedOver,
      notes,
    },
  };
}
