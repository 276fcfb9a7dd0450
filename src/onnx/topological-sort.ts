/**
 * Topological ordering of graph nodes, stable and scope-aware: a node that
 * holds subgraphs depends on the producers of every value those subgraphs
 * read from the enclosing scope. Re-exported by `graph.ts`.
 */
import { ModelFormatError } from '../common/errors.js';
import { describeNode, nodeSubgraphs, nodeUsedNames } from './graph-walk.js';
import type { GraphProto, NodeProto } from './types.js';

function graphLabel(graph: GraphProto): string {
  return `graph '${graph.name ?? ''}'`;
}

/** Min-heap of node indices, so the sort always takes the earliest ready node. */
class IndexHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const items = this.items;
    items.push(value);
    let child = items.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if ((items[parent] as number) <= value) break;
      items[child] = items[parent] as number;
      child = parent;
    }
    items[child] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0] as number;
    const last = items.pop() as number;
    if (items.length > 0) {
      let parent = 0;
      for (;;) {
        let child = 2 * parent + 1;
        if (child >= items.length) break;
        const right = child + 1;
        if (right < items.length && (items[right] as number) < (items[child] as number)) child = right;
        if ((items[child] as number) >= last) break;
        items[parent] = items[child] as number;
        parent = child;
      }
      items[parent] = last;
    }
    return top;
  }
}

/** For each node, the indices of the nodes in the same list that produce what it reads. */
function dependencyIndices(nodes: readonly NodeProto[], scope: string): number[][] {
  const producerIndex = new Map<string, number>();
  nodes.forEach((node, index) => {
    for (const name of node.output) {
      if (name === '') continue;
      const previous = producerIndex.get(name);
      if (previous !== undefined) {
        throw new ModelFormatError(
          `Value '${name}' in ${scope} is produced by both ${describeNode(nodes[previous] as NodeProto, previous)} and ${describeNode(node, index)}; each value must have exactly one producer.`,
        );
      }
      producerIndex.set(name, index);
    }
  });
  return nodes.map((node) => {
    const deps = new Set<number>();
    for (const name of nodeUsedNames(node)) {
      const producer = producerIndex.get(name);
      if (producer !== undefined) deps.add(producer);
    }
    return [...deps];
  });
}

function cycleError(nodes: readonly NodeProto[], deps: number[][], done: boolean[], scope: string): ModelFormatError {
  // Every node left over waits on another left-over node, so following such
  // waits from any of them must come back to a node already seen.
  const start = done.indexOf(false);
  const seenAt = new Map<number, number>();
  const walk: number[] = [];
  let current = start;
  while (!seenAt.has(current)) {
    seenAt.set(current, walk.length);
    walk.push(current);
    current = (deps[current] as number[]).find((dep) => !done[dep]) as number;
  }
  // Data-flow order, starting from the node that comes first in the file.
  const loop = walk.slice(seenAt.get(current)).reverse();
  const first = loop.indexOf(loop.reduce((a, b) => Math.min(a, b)));
  const cycle = [...loop.slice(first), ...loop.slice(0, first)];
  const names = [...cycle, cycle[0] as number].map((index) => describeNode(nodes[index] as NodeProto, index));
  return new ModelFormatError(
    `${scope.charAt(0).toUpperCase()}${scope.slice(1)} has a cycle: ${names.join(' -> ')}; a graph's nodes must not depend on their own outputs.`,
  );
}

/**
 * Orders `nodes` so that every node comes after the producers of the values
 * it reads (including values its subgraphs read from this scope). Stable:
 * among the nodes ready at each step the earliest in the input goes first,
 * so an already sorted list comes back unchanged. Names no node in the list
 * produces are treated as inputs, initializers or outer-scope values.
 *
 * @param scope - how to name the list in errors, e.g. `graph 'main'`.
 * @throws ModelFormatError on a cycle (naming its nodes) or a value with two producers.
 */
export function topologicalSortNodes(nodes: readonly NodeProto[], scope = 'the node list'): NodeProto[] {
  const deps = dependencyIndices(nodes, scope);
  const waitingOn = deps.map((list) => list.length);
  const dependents: number[][] = nodes.map(() => []);
  deps.forEach((list, index) => {
    for (const dep of list) (dependents[dep] as number[]).push(index);
  });
  const ready = new IndexHeap();
  waitingOn.forEach((count, index) => {
    if (count === 0) ready.push(index);
  });
  const done: boolean[] = nodes.map(() => false);
  const order: NodeProto[] = [];
  while (ready.size > 0) {
    const index = ready.pop();
    done[index] = true;
    order.push(nodes[index] as NodeProto);
    for (const dependent of dependents[index] as number[]) {
      const left = (waitingOn[dependent] as number) - 1;
      waitingOn[dependent] = left;
      if (left === 0) ready.push(dependent);
    }
  }
  if (order.length < nodes.length) throw cycleError(nodes, deps, done, scope);
  return order;
}

function sortSubgraphsOf(node: NodeProto): NodeProto {
  if (!node.attribute.some((attribute) => attribute.g !== undefined || attribute.graphs.length > 0)) return node;
  return {
    ...node,
    attribute: node.attribute.map((attribute) => {
      if (attribute.g === undefined && attribute.graphs.length === 0) return attribute;
      const sorted = { ...attribute, graphs: attribute.graphs.map((graph) => topologicalSort(graph)) };
      if (attribute.g !== undefined) sorted.g = topologicalSort(attribute.g);
      return sorted;
    }),
  };
}

/**
 * A copy of `graph` whose nodes, and those of every subgraph, are in
 * topological order (see {@link topologicalSortNodes}). The input graph is
 * not modified; nodes without subgraphs are shared with it.
 *
 * @throws ModelFormatError on a cycle, naming the nodes in it.
 */
export function topologicalSort(graph: GraphProto): GraphProto {
  const nodes = topologicalSortNodes(graph.node, graphLabel(graph));
  return { ...graph, node: nodes.map(sortSubgraphsOf) };
}

/**
 * Whether every node of `graph` (and of its subgraphs) comes after the
 * producers of what it reads. Names no node of a graph produces count as
 * inputs, initializers or outer-scope values.
 */
export function isTopologicallySorted(graph: GraphProto): boolean {
  const producedHere = new Set<string>();
  for (const node of graph.node) for (const name of node.output) if (name) producedHere.add(name);
  const available = new Set<string>();
  for (const node of graph.node) {
    for (const name of nodeUsedNames(node)) {
      if (producedHere.has(name) && !available.has(name)) return false;
    }
    for (const sub of nodeSubgraphs(node)) if (!isTopologicallySorted(sub.graph)) return false;
    for (const name of node.output) if (name) available.add(name);
  }
  return true;
}
