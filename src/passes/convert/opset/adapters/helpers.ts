/**
 * Small building blocks shared by the adapter groups: constant tensors of a
 * given element type, reading constant inputs, and the registration record.
 */
import { dataTypeName } from '../../../../onnx/dtypes.js';
import { encodeBfloat16, encodeFloat16 } from '../../../../onnx/float-formats.js';
import { createTensor } from '../../../../onnx/tensor.js';
import { DataType, type NodeProto, type TensorProto } from '../../../../onnx/types.js';
import { inputAt } from '../attributes.js';
import type { AdapterContext, OpAdapter } from '../types.js';
import { floatValues, integerValues } from '../value-facts.js';

/** Which way an adapter converts across its step. */
export type Direction = 'up' | 'down';

/**
 * One entry of the adapter registry: `adapter` converts nodes of each of
 * `ops` across the step that introduced schema version `version` (up: from
 * opset `version - 1` to `version`; down: the reverse).
 */
export interface AdapterRegistration {
  readonly ops: readonly string[];
  readonly version: number;
  readonly direction: Direction;
  readonly adapter: OpAdapter;
}

/** Shorthand for an {@link AdapterRegistration}. */
export function registration(
  ops: string | readonly string[],
  version: number,
  direction: Direction,
  adapter: OpAdapter,
): AdapterRegistration {
  return { ops: typeof ops === 'string' ? [ops] : ops, version, direction, adapter };
}

/** An adapter from a description and a function. */
export function adapter(description: string, adapt: OpAdapter['adapt']): OpAdapter {
  return { description, adapt };
}

/** A 1-D int64 tensor (axes, pads, starts, …). */
export function int64Tensor(values: readonly (number | bigint)[]): TensorProto {
  return createTensor('', DataType.INT64, [values.length], values.map((value) => BigInt(value)));
}

/** A 0-D int64 tensor. */
export function int64Scalar(value: number | bigint): TensorProto {
  return createTensor('', DataType.INT64, [], [BigInt(value)]);
}

/** A 0-D or 1-D float32 tensor. */
export function floatTensor(values: readonly number[], scalar = false): TensorProto {
  return createTensor('', DataType.FLOAT, scalar ? [] : [values.length], values);
}

const floatingTypes = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

/** Whether `elemType` is one of the floating-point types most operators accept. */
export function isFloatingType(elemType: number | undefined): boolean {
  return elemType !== undefined && floatingTypes.has(elemType);
}

/**
 * A scalar of element type `elemType` holding `value`, or undefined when
 * the value cannot be written in that type (e.g. 0.5 as an integer).
 */
export function scalarTensor(elemType: number, value: number): TensorProto | undefined {
  switch (elemType) {
    case DataType.FLOAT:
    case DataType.DOUBLE:
      return createTensor('', elemType, [], [value]);
    case DataType.FLOAT16:
      return createTensor('', elemType, [], new Uint16Array([encodeFloat16(value)]));
    case DataType.BFLOAT16:
      return createTensor('', elemType, [], new Uint16Array([encodeBfloat16(value)]));
    case DataType.INT64:
    case DataType.UINT64:
      return Number.isInteger(value) ? createTensor('', elemType, [], [BigInt(value)]) : undefined;
    case DataType.INT8: case DataType.UINT8: case DataType.INT16: case DataType.UINT16:
    case DataType.INT32: case DataType.UINT32:
      try {
        return createTensor('', elemType, [], [value]);
      } catch {
        return undefined;
      }
    default:
      return undefined;
  }
}

/** The node's label for new names: its name, else its first output. */
export function anchorOf(node: NodeProto): string {
  if (node.name !== undefined && node.name !== '') return node.name;
  return node.output.find((name) => name !== '') ?? node.opType ?? 'node';
}

/** The element type of input `index`, or a refusal naming the input. */
export function requireElemType(node: NodeProto, index: number, context: AdapterContext, why: string): number {
  const name = inputAt(node, index);
  const elemType = context.fact(name).elemType;
  if (elemType === undefined) {
    context.refuse(`the element type of input '${name}' is not known, and ${why}; declare it in value_info or as a graph input`);
  }
  return elemType;
}

/** The rank of input `index`, or undefined. */
export function rankOf(node: NodeProto, index: number, context: AdapterContext): number | undefined {
  const name = inputAt(node, index);
  return name === '' ? undefined : context.fact(name).rank;
}

/**
 * The integer values of constant input `index`, or a refusal: the target
 * opset needs them as an attribute.
 */
export function requireConstantInts(node: NodeProto, index: number, context: AdapterContext, what: string): number[] {
  const name = inputAt(node, index);
  const value = context.constantValue(name);
  const values = value === undefined ? undefined : integerValues(value);
  if (values === undefined) {
    context.refuse(`its ${what} input '${name}' is not a constant, but opset ${context.toOpset} needs ${what} as an attribute`);
  }
  return values;
}

/** The float values of constant input `index`, or a refusal (see {@link requireConstantInts}). */
export function requireConstantFloats(node: NodeProto, index: number, context: AdapterContext, what: string): number[] {
  const name = inputAt(node, index);
  const value = context.constantValue(name);
  const values = value === undefined ? undefined : floatValues(value);
  if (values === undefined) {
    context.refuse(`its ${what} input '${name}' is not a float or double constant, but opset ${context.toOpset} needs ${what} as an attribute`);
  }
  return values;
}

/** A constant scalar of input `index`'s element type (for min/max, pad values), or a refusal. */
export function typedScalar(node: NodeProto, index: number, value: number, context: AdapterContext, what: string): TensorProto {
  const elemType = requireElemType(node, index, context, `${what} must be written as a constant of that type`);
  const tensor = scalarTensor(elemType, value);
  if (tensor === undefined) {
    context.refuse(`${what} ${value} cannot be written as ${dataTypeName(elemType)}, the element type of input '${inputAt(node, index)}'`);
  }
  return tensor;
}

/** Normalizes an axis against `rank` (negative axes count from the back). */
export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
