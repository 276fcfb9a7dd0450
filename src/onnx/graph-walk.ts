/**
 * Walking every graph and node of a model: the main graph, subgraphs held in
 * node attributes (If branches, Loop/Scan bodies), training graphs and the
 * bodies of model-local functions; and which outer-scope values a subgraph
 * reads. Re-exported by `graph.ts`.
 */
import { normalizeDomain } from './opset.js';
import type {
  FunctionProto,
  GraphProto,
  ModelProto,
  NodeProto,
  OperatorSetIdProto,
} from './types.js';

/** A subgraph held by a node attribute. */
export interface NodeSubgraph {
  /** The attribute's name, e.g. `then_branch` or `body`. */
  readonly attributeName: string;
  /** Position in the attribute's `graphs` list; undefined for a single-graph (`g`) attribute. */
  readonly index: number | undefined;
  readonly graph: GraphProto;
}

/** The subgraphs of one node, in attribute order (`g` before `graphs`). */
export function nodeSubgraphs(node: NodeProto): NodeSubgraph[] {
  const found: NodeSubgraph[] = [];
  for (const attribute of node.attribute) {
    const attributeName = attribute.name ?? '';
    if (attribute.g !== undefined) found.push({ attributeName, index: undefined, graph: attribute.g });
    attribute.graphs.forEach((graph, index) => found.push({ attributeName, index, graph }));
  }
  return found;
}

/** Names a graph defines itself: inputs, initializers (dense and sparse) and node outputs. */
function localNames(graph: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const info of graph.input) if (info.name) names.add(info.name);
  for (const tensor of graph.initializer) if (tensor.name) names.add(tensor.name);
  for (const sparse of graph.sparseInitializer) if (sparse.values?.name) names.add(sparse.values.name);
  for (const node of graph.node) for (const name of node.output) if (name) names.add(name);
  return names;
}

/**
 * Names `graph` (or a subgraph nested in it) uses but does not define, i.e.
 * values it reads from enclosing scopes. Includes graph outputs that name an
 * outer value directly.
 */
export function outerScopeReferences(graph: GraphProto): Set<string> {
  const defined = localNames(graph);
  const references = new Set<string>();
  const use = (name: string): void => {
    if (name !== '' && !defined.has(name)) references.add(name);
  };
  for (const node of graph.node) for (const name of nodeUsedNames(node)) use(name);
  for (const info of graph.output) if (info.name) use(info.name);
  return references;
}

/**
 * Every value name `node` reads: its non-empty inputs, then the outer-scope
 * references of its subgraphs. A node must come after the producers of all of
 * them.
 */
export function nodeUsedNames(node: NodeProto): string[] {
  const names = node.input.filter((name) => name !== '');
  for (const sub of nodeSubgraphs(node)) for (const name of outerScopeReferences(sub.graph)) names.push(name);
  return [...new Set(names)];
}

/** Where a graph sits in its model. */
export interface GraphLocation {
  /**
   * Readable path from the model root, e.g.
   * `graph 'main' > node 'loop' (Loop).body > node 'cond' (If).then_branch`.
   */
  readonly path: string;
  /** 0 for a top-level graph, 1 for a subgraph of one of its nodes, and so on. */
  readonly depth: number;
  /** The node holding this graph; undefined for top-level graphs. */
  readonly parentNode: NodeProto | undefined;
  /** The attribute of `parentNode` holding this graph. */
  readonly attributeName: string | undefined;
  /** The model-local function this graph is nested in, if any. */
  readonly function: FunctionProto | undefined;
}

/** Where a node sits in its model. */
export interface NodeLocation {
  /** Path of the graph or function holding the node (see {@link GraphLocation.path}). */
  readonly path: string;
  /** 0 for nodes of the main graph, training graphs and function bodies; +1 per subgraph level. */
  readonly depth: number;
  /** The graph holding the node; undefined for a node directly in a function body. */
  readonly graph: GraphProto | undefined;
  /** The model-local function the node is (possibly indirectly) part of. */
  readonly function: FunctionProto | undefined;
  /** Position of the node in its graph's or function's node list. */
  readonly nodeIndex: number;
}

/** Visitor of graphs; see {@link forEachGraph}. */
export type GraphVisitor = (graph: GraphProto, location: GraphLocation) => void;
/** Visitor of nodes; see {@link forEachNode}. */
export type NodeVisitor = (node: NodeProto, location: NodeLocation) => void;

interface Visitors {
  readonly onGraph: GraphVisitor | undefined;
  readonly onNode: NodeVisitor | undefined;
}

/** A short readable label for a node in paths and messages. */
export function describeNode(node: NodeProto, nodeIndex?: number): string {
  const label = node.name !== undefined && node.name !== '' ? `'${node.name}'` : `#${nodeIndex ?? '?'}`;
  return `node ${label} (${node.opType ?? '?'})`;
}

function subgraphPath(parentPath: string, node: NodeProto, nodeIndex: number, sub: NodeSubgraph): string {
  const slot = sub.index === undefined ? sub.attributeName : `${sub.attributeName}[${sub.index}]`;
  return `${parentPath} > ${describeNode(node, nodeIndex)}.${slot}`;
}

function walkNodes(
  nodes: readonly NodeProto[],
  owner: { path: string; depth: number; graph: GraphProto | undefined; function: FunctionProto | undefined },
  visitors: Visitors,
): void {
  nodes.forEach((node, nodeIndex) => {
    visitors.onNode?.(node, { ...owner, nodeIndex });
    for (const sub of nodeSubgraphs(node)) {
      walkGraph(
        sub.graph,
        {
          path: subgraphPath(owner.path, node, nodeIndex, sub),
          depth: owner.depth + 1,
          parentNode: node,
          attributeName: sub.attributeName,
          function: owner.function,
        },
        visitors,
      );
    }
  });
}

