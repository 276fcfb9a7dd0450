/**
 * Finding the constant float tensor behind a node input (an initializer, or
 * the value of a `Constant` node, in this graph or an enclosing one), and
 * turning it into quantized tensors: data, scale and zero point.
 */
import type { GraphIndex } from '../../onnx/graph.js';
import { isDefaultDomain } from '../../onnx/opset.js';
import { createTensor, tensorData, tensorDims, tensorElementCount } from '../../onnx/tensor.js';
import { DataLocation, DataType, type GraphProto, type NodeProto, type TensorProto } from '../../onnx/types.js';
import type { KernelResult } from './kernel.js';
import type { QuantizedType } from './numerics.js';

/** A graph and its index, as one level of the scope chain. */
export interface Scope {
  readonly graph: GraphProto;
  readonly index: GraphIndex;
}

/** Where a constant tensor comes from. */
export interface WeightSource {
  readonly name: string;
  readonly tensor: TensorProto;
  /** The Constant node holding it; undefined for an initializer. */
  readonly constantNode: NodeProto | undefined;
  /** The scope defining it: the current graph, or an enclosing one. */
  readonly scope: Scope;
  /** Whether it is defined in an enclosing graph rather than the one being rewritten. */
  readonly outer: boolean;
}

/**
 * Reads the bytes of a tensor kept in external data (the caller resolves
 * files). A reader may reuse one buffer from call to call, so that only one
 * tensor's floats are in memory: the pass uses the bytes before it reads
 * another tensor, and keeps nothing that views them.
 */
export type ExternalDataReader = (tensor: TensorProto) => Uint8Array;

function constantValue(node: NodeProto): TensorProto | undefined {
  if (node.opType !== 'Constant' || !isDefaultDomain(node.domain)) return undefined;
  return node.attribute.find((attribute) => attribute.name === 'value')?.t;
}

/**
 * The constant tensor a value name refers to, looking through `scopes` from
 * the innermost (last) outwards; undefined when the value is computed at run
 * time or fed by the caller.
 */
export function resolveWeight(name: string, scopes: readonly Scope[]): WeightSource | undefined {
  for (let level = scopes.length - 1; level >= 0; level--) {
    const scope = scopes[level]!;
    const outer = level !== scopes.length - 1;
    const initializer = scope.index.initializer(name);
    if (initializer !== undefined) return { name, tensor: initializer, constantNode: undefined, scope, outer };
    const producer = scope.index.producer(name);
    if (producer !== undefined) {
      const value = constantValue(producer.node);
      return value === undefined ? undefined : { name, tensor: value, constantNode: producer.node, scope, outer };
    }
    // A graph input that is not an initializer is a run-time value.
    if (scope.index.inputNames.has(name)) return undefined;
  }
  return undefined;
}

/** Why a constant cannot be quantized, or undefined when it can. */
export function unsupportedWeightReason(source: WeightSource, canReadExternal: boolean): string | undefined {
  const { tensor } = source;
  if (tensor.dataType !== DataType.FLOAT) return `weight '${source.name}' is not float32`;
  if (tensor.segment !== undefined) return `weight '${source.name}' is stored in segments`;
  if (tensor.dataLocation === DataLocation.EXTERNAL && !canReadExternal) {
    return `weight '${source.name}' is in external data that was not made available`;
  }
  return undefined;
}

/** The float32 elements of a weight (a view when possible: do not mutate). */
export function weightValues(tensor: TensorProto, readExternal: ExternalDataReader | undefined): Float32Array {
  const raw = tensor.dataLocation === DataLocation.EXTERNAL && readExternal !== undefined ? readExternal(tensor) : undefined;
  return tensorData(tensor, raw === undefined ? {} : { raw }) as Float32Array;
}

/** Element count and dims of a weight, from its dims alone. */
export function weightShape(tensor: TensorProto): { dims: number[]; count: number } {
  return { dims: tensorDims(tensor), count: tensorElementCount(tensor) };
}

/** Multiplies every element by `factor`, rounding to float32 (a new array). */
export function scaleValues(data: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! * factor;
  return out;
}

/** The tensors that replace one float weight. */
export interface QuantizedTensors {
  readonly data: TensorProto;
  /** Float32: a scalar when per-tensor, `[channels]` when per-channel. */
  readonly scale: TensorProto;
  /** Same shape as `scale`, of the quantized type. */
  readonly zeroPoint: TensorProto;
  readonly result: KernelResult;
}

/** Names for the three new tensors. */
export interface QuantizedNames {
  readonly data: string;
  readonly scale: string;
  readonly zeroPoint: string;
}

const dataTypeOf: Record<QuantizedType, number> = { int8: DataType.INT8, uint8: DataType.UINT8 };

/** A tensor with `bytes` as raw data (not copied). */
export function rawTensor(name: string, dataType: number, dims: readonly number[], bytes: Uint8Array): TensorProto {
  return {
    dims: dims.map((dim) => BigInt(dim)),
    dataType,
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    name,
    rawData: bytes,
    externalData: [],
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
  };
}

/**
 * The three tensors of a quantized weight: data of shape `dims`, and scale and
 * zero point (scalars when per-tensor, `[channels]` when per-channel).
 */
export function quantizedTensors(result: KernelResult, dims: readonly number[], names: QuantizedNames, type: QuantizedType, perChannel: boolean): QuantizedTensors {
  const paramDims = perChannel ? [result.scales.length] : [];
  const dataType = dataTypeOf[type];
  return {
    data: rawTensor(names.data, dataType, dims, result.bytes),
    scale: createTensor(names.scale, DataType.FLOAT, paramDims, result.scales),
    zeroPoint: createTensor(names.zeroPoint, dataType, paramDims, result.zeroPoints),
    result,
  };
}

/** A copy of a scale or zero-point tensor with new dims (same data), e.g. `[M]` → `[M, 1, 1]`. */
export function reshapedTensor(tensor: TensorProto, name: string, dims: readonly number[]): TensorProto {
  return { ...tensor, name, dims: dims.map((dim) => BigInt(dim)) };
}

