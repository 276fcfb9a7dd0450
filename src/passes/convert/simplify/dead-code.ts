/**
 * Removing what nothing reads: nodes none of whose outputs reach a graph
 * output, initializers no node reads, and value_info entries of values that
 * no longer exist. Subgraphs are cleaned before the graph holding them (see
 * graph-tree.ts), so their outer-scope reads are final by then.
 */
import { nodeUsedNames, topologicalSortNodes } from '../../../onnx/graph.js';
import type { GraphProto, NodeProto } from '../../../onnx/types.js';

/** What {@link removeDeadCode} removed from one graph. */
export interface DeadCodeCounts {
  nodes: number;
  initializers: number;
  valueInfo: number;
}

/**
 * Removes dead nodes and unused initializers of one graph. Graph inputs
 * stay (they are the model's interface), except the entries that list a
 * removed initializer.
 */
export function removeDeadCode(graph: GraphProto): { graph: GraphProto; counts: DeadCodeCounts } {
  const live = new Set<string>();
  for (const info of graph.output) if (info.name) live.add(info.name);
  let sorted: NodeProto[];
  try {
    sorted = topologicalSortNodes(graph.node);
  } catch {
    sorted = graph.node;
  }
  const keep = new Set<NodeProto>();
  for (let i = sorted.length - 1; i >= 0; i--) {
    const node = sorted[i]!;
    if (!node.output.some((name) => name !== '' && live.has(name))) continue;
    keep.add(node);
    for (const name of nodeUsedNames(node)) live.add(name);
  }
  const node = graph.node.filter((n) => keep.has(n));
  const initializer = graph.initializer.filter((tensor) => live.has(tensor.name ?? ''));
  const sparseInitializer = graph.sparseInitializer.filter((sparse) => live.has(sparse.values?.name ?? ''));
  const removedInitializers = new Set([
    ...graph.initializer.filter((t) => !live.has(t.name ?? '')).map((t) => t.name ?? ''),
    ...graph.sparseInitializer.filter((s) => !live.has(s.values?.name ?? '')).map((s) => s.values?.name ?? ''),
  ]);
  const input = graph.input.filter((info) => !removedInitializers.has(info.name ?? ''));

  const defined = new Set<string>();
  for (const info of input) if (info.name) defined.add(info.name);
  for (const tensor of initializer) if (tensor.name) defined.add(tensor.name);
  for (const n of node) for (const name of n.output) if (name) defined.add(name);
  const valueInfo = graph.valueInfo.filter((info) => defined.has(info.name ?? ''));

  const counts = {
    nodes: graph.node.length - node.length,
    initializers: removedInitializers.size,
    valueInfo: graph.valueInfo.length - valueInfo.length,
  };
  if (counts.nodes === 0 && counts.initializers === 0 && counts.valueInfo === 0) return { graph, counts };
  return { graph: { ...graph, node, initializer, sparseInitializer, input, valueInfo }, counts };
}
