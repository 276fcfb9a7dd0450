/**
 * The before/after figures of `--simplify` (onnx-simplifier's best-loved
 * table): operator counts, nodes, initializers and the serialized size.
 */
import { encodeMessageChunks } from '../../../onnx/codec.js';
import { forEachGraph, forEachNode } from '../../../onnx/graph.js';
import { normalizeDomain } from '../../../onnx/opset.js';
import type { ModelProto } from '../../../onnx/types.js';
import { tensorDataBytes } from '../fp16/tensor-fp16.js';

/** Counts that describe a model's size and make-up. */
export interface ModelStats {
  /** Nodes in every graph and subgraph (not function bodies). */
  nodes: number;
  /** Nodes by operator, keyed `Op` for the default domain and `domain::Op` otherwise. */
  opCounts: Record<string, number>;
  /** Initializers (dense and sparse) in every graph. */
  initializers: number;
  /** Bytes of initializer and Constant data stored in the model (external data included). */
  weightBytes: number;
  /** Size of the serialized model in bytes (without external data files). */
  sizeBytes: number;
}

/** Operator key as the table shows it. */
export function opKey(domain: string | undefined, opType: string | undefined): string {
  const d = normalizeDomain(domain);
  return d === '' ? (opType ?? '?') : `${d}::${opType ?? '?'}`;
}

function externalLength(tensor: { externalData: { key?: string; value?: string }[] }): number {
  const length = tensor.externalData.find((entry) => entry.key === 'length')?.value;
  return length !== undefined && /^[0-9]+$/.test(length) ? Number(length) : 0;
}

/** Counts the model. Serializing for the size does not copy tensor data. */
export function modelStats(model: ModelProto): ModelStats {
  const opCounts: Record<string, number> = {};
  let nodes = 0;
  let weightBytes = 0;
  forEachNode(model, (node, where) => {
    if (where.graph === undefined) return;
    nodes += 1;
    const key = opKey(node.domain, node.opType);
    opCounts[key] = (opCounts[key] ?? 0) + 1;
    if (node.opType === 'Constant') for (const a of node.attribute) if (a.t !== undefined) weightBytes += tensorDataBytes(a.t) + externalLength(a.t);
  });
  let initializers = 0;
  forEachGraph(model, (graph) => {
    initializers += graph.initializer.length + graph.sparseInitializer.length;
    for (const tensor of graph.initializer) weightBytes += tensorDataBytes(tensor) + externalLength(tensor);
  });
  return { nodes, opCounts, initializers, weightBytes, sizeBytes: encodeMessageChunks('ModelProto', model).byteLength };
}