function walkGraph(graph: GraphProto, location: GraphLocation, visitors: Visitors): void {
  visitors.onGraph?.(graph, location);
  walkNodes(
    graph.node,
    { path: location.path, depth: location.depth, graph, function: location.function },
    visitors,
  );
}

function topLevel(path: string, fn?: FunctionProto): GraphLocation {
  return { path, depth: 0, parentNode: undefined, attributeName: undefined, function: fn };
}

function walkModel(model: ModelProto, visitors: Visitors): void {
  if (model.graph !== undefined) {
    walkGraph(model.graph, topLevel(`graph '${model.graph.name ?? ''}'`), visitors);
  }
  model.trainingInfo.forEach((info, index) => {
    if (info.initialization !== undefined) {
      walkGraph(info.initialization, topLevel(`trainingInfo[${index}].initialization`), visitors);
    }
    if (info.algorithm !== undefined) {
      walkGraph(info.algorithm, topLevel(`trainingInfo[${index}].algorithm`), visitors);
    }
  });
  for (const fn of model.functions) {
    const path = `function '${fn.domain ?? ''}.${fn.name ?? ''}'`;
    walkNodes(fn.node, { path, depth: 0, graph: undefined, function: fn }, visitors);
  }
}

/**
 * Calls `visit` on every graph of the model, depth first and in file order:
 * the main graph, then the graphs of `trainingInfo`, then subgraphs inside
 * model-local functions; each graph is visited before the subgraphs held by
 * its nodes (attributes `g` and `graphs`, recursively). Function bodies are
 * not graphs and are not passed to `visit`; see {@link forEachNode}.
 */
export function forEachGraph(model: ModelProto, visit: GraphVisitor): void {
  walkModel(model, { onGraph: visit, onNode: undefined });
}

/**
 * Calls `visit` on every node of the model, depth first and in file order:
 * nodes of the main graph, of training graphs and of model-local function
 * bodies, each followed by the nodes of its subgraphs.
 */
export function forEachNode(model: ModelProto, visit: NodeVisitor): void {
  walkModel(model, { onGraph: undefined, onNode: visit });
}

/**
 * Calls `visit` on `graph` and every subgraph nested in its nodes, depth first.
 * Locations are relative to `graph` (depth 0).
 */
export function forEachGraphIn(graph: GraphProto, visit: GraphVisitor): void {
  walkGraph(graph, topLevel(`graph '${graph.name ?? ''}'`), { onGraph: visit, onNode: undefined });
}

/**
 * The version of `domain` that a model or function imports, or undefined if
 * it does not import it. `''` and `'ai.onnx'` are the same domain.
 * @returns the first matching import's version as a number.
 */
export function opsetVersion(owner: ModelProto | FunctionProto, domain: string): number | undefined {
  const wanted = normalizeDomain(domain);
  const found = owner.opsetImport.find(
    (entry: OperatorSetIdProto) => normalizeDomain(entry.domain) === wanted,
  );
  return found?.version === undefined ? undefined : Number(found.version);
}

/**
 * Hands out names that clash with nothing already in a model, for passes
 * that add values, initializers or nodes. Node names and value names are
 * kept in one pool, so a fresh name is safe for either.
 */
export class UniqueNameGenerator {
  private readonly used = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();

  /** @param usedNames - names already taken. */
  constructor(usedNames: Iterable<string> = []) {
    for (const name of usedNames) this.used.add(name);
  }

  /**
   * Seeds a generator with every name in `model`: node names, node inputs and
   * outputs, initializer (dense and sparse) names, graph inputs, outputs and
   * value_info, in every graph and subgraph, and the inputs, outputs, nodes
   * and value_info of model-local functions.
   */
  static fromModel(model: ModelProto): UniqueNameGenerator {
    const generator = new UniqueNameGenerator();
    const add = (name: string | undefined): void => {
      if (name !== undefined && name !== '') generator.reserve(name);
    };
    forEachGraph(model, (graph) => {
      for (const tensor of graph.initializer) add(tensor.name);
      for (const sparse of graph.sparseInitializer) {
        add(sparse.values?.name);
        add(sparse.indices?.name);
      }
      for (const info of [...graph.input, ...graph.output, ...graph.valueInfo]) add(info.name);
    });
    forEachNode(model, (node) => {
      add(node.name);
      for (const name of node.input) add(name);
      for (const name of node.output) add(name);
    });
    for (const fn of model.functions) {
      for (const name of [...fn.input, ...fn.output]) add(name);
      for (const info of fn.valueInfo) add(info.name);
    }
    return generator;
  }

  /** Whether `name` is taken. */
  has(name: string): boolean {
    return this.used.has(name);
  }

  /** Marks `name` as taken. */
  reserve(name: string): void {
    this.used.add(name);
  }

  /**
   * A name not taken yet, now reserved: `base` itself if free, otherwise
   * `base_1`, `base_2`, … (the first free one).
   */
  next(base: string): string {
    if (!this.used.has(base)) {
      this.used.add(base);
      return base;
    }
    let suffix = this.nextSuffix.get(base) ?? 1;
    while (this.used.has(`${base}_${suffix}`)) suffix += 1;
    const name = `${base}_${suffix}`;
    this.nextSuffix.set(base, suffix + 1);
    this.used.add(name);
    return name;
  }
}
