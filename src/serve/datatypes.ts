/**
 * KServe V2 tensor datatypes (the Open Inference Protocol's names) and how
 * each maps to the runtime's host dtypes, its binary size and its value range.
 *
 * Facts: KServe V2 "Tensor Data Types" and Triton's binary tensor data
 * extension (little-endian, row-major; BOOL is one byte 0/1; BYTES elements
 * are a 4-byte little-endian length followed by the bytes).
 */
import type { KServeDatatype } from '../onnx/dtypes.js';
import type { TensorData, TensorDtype } from '../runtime/types.js';

/** How a datatype's JSON values are written and checked. */
export type ValueKind = 'float' | 'integer' | 'bigint' | 'bool' | 'bytes';

/** What the server knows about one V2 datatype it serves. */
export interface V2DatatypeInfo {
  readonly name: KServeDatatype;
  readonly dtype: TensorDtype;
  /** Bytes per element in binary tensor data; undefined for BYTES (variable length). */
  readonly elementBytes: number | undefined;
  readonly kind: ValueKind;
  /** Inclusive range of integer values (numbers for up to 32 bits, bigints for 64). */
  readonly min?: number | bigint;
  readonly max?: number | bigint;
  /** False for FP16: JSON has no half-precision numbers, so it travels only as binary data. */
  readonly json: boolean;
}

/** Largest finite float32, for range checks of FP32 JSON values. */
const FLOAT32_MAX = 3.4028234663852886e38;

const table: readonly V2DatatypeInfo[] = [
  { name: 'BOOL', dtype: 'bool', elementBytes: 1, kind: 'bool', json: true },
  { name: 'UINT8', dtype: 'uint8', elementBytes: 1, kind: 'integer', min: 0, max: 255, json: true },
  { name: 'UINT16', dtype: 'uint16', elementBytes: 2, kind: 'integer', min: 0, max: 65535, json: true },
  { name: 'UINT32', dtype: 'uint32', elementBytes: 4, kind: 'integer', min: 0, max: 4294967295, json: true },
  { name: 'UINT64', dtype: 'uint64', elementBytes: 8, kind: 'bigint', min: 0n, max: 18446744073709551615n, json: true },
  { name: 'INT8', dtype: 'int8', elementBytes: 1, kind: 'integer', min: -128, max: 127, json: true },
  { name: 'INT16', dtype: 'int16', elementBytes: 2, kind: 'integer', min: -32768, max: 32767, json: true },
  { name: 'INT32', dtype: 'int32', elementBytes: 4, kind: 'integer', min: -2147483648, max: 2147483647, json: true },
  { name: 'INT64', dtype: 'int64', elementBytes: 8, kind: 'bigint', min: -9223372036854775808n, max: 9223372036854775807n, json: true },
  { name: 'FP16', dtype: 'float16', elementBytes: 2, kind: 'float', json: false },
  { name: 'FP32', dtype: 'float32', elementBytes: 4, kind: 'float', max: FLOAT32_MAX, json: true },
  { name: 'FP64', dtype: 'float64', elementBytes: 8, kind: 'float', max: Number.MAX_VALUE, json: true },
  { name: 'BYTES', dtype: 'string', elementBytes: undefined, kind: 'bytes', json: true },
];

const byName = new Map<string, V2DatatypeInfo>(table.map((info) => [info.name, info]));
const byDtype = new Map<string, V2DatatypeInfo>(table.map((info) => [info.dtype, info]));

/** Every datatype the server accepts, in the protocol's order. */
export const servedDatatypes: readonly V2DatatypeInfo[] = table;

/** The datatype named `name` (case-sensitive, as the protocol says), or undefined. */
export function datatypeByName(name: string): V2DatatypeInfo | undefined {
  return byName.get(name);
}

/** The V2 datatype of a runtime dtype, or undefined for types the protocol cannot carry (int4, uint4). */
export function datatypeOfDtype(dtype: TensorDtype | 'non-tensor'): V2DatatypeInfo | undefined {
  return byDtype.get(dtype);
}

/** The datatype names as a list for error messages. */
export function datatypeNames(): string {
  return table.map((info) => info.name).join(', ');
}

/**
 * A zeroed typed array for `count` elements of a fixed-size datatype
 * (FP16 as its raw bits in a Uint16Array).
 * @throws Error for BYTES, whose elements have no fixed size.
 */
export function allocateFixedSize(info: V2DatatypeInfo, count: number): Exclude<TensorData, string[]> {
  switch (info.dtype) {
    case 'bool':
    case 'uint8': return new Uint8Array(count);
    case 'uint16':
    case 'float16': return new Uint16Array(count);
    case 'uint32': return new Uint32Array(count);
    case 'uint64': return new BigUint64Array(count);
    case 'int8': return new Int8Array(count);
    case 'int16': return new Int16Array(count);
    case 'int32': return new Int32Array(count);
    case 'int64': return new BigInt64Array(count);
    case 'float32': return new Float32Array(count);
    case 'float64': return new Float64Array(count);
    default: throw new Error(`datatype ${info.name} has no fixed element size`);
  }
}
