/**
 * The ONNX tensor element types (`TensorProto.DataType`): their names, sizes,
 * where a TensorProto stores them, and how mlctl decodes them.
 *
 * Facts follow the ONNX IR spec (onnx.in.proto comments on the `*_data`
 * fields and `raw_data`).
 */

import { ModelFormatError } from '../common/errors.js';
import { DataType } from './types.js';

/** A TensorProto repeated field that can hold tensor elements when `raw_data` is absent. */
export type TensorDataField = 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data' | 'stringData';

/**
 * The JavaScript container `tensorData()` decodes a type into. Float16,
 * bfloat16 and the float8/float4 types decode to their bit patterns;
 * sub-byte types decode one element per byte; complex types decode to
 * interleaved real/imaginary pairs; strings decode to UTF-8 byte arrays.
 */
export type DecodedArrayKind =
  | 'Float32Array'
  | 'Float64Array'
  | 'Int8Array'
  | 'Uint8Array'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'BigInt64Array'
  | 'BigUint64Array'
  | 'Uint8Array[]';

/** KServe V2 / Triton inference protocol tensor datatypes. */
export type KServeDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BF16'
  | 'BYTES';

/** What mlctl knows about one `TensorProto.DataType` value. */
export interface DataTypeInfo {
  /** The enum value, 0..26. */
  readonly dataType: number;
  /** mlctl's lower-case name, as shown to users and accepted on the command line (`float32`, `int4`). */
  readonly name: string;
  /** The ONNX enum name (`FLOAT`, `INT4`). */
  readonly onnxName: string;
  /** Storage bits per element in `raw_data` (4 and 2 for the packed types); undefined for STRING and UNDEFINED. */
  readonly bitsPerElement: number | undefined;
  /** The typed field that holds the elements when `raw_data` is absent; undefined for UNDEFINED. */
  readonly field: TensorDataField | undefined;
  /** What `tensorData()` returns; undefined for UNDEFINED. */
  readonly decodedAs: DecodedArrayKind | undefined;
  /** Decoded values per element: 2 for the complex types (real, imaginary), else 1. */
  readonly valuesPerElement: 1 | 2;
  /** The KServe V2 datatype, where the protocol has one. */
  readonly kserve: KServeDatatype | undefined;
  /** True for types whose elements are floating-point numbers (complex included). */
  readonly isFloat: boolean;
}

type Row = [
  name: string,
  onnxName: keyof typeof DataType,
  bits: number | undefined,
  field: TensorDataField | undefined,
  decodedAs: DecodedArrayKind | undefined,
  kserve: KServeDatatype | undefined,
  isFloat: boolean,
];

// Indexed by enum value; the order must follow TensorProto.DataType.
const rows: readonly Row[] = [
  ['undefined', 'UNDEFINED', undefined, undefined, undefined, undefined, false],
  ['float32', 'FLOAT', 32, 'floatData', 'Float32Array', 'FP32', true],
  ['uint8', 'UINT8', 8, 'int32Data', 'Uint8Array', 'UINT8', false],
  ['int8', 'INT8', 8, 'int32Data', 'Int8Array', 'INT8', false],
  ['uint16', 'UINT16', 16, 'int32Data', 'Uint16Array', 'UINT16', false],
  ['int16', 'INT16', 16, 'int32Data', 'Int16Array', 'INT16', false],
  ['int32', 'INT32', 32, 'int32Data', 'Int32Array', 'INT32', false],
  ['int64', 'INT64', 64, 'int64Data', 'BigInt64Array', 'INT64', false],
  ['string', 'STRING', undefined, 'stringData', 'Uint8Array[]', 'BYTES', false],
  ['bool', 'BOOL', 8, 'int32Data', 'Uint8Array', 'BOOL', false],
  ['float16', 'FLOAT16', 16, 'int32Data', 'Uint16Array', 'FP16', true],
  ['float64', 'DOUBLE', 64, 'doubleData', 'Float64Array', 'FP64', true],
  ['uint32', 'UINT32', 32, 'uint64Data', 'Uint32Array', 'UINT32', false],
  ['uint64', 'UINT64', 64, 'uint64Data', 'BigUint64Array', 'UINT64', false],
  ['complex64', 'COMPLEX64', 64, 'floatData', 'Float32Array', undefined, true],
  ['complex128', 'COMPLEX128', 128, 'doubleData', 'Float64Array', undefined, true],
  ['bfloat16', 'BFLOAT16', 16, 'int32Data', 'Uint16Array', 'BF16', true],
  ['float8e4m3fn', 'FLOAT8E4M3FN', 8, 'int32Data', 'Uint8Array', undefined, true],
  ['float8e4m3fnuz', 'FLOAT8E4M3FNUZ', 8, 'int32Data', 'Uint8Array', undefined, true],
  ['float8e5m2', 'FLOAT8E5M2', 8, 'int32Data', 'Uint8Array', undefined, true],
  ['float8e5m2fnuz', 'FLOAT8E5M2FNUZ', 8, 'int32Data', 'Uint8Array', undefined, true],
  ['uint4', 'UINT4', 4, 'int32Data', 'Uint8Array', undefined, false],
  ['int4', 'INT4', 4, 'int32Data', 'Int8Array', undefined, false],
  ['float4e2m1', 'FLOAT4E2M1', 4, 'int32Data', 'Uint8Array', undefined, true],
  ['float8e8m0', 'FLOAT8E8M0', 8, 'int32Data', 'Uint8Array', undefined, true],
  ['uint2', 'UINT2', 2, 'int32Data', 'Uint8Array', undefined, false],
  ['int2', 'INT2', 2, 'int32Data', 'Int8Array', undefined, false],
];

