/**
 * Which values of a graph are constants (initializers that no feed can
 * override, and Constant node outputs, here or in an enclosing graph), and
 * how to add a new constant to a graph.
 */
import { makeNode } from '../../../onnx/builder.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import type { GraphProto, TensorProto } from '../../../onnx/types.js';
import { constantNodeTensor } from '../shapes/node-attributes.js';

/** The constant tensors visible in one graph. */
export class ConstantTable {
  private readonly tensors = new Map<string, TensorProto>();
  private readonly local = new Set<string>();

  /**
   * @param overridableInitializers - whether initializers listed in `graph.input` are
   *   overridable inputs (IR 4 on) and so not constants.
   */
  constructor(graph: GraphProto, private readonly outer: ConstantTable | undefined, overridableInitializers: boolean) {
    const inputs = new Set(graph.input.map((info) => info.name ?? ''));
    for (const info of graph.input) if (info.name) this.local.add(info.name);
    for (const tensor of graph.initializer) {
      const name = tensor.name ?? '';
      if (name === '') continue;
      this.local.add(name);
      if (!(overridableInitializers && inputs.has(name))) this.tensors.set(name, tensor);
    }
    for (const node of graph.node) {
      for (const name of node.output) if (name) this.local.add(name);
      if (node.opType === 'Constant' && isDefaultDomain(node.domain) && node.output[0]) {
        const tensor = constantNodeTensor(node);
        if (tensor !== undefined) this.tensors.set(node.output[0], tensor);
      }
    }
  }

  /** The constant value of `name`, from this graph or (when not defined here) an enclosing one. */
  get(name: string): TensorProto | undefined {
    return this.tensors.get(name) ?? (this.local.has(name) ? undefined : this.outer?.get(name));
  }

  /** Whether `name` is defined in this graph itself (not an enclosing one). */
  isLocal(name: string): boolean {
    return this.local.has(name);
  }

  /** Whether `name` is a constant. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

/** A Constant node producing `tensor` as `name` (subgraphs hold their constants this way). */
export function constantNode(name: string, tensor: TensorProto, nodeName: string): ReturnType<typeof makeNode> {
  return makeNode('Constant', [], [name], { value: { ...tensor, name } }, { name: nodeName });
}

/**
 * Adds constants to a graph: as initializers when `asInitializers` (from IR 4
 * on), else as Constant nodes (IR 3 models, whose initializers must all be
 * graph inputs).
 */
export function addConstants(
  graph: GraphProto,
  asInitializers: boolean,
  constants: readonly { name: string; tensor: TensorProto; nodeName: string }[],
): GraphProto {
  if (constants.length === 0) return graph;
  if (asInitializers) return { ...graph, initializer: [...graph.initializer, ...constants.map(({ name, tensor }) => ({ ...tensor, name }))] };
  return { ...graph, node: [...constants.map(({ name, tensor, nodeName }) => constantNode(name, tensor, nodeName)), ...graph.node] };
}

