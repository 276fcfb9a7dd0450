/**
 * Applying a graph transformation to a model's main graph and every
 * subgraph, bottom-up (a node's subgraphs before the graph holding it), so
 * that a pass sees each subgraph's final outer-scope reads when it decides
 * about the enclosing graph.
 */
import type { GraphProto, ModelProto, NodeProto } from '../../../onnx/types.js';

/** Where a graph sits: the main graph (depth 0) or a subgraph. */
export interface GraphPlace {
  readonly isMain: boolean;
  readonly depth: number;
}

/** A transformation of one graph; returns the graph itself when nothing changes. */
export type GraphTransform = (graph: GraphProto, place: GraphPlace) => GraphProto;

function transformNode(node: NodeProto, transform: GraphTransform, depth: number): NodeProto {
  if (!node.attribute.some((a) => a.g !== undefined || a.graphs.length > 0)) return node;
  let changed = false;
  const attribute = node.attribute.map((a) => {
    if (a.g === undefined && a.graphs.length === 0) return a;
    const graphs = a.graphs.map((g) => transformTree(g, transform, depth + 1));
    const g = a.g === undefined ? undefined : transformTree(a.g, transform, depth + 1);
    if (g === a.g && graphs.every((x, i) => x === a.graphs[i])) return a;
    changed = true;
    const next = { ...a, graphs };
    if (g !== undefined) next.g = g;
    return next;
  });
  return changed ? { ...node, attribute } : node;
}

function transformTree(graph: GraphProto, transform: GraphTransform, depth: number): GraphProto {
  let changed = false;
  const node = graph.node.map((n) => {
    const next = transformNode(n, transform, depth);
    if (next !== n) changed = true;
    return next;
  });
  return transform(changed ? { ...graph, node } : graph, { isMain: depth === 0, depth });
}

/** The model with `transform` applied to every graph of its main graph's tree. */
export function transformGraphs(model: ModelProto, transform: GraphTransform): ModelProto {
  if (model.graph === undefined) return model;
  const graph = transformTree(model.graph, transform, 0);
  return graph === model.graph ? model : { ...model, graph };
}
