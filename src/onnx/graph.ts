/**
 * Graph helpers for passes: who produces and consumes each value, which
 * values are weights or runtime inputs, topological order, and (re-exported
 * from `graph-walk.ts`) traversal of every graph and node of a model.
 *
 * Scoping follows ONNX IR.md: a name a graph uses but does not define (as an
 * input, initializer or node output) comes from an enclosing graph; an empty
 * input name means an omitted optional input.
 */
import { ModelFormatError } from '../common/errors.js';
import { describeNode, nodeSubgraphs, outerScopeReferences } from './graph-walk.js';
import { isDefaultDomain } from './opset.js';
import type {
  GraphProto,
  NodeProto,
  SparseTensorProto,
  TensorProto,
  ValueInfoProto,
} from './types.js';

export {
  UniqueNameGenerator,
  describeNode,
  forEachGraph,
  forEachGraphIn,
  forEachNode,
  nodeSubgraphs,
  nodeUsedNames,
  opsetVersion,
  outerScopeReferences,
  type GraphLocation,
  type GraphVisitor,
  type NodeLocation,
  type NodeSubgraph,
  type NodeVisitor,
} from './graph-walk.js';
export { isTopologicallySorted, topologicalSort, topologicalSortNodes } from './topological-sort.js';

function graphLabel(graph: GraphProto): string {
  return `graph '${graph.name ?? ''}'`;
}

/**
 * The graph inputs a caller must feed: `graph.input` minus names that are
 * also initializers. Before IR 4 every initializer had to be listed as an
 * input too; from IR 4 on such an input is an overridable default.
 */
export function graphRuntimeInputs(graph: GraphProto): ValueInfoProto[] {
  const initializers = new Set<string>();
  for (const tensor of graph.initializer) if (tensor.name) initializers.add(tensor.name);
  for (const sparse of graph.sparseInitializer) if (sparse.values?.name) initializers.add(sparse.values.name);
  return graph.input.filter((info) => !initializers.has(info.name ?? ''));
}

/** The node that produces a value. */
export interface ValueProducer {
  readonly node: NodeProto;
  /** Position of `node` in `graph.node`. */
  readonly nodeIndex: number;
  /** Which of the node's outputs the value is. */
  readonly outputIndex: number;
}

/** A node input that reads a value. */
export interface ValueConsumer {
  readonly node: NodeProto;
  readonly nodeIndex: number;
  /** Which of the node's inputs reads the value (a node may read it more than once). */
  readonly inputIndex: number;
}

/** A node whose subgraph reads a value from this graph's scope. */
export interface SubgraphUser {
  readonly node: NodeProto;
  readonly nodeIndex: number;
}

const noConsumers: readonly ValueConsumer[] = [];
const noSubgraphUsers: readonly SubgraphUser[] = [];

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * Lookups over one graph's own nodes (not those of its subgraphs), built once.
 * The index does not follow later changes to the graph; build a new one.
 */
export class GraphIndex {
  /** Names listed in `graph.input`, initializers included. */
  readonly inputNames: ReadonlySet<string>;
  /** Names of the inputs a caller must feed (see {@link graphRuntimeInputs}). */
  readonly runtimeInputNames: ReadonlySet<string>;
  readonly outputNames: ReadonlySet<string>;
  private readonly producers = new Map<string, ValueProducer>();
  private readonly consumerLists = new Map<string, ValueConsumer[]>();
  private readonly subgraphUserLists = new Map<string, SubgraphUser[]>();
  private readonly initializers = new Map<string, TensorProto>();
  private readonly sparseInitializers = new Map<string, SparseTensorProto>();
  private readonly valueInfos = new Map<string, ValueInfoProto>();

