/**
 * Constant nodes become initializers, as onnx-simplifier leaves them: one
 * fewer node each, and the weights are where every tool (and external data)
 * looks for them. Subgraphs (If branches, Loop bodies) may hold initializers
 * too, and ONNX Runtime reads them there.
 */
import { isDefaultDomain } from '../../../onnx/opset.js';
import type { GraphProto, TensorProto } from '../../../onnx/types.js';
import { constantNodeTensor } from '../shapes/node-attributes.js';

/**
 * Moves one graph's Constant nodes into its initializers. Constants that
 * are graph outputs or sparse stay nodes. Before IR 4 an initializer must
 * also be a graph input, so nothing moves there.
 */
export function liftConstants(graph: GraphProto, irVersion: bigint): { graph: GraphProto; lifted: number } {
  if (irVersion < 4n) return { graph, lifted: 0 };
  const outputs = new Set(graph.output.map((info) => info.name ?? ''));
  const lifted: TensorProto[] = [];
  const node = graph.node.filter((n) => {
    if (n.opType !== 'Constant' || !isDefaultDomain(n.domain) || n.output.length !== 1) return true;
    const name = n.output[0]!;
    if (name === '' || outputs.has(name)) return true;
    const tensor = constantNodeTensor(n);
    if (tensor === undefined || tensor.dataType === undefined) return true;
    lifted.push({ ...tensor, name });
    return false;
  });
  if (lifted.length === 0) return { graph, lifted: 0 };
  return { graph: { ...graph, node, initializer: [...graph.initializer, ...lifted] }, lifted: lifted.length };
}
