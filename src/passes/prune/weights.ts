/**
 * The constant tensors of a model's main graph that pruning reads and
 * rewrites: initializers and the values of `Constant` nodes (some exporters,
 * PaddlePaddle's among them, keep every weight in Constant nodes).
 */
import type { GraphIndex } from '../../onnx/graph.js';
import { isDefaultDomain } from '../../onnx/opset.js';
import { tensorData, tensorDims } from '../../onnx/tensor.js';
import { toLittleEndianBytes } from '../../onnx/tensor-bytes.js';
import { DataLocation, DataType, type NodeProto, type SparseTensorProto, type TensorProto } from '../../onnx/types.js';

/** A constant tensor and where it lives. */
export interface ConstantRef {
  readonly name: string;
  readonly tensor: TensorProto;
  /** The Constant node holding it; undefined for an initializer. */
  readonly constantNode: NodeProto | undefined;
}

/** The `value` tensor of a default-domain Constant node. */
export function constantNodeValue(node: NodeProto): TensorProto | undefined {
  if (node.opType !== 'Constant' || !isDefaultDomain(node.domain)) return undefined;
  return node.attribute.find((attribute) => attribute.name === 'value')?.t;
}

/** The `sparse_value` of a default-domain Constant node. */
export function sparseConstantValue(node: NodeProto | undefined): SparseTensorProto | undefined {
  if (node === undefined || node.opType !== 'Constant' || !isDefaultDomain(node.domain)) return undefined;
  return node.attribute.find((attribute) => attribute.name === 'sparse_value')?.sparseTensor;
}

/**
 * The constant tensor behind a value of the indexed graph: a dense
 * initializer or a Constant node's `value`; undefined for anything computed
 * at run time, fed by the caller, or stored sparse.
 */
export function resolveConstant(index: GraphIndex, name: string): ConstantRef | undefined {
  if (name === '') return undefined;
  const initializer = index.initializer(name);
  if (initializer !== undefined) return { name, tensor: initializer, constantNode: undefined };
  const producer = index.producer(name);
  if (producer === undefined) return undefined;
  const value = constantNodeValue(producer.node);
  return value === undefined ? undefined : { name, tensor: value, constantNode: producer.node };
}

/** Whether the tensor keeps its bytes in an external file (which the pass cannot read). */
export function isExternal(tensor: TensorProto): boolean {
  return tensor.dataLocation === DataLocation.EXTERNAL;
}

/** Why pruning cannot rewrite this float weight, or undefined when it can. */
export function unsupportedFloatReason(tensor: TensorProto): string | undefined {
  if (isExternal(tensor)) return 'its data is in an external file; load the model with its external data inlined';
  if (tensor.dataType !== DataType.FLOAT) return `its data type is ${tensor.dataType === undefined ? 'unset' : tensor.dataType}, not float32`;
  if (tensor.segment !== undefined) return 'it is stored in segments';
  return undefined;
}

/** The dims of a tensor as numbers. */
export function dimsOf(tensor: TensorProto): number[] {
  return tensorDims(tensor);
}

/** The elements of a float32 tensor; a view when the bytes allow it, so never mutate the result. */
export function floatValues(tensor: TensorProto): Float32Array {
  return tensorData(tensor) as Float32Array;
}

/** The elements of an int64 tensor as numbers (they are shapes and axes here, far below 2^53). */
export function int64Values(tensor: TensorProto): number[] {
  return Array.from(tensorData(tensor) as BigInt64Array, Number);
}

/** A new float32 tensor that takes ownership of `values` (its bytes become `raw_data`, uncopied). */
export function floatTensor(name: string, dims: readonly number[], values: Float32Array): TensorProto {
  return {
    dims: dims.map(BigInt),
    dataType: DataType.FLOAT,
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    name,
    rawData: toLittleEndianBytes(values),
    externalData: [],
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
  };
}

/** `tensor` with new float32 values and dims, keeping its name, doc string and metadata. */
export function withFloatValues(tensor: TensorProto, dims: readonly number[], values: Float32Array): TensorProto {
  const fresh = floatTensor(tensor.name ?? '', dims, values);
  return { ...fresh, ...(tensor.docString === undefined ? {} : { docString: tensor.docString }), metadataProps: tensor.metadataProps };
}

/** Number of exact zeros (either sign) in `values`. */
export function countZeros(values: Float32Array): number {
  let zeros = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) zeros += 1;
  return zeros;
}

/** How reports name a node: its name, or `#index` in graph order. */
export function nodeLabel(node: NodeProto, nodeIndex: number): string {
  return node.name !== undefined && node.name !== '' ? node.name : `#${nodeIndex}`;
}

/** Whether a node is excluded by name (exact names, or regular expressions matched against the name). */
export function isExcluded(node: NodeProto, exclude: readonly (string | RegExp)[]): boolean {
  const name = node.name ?? '';
  return exclude.some((pattern) => (typeof pattern === 'string' ? pattern === name : pattern.test(name)));
}
