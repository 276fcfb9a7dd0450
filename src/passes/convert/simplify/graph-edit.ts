/**
 * Small, copy-on-write edits of a graph that several convert passes need:
 * renaming the uses of a value (in this graph and every subgraph that reads
 * it from the enclosing scope), and listing the names a graph reads.
 *
 * ONNX names are unique across a graph and its subgraphs (a subgraph may not
 * redefine an outer name it also reads), which is what makes renaming by
 * name safe here.
 */
import type { GraphProto, NodeProto } from '../../../onnx/types.js';

/** Maps old value names to new ones. */
export type Renames = ReadonlyMap<string, string>;

function renameInGraph(graph: GraphProto, renames: Renames): GraphProto {
  let changed = false;
  const node = graph.node.map((n) => {
    const next = renameNodeInputs(n, renames);
    if (next !== n) changed = true;
    return next;
  });
  const output = graph.output.map((info) => {
    const to = renames.get(info.name ?? '');
    if (to === undefined) return info;
    changed = true;
    return { ...info, name: to };
  });
  return changed ? { ...graph, node, output } : graph;
}

/**
 * A copy of `node` whose inputs (and the outer-scope reads of its subgraphs,
 * including subgraph outputs that name an outer value) follow `renames`;
 * the node itself when nothing changes.
 */
export function renameNodeInputs(node: NodeProto, renames: Renames): NodeProto {
  if (renames.size === 0) return node;
  let changed = false;
  const input = node.input.map((name) => {
    const to = renames.get(name);
    if (to === undefined) return name;
    changed = true;
    return to;
  });
  let attribute = node.attribute;
  if (node.attribute.some((a) => a.g !== undefined || a.graphs.length > 0)) {
    attribute = node.attribute.map((a) => {
      if (a.g === undefined && a.graphs.length === 0) return a;
      const graphs = a.graphs.map((g) => renameSubgraph(g, renames));
      const g = a.g === undefined ? undefined : renameSubgraph(a.g, renames);
      if (g === a.g && graphs.every((x, i) => x === a.graphs[i])) return a;
      changed = true;
      const next = { ...a, graphs };
      if (g !== undefined) next.g = g;
      return next;
    });
  }
  return changed ? { ...node, input, attribute } : node;
}

/** Renames outer-scope reads inside a subgraph; names the subgraph defines itself are left alone. */
function renameSubgraph(graph: GraphProto, renames: Renames): GraphProto {
  const local = new Set<string>();
  for (const info of graph.input) if (info.name) local.add(info.name);
  for (const tensor of graph.initializer) if (tensor.name) local.add(tensor.name);
  for (const n of graph.node) for (const name of n.output) if (name) local.add(name);
  const effective = new Map([...renames].filter(([from]) => !local.has(from)));
  return effective.size === 0 ? graph : renameInGraph(graph, effective);
}

/**
 * Replaces every use of each `from` by `to` in the nodes of `nodes` (and
 * their subgraphs). Graph outputs are not touched: callers decide what a
 * renamed graph output means.
 */
export function renameUses(nodes: readonly NodeProto[], renames: Renames): NodeProto[] {
  return nodes.map((node) => renameNodeInputs(node, renames));
}

/** Follows a chain of renames (a → b, b → c gives c for a). */
export function resolveRename(renames: Renames, name: string): string {
  let current = name;
  const seen = new Set<string>();
  while (renames.has(current) && !seen.has(current)) {
    seen.add(current);
    current = renames.get(current)!;
  }
  return current;
}