const infos: readonly DataTypeInfo[] = rows.map(
  ([name, onnxName, bitsPerElement, field, decodedAs, kserve, isFloat], dataType): DataTypeInfo => {
    if (DataType[onnxName] !== dataType) {
      throw new Error(`dtypes table out of order: ${onnxName} at index ${dataType}`);
    }
    return Object.freeze({
      dataType,
      name,
      onnxName,
      bitsPerElement,
      field,
      decodedAs,
      valuesPerElement: name.startsWith('complex') ? 2 : 1,
      kserve,
      isFloat,
    });
  },
);

const byName = new Map<string, number>();
for (const info of infos) {
  byName.set(info.name, info.dataType);
  byName.set(info.onnxName.toLowerCase(), info.dataType);
}

/** Every data type mlctl knows, indexed by enum value (0..26). */
export const allDataTypes: readonly DataTypeInfo[] = infos;

/** True if `dataType` is a `TensorProto.DataType` value mlctl knows (UNDEFINED included). */
export function isKnownDataType(dataType: number): boolean {
  return Number.isInteger(dataType) && dataType >= 0 && dataType < infos.length;
}

/**
 * The table entry of a data type.
 *
 * @throws ModelFormatError if `dataType` is not a known enum value.
 */
export function dataTypeInfo(dataType: number): DataTypeInfo {
  const info = isKnownDataType(dataType) ? infos[dataType] : undefined;
  if (info === undefined) {
    throw new ModelFormatError(
      `unknown tensor data type ${String(dataType)}; expected a TensorProto.DataType value 0..${infos.length - 1}`,
    );
  }
  return info;
}

/**
 * The display name of a data type (`float32`), or `unknown(31)` for a value
 * mlctl does not know. Never throws; use where a name is only shown.
 */
export function dataTypeName(dataType: number | undefined): string {
  if (dataType === undefined) return 'unknown(unset)';
  return isKnownDataType(dataType) ? (infos[dataType]?.name ?? '') : `unknown(${String(dataType)})`;
}

/**
 * Looks a data type up by mlctl name (`float16`) or ONNX enum name (`FLOAT16`,
 * `double`), case-insensitively. Returns undefined when there is none.
 */
export function dataTypeByName(name: string): number | undefined {
  return byName.get(name.toLowerCase());
}

/**
 * Bytes that `elementCount` elements take in `raw_data`, rounded up for the
 * packed 4-bit and 2-bit types (`ceil(n / 2)`, `ceil(n / 4)`).
 *
 * @throws ModelFormatError for an unknown type, for STRING and UNDEFINED
 *   (which have no fixed size), for a count that is not a non-negative
 *   integer, or when the size exceeds `Number.MAX_SAFE_INTEGER`.
 */
export function byteSizeOf(dataType: number, elementCount: number): number {
  const info = dataTypeInfo(dataType);
  if (info.bitsPerElement === undefined) {
    throw new ModelFormatError(`tensor data type ${info.name} has no fixed element size`);
  }
  if (!Number.isSafeInteger(elementCount) || elementCount < 0) {
    throw new ModelFormatError(`element count ${String(elementCount)} is not a non-negative integer`);
  }
  const bits = info.bitsPerElement;
  const bytes = bits >= 8 ? elementCount * (bits / 8) : Math.ceil(elementCount / (8 / bits));
  if (!Number.isSafeInteger(bytes)) {
    throw new ModelFormatError(`${String(elementCount)} elements of ${info.name} exceed the largest supported size`);
  }
  return bytes;
}