  /**
   * @throws ModelFormatError when two nodes produce the same value name.
   */
  constructor(readonly graph: GraphProto) {
    for (const tensor of graph.initializer) if (tensor.name) this.initializers.set(tensor.name, tensor);
    for (const sparse of graph.sparseInitializer) {
      if (sparse.values?.name) this.sparseInitializers.set(sparse.values.name, sparse);
    }
    for (const info of [...graph.valueInfo, ...graph.output, ...graph.input]) {
      if (info.name) this.valueInfos.set(info.name, info);
    }
    this.inputNames = new Set(graph.input.map((info) => info.name ?? '').filter((name) => name !== ''));
    this.runtimeInputNames = new Set([...this.inputNames].filter((name) => !this.isWeight(name)));
    this.outputNames = new Set(graph.output.map((info) => info.name ?? '').filter((name) => name !== ''));

    graph.node.forEach((node, nodeIndex) => {
      node.output.forEach((name, outputIndex) => {
        if (name === '') return;
        const previous = this.producers.get(name);
        if (previous !== undefined) {
          throw new ModelFormatError(
            `Value '${name}' in ${graphLabel(graph)} is produced by both ${describeNode(previous.node, previous.nodeIndex)} and ${describeNode(node, nodeIndex)}; each value must have exactly one producer.`,
          );
        }
        this.producers.set(name, { node, nodeIndex, outputIndex });
      });
      node.input.forEach((name, inputIndex) => {
        if (name !== '') pushTo(this.consumerLists, name, { node, nodeIndex, inputIndex });
      });
      for (const sub of nodeSubgraphs(node)) {
        for (const name of outerScopeReferences(sub.graph)) {
          const users = this.subgraphUserLists.get(name);
          if (users?.[users.length - 1]?.node !== node) pushTo(this.subgraphUserLists, name, { node, nodeIndex });
        }
      }
    });
  }

  /** The node producing `name`, or undefined for inputs, initializers and outer-scope values. */
  producer(name: string): ValueProducer | undefined {
    return this.producers.get(name);
  }

  /** Node inputs reading `name` directly, in node order. */
  consumers(name: string): readonly ValueConsumer[] {
    return this.consumerLists.get(name) ?? noConsumers;
  }

  /** Nodes whose subgraphs read `name` as an outer-scope value. */
  subgraphUsers(name: string): readonly SubgraphUser[] {
    return this.subgraphUserLists.get(name) ?? noSubgraphUsers;
  }

  /** The dense initializer named `name`. */
  initializer(name: string): TensorProto | undefined {
    return this.initializers.get(name);
  }

  /** The sparse initializer whose values tensor is named `name`. */
  sparseInitializer(name: string): SparseTensorProto | undefined {
    return this.sparseInitializers.get(name);
  }

  /** Declared type of `name` from `graph.input`, `output` or `value_info`. */
  valueInfo(name: string): ValueInfoProto | undefined {
    return this.valueInfos.get(name);
  }

  /** Whether `name` is a dense or sparse initializer (also when listed as a graph input too). */
  isWeight(name: string): boolean {
    return this.initializers.has(name) || this.sparseInitializers.has(name);
  }

  /** Whether `name` holds data fixed in the model: a weight or the output of a default-domain Constant node. */
  isConstant(name: string): boolean {
    if (this.isWeight(name)) return true;
    const producer = this.producers.get(name);
    return producer !== undefined && producer.node.opType === 'Constant' && isDefaultDomain(producer.node.domain);
  }

  /** Whether `name` is a graph input that is not an initializer. */
  isRuntimeInput(name: string): boolean {
    return this.runtimeInputNames.has(name);
  }

  /** Whether `name` is a graph output. */
  isGraphOutput(name: string): boolean {
    return this.outputNames.has(name);
  }

  /** Whether `name` is not defined in this graph and so comes from an enclosing one. */
  isOuterScope(name: string): boolean {
    return name !== '' && !this.producers.has(name) && !this.isWeight(name) && !this.inputNames.has(name);
  }

  /** Whether anything reads `name`: a node input, a subgraph, or the graph's outputs. */
  isUsed(name: string): boolean {
    return this.consumerLists.has(name) || this.subgraphUserLists.has(name) || this.outputNames.has(name);
  }
}

/**
 * Whether a BatchNormalization normalizes with its running statistics only,
 * so it is a per-channel affine map that can be folded into a neighbouring
 * convolution: no `training_mode`, no `is_test` = 0 (opset < 7), spatial
 * (opset < 9 default) and no training output (running mean/var) that anything reads.
 */
export function isInferenceBatchNorm(node: NodeProto, index: GraphIndex): boolean {
  const int = (name: string): bigint | undefined => node.attribute.find((a) => a.name === name)?.i;
  if ((int('training_mode') ?? 0n) !== 0n) return false;
  if (int('is_test') === 0n) return false;
  if ((int('spatial') ?? 1n) !== 1n) return false;
  return node.output.slice(1).every((name) => name === '' || !index.isUsed(name));
}
