/**
 * Storing a pruned float32 tensor as an ONNX SparseTensorProto: the non-zero
 * values and their linear positions (int64, strictly increasing, as the ONNX
 * checker requires of 1-D indices). ONNX Runtime turns sparse initializers
 * back into dense tensors when it loads the model, so this buys file size,
 * not speed.
 */
import { toLittleEndianBytes } from '../../onnx/tensor-bytes.js';
import { makeAttribute } from '../../onnx/builder.js';
import { tensorData } from '../../onnx/tensor.js';
import { DataType, type ModelProto, type SparseTensorProto, type TensorProto } from '../../onnx/types.js';
import { floatTensor } from './weights.js';

/** Bytes of a float32 tensor stored sparse: 4 per value plus 8 per int64 index. */
export function sparseSizeBytes(nonzeros: number): number {
  return nonzeros * (4 + 8);
}

/** Bytes of a dense float32 tensor. */
export function denseSizeBytes(elements: number): number {
  return elements * 4;
}

/** Number of elements that are not exactly zero. */
export function countNonzeros(values: Float32Array): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) count += 1;
  return count;
}

/**
 * The sparse form of a dense float32 tensor: `values` named like the tensor
 * (that is the sparse initializer's name), linear `indices`, and the dense
 * `dims`. Negative zeros count as zeros, as ONNX's default value is +0.
 */
export function toSparseTensor(name: string, dims: readonly number[], values: Float32Array): SparseTensorProto {
  const nonzeros = countNonzeros(values);
  const kept = new Float32Array(nonzeros);
  const positions = new BigInt64Array(nonzeros);
  let next = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (value === 0) continue;
    kept[next] = value;
    positions[next] = BigInt(i);
    next += 1;
  }
  const indices: TensorProto = {
    dims: [BigInt(nonzeros)],
    dataType: DataType.INT64,
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    rawData: toLittleEndianBytes(positions),
    externalData: [],
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
  };
  return { values: floatTensor(name, [nonzeros], kept), indices, dims: dims.map(BigInt) };
}

/** The dense float32 tensor a sparse one with linear int64 indices stands for; undefined for other kinds. */
function densify(sparse: SparseTensorProto): TensorProto | undefined {
  const values = sparse.values;
  const indices = sparse.indices;
  if (values?.dataType !== DataType.FLOAT || indices?.dataType !== DataType.INT64 || indices.dims.length !== 1) return undefined;
  const out = new Float32Array(sparse.dims.reduce((product, dim) => product * Number(dim), 1));
  const data = tensorData(values) as Float32Array;
  const positions = tensorData(indices) as BigInt64Array;
  for (let i = 0; i < data.length; i++) out[Number(positions[i]!)] = data[i]!;
  return floatTensor(values.name ?? '', sparse.dims.map(Number), out);
}

/**
 * The model with every float32 sparse tensor of its main graph (sparse
 * initializers and Constant sparse_values) stored dense again, values at
 * their linear indices and zeros elsewhere, nothing else changed: the
 * reference that shows sparse storage lost nothing.
 */
export function densifySparseInitializers(model: ModelProto): ModelProto {
  const graph = model.graph;
  if (graph === undefined) return model;
  const kept: SparseTensorProto[] = [];
  const dense: TensorProto[] = [];
  for (const sparse of graph.sparseInitializer) {
    const tensor = densify(sparse);
    if (tensor === undefined) kept.push(sparse);
    else dense.push(tensor);
  }
  const node = graph.node.map((original) => {
    const attribute = original.opType === 'Constant' && original.attribute.length === 1 ? original.attribute[0] : undefined;
    const tensor = attribute?.name === 'sparse_value' && attribute.sparseTensor !== undefined ? densify(attribute.sparseTensor) : undefined;
    return tensor === undefined ? original : { ...original, attribute: [makeAttribute('value', { ...tensor, name: undefined })] };
  });
  return { ...model, graph: { ...graph, node, initializer: [...graph.initializer, ...dense], sparseInitializer: kept } };
}
