/**
 * Reading node attributes and small constant tensors as plain numbers, for
 * the convert passes (shapes, fp16, simplify).
 */
import { float16BitsToFloat32 } from '../../../onnx/float-arrays.js';
import { isExternalTensor } from '../../../onnx/external-data.js';
import { tensorData, tensorDims } from '../../../onnx/tensor.js';
import { AttributeType, DataType, type AttributeProto, type NodeProto, type TensorProto } from '../../../onnx/types.js';
import type { KnownValue } from './types.js';

/** The attribute `name` of `node`. */
export function findAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((attribute) => attribute.name === name);
}

/** An INT attribute as a number, or `fallback` when absent. */
export function intAttribute(node: NodeProto, name: string, fallback: number): number;
export function intAttribute(node: NodeProto, name: string): number | undefined;
export function intAttribute(node: NodeProto, name: string, fallback?: number): number | undefined {
  const attribute = findAttribute(node, name);
  return attribute?.i === undefined ? fallback : Number(attribute.i);
}

/** An INTS attribute as numbers, or undefined when absent. */
export function intsAttribute(node: NodeProto, name: string): number[] | undefined {
  const attribute = findAttribute(node, name);
  if (attribute === undefined) return undefined;
  return attribute.ints.map(Number);
}

/** A FLOAT attribute, or `fallback` when absent. */
export function floatAttribute(node: NodeProto, name: string, fallback: number): number {
  const attribute = findAttribute(node, name);
  return attribute?.f ?? fallback;
}

/** A STRING attribute decoded as UTF-8, or `fallback` when absent. */
export function stringAttribute(node: NodeProto, name: string, fallback: string): string {
  const attribute = findAttribute(node, name);
  return attribute?.s === undefined ? fallback : new TextDecoder().decode(attribute.s);
}

/** The tensor a default-domain Constant node holds, whichever attribute holds it; undefined for sparse values. */
export function constantNodeTensor(node: NodeProto): TensorProto | undefined {
  for (const attribute of node.attribute) {
    switch (attribute.name) {
      case 'value':
        return attribute.t;
      case 'value_float':
        return scalarTensor(DataType.FLOAT, [], [attribute.f ?? 0]);
      case 'value_floats':
        return scalarTensor(DataType.FLOAT, [attribute.floats.length], attribute.floats);
      case 'value_int':
        return scalarTensor(DataType.INT64, [], [Number(attribute.i ?? 0n)], [attribute.i ?? 0n]);
      case 'value_ints':
        return scalarTensor(DataType.INT64, [attribute.ints.length], attribute.ints.map(Number), attribute.ints);
      default:
        break;
    }
  }
  return undefined;
}

function scalarTensor(dataType: number, dims: number[], values: readonly number[], int64?: readonly bigint[]): TensorProto {
  return {
    dims: dims.map(BigInt),
    dataType,
    floatData: dataType === DataType.FLOAT ? [...values] : [],
    int32Data: [],
    stringData: [],
    int64Data: int64 === undefined ? [] : [...int64],
    externalData: [],
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
  };
}

const numericTypes = new Set<number>([
  DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.INT8, DataType.UINT8, DataType.INT16,
  DataType.UINT16, DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64, DataType.BOOL,
]);

/**
 * The elements of a small, inline, numeric tensor as numbers (int64 beyond
 * 2^53 rounded); undefined for external, string or exotic tensors, or ones
 * with more than `maxElements` elements.
 */
export function readKnownValue(tensor: TensorProto, maxElements: number): KnownValue | undefined {
  const dataType = tensor.dataType ?? 0;
  if (!numericTypes.has(dataType) || isExternalTensor(tensor) || tensor.segment !== undefined) return undefined;
  let dims: number[];
  try {
    dims = tensorDims(tensor);
  } catch {
    return undefined;
  }
  if (dims.reduce((a, b) => a * b, 1) > maxElements) return undefined;
  let data;
  try {
    data = tensorData(tensor);
  } catch {
    return undefined;
  }
  if (Array.isArray(data)) return undefined;
  let values: number[];
  if (dataType === DataType.FLOAT16) values = Array.from(float16BitsToFloat32(data as Uint16Array));
  else if (data instanceof BigInt64Array || data instanceof BigUint64Array) values = Array.from(data, Number);
  else values = Array.from(data as ArrayLike<number>);
  return { elemType: dataType, dims, values };
}

/** Whether an attribute holds a graph (If, Loop, Scan bodies). */
export function isGraphAttribute(attribute: AttributeProto): boolean {
  return attribute.type === AttributeType.GRAPH || attribute.type === AttributeType.GRAPHS || attribute.g !== undefined || attribute.graphs.length > 0;
}
