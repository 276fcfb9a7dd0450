/**
 * Decoding a TensorProto's elements to typed arrays, from `raw_data`, from
 * externally stored bytes, or from the typed `*_data` fields.
 */

import { ModelFormatError, MlctlError } from '../common/errors.js';
import { byteSizeOf, dataTypeInfo, type DataTypeInfo, type TensorDataField } from './dtypes.js';
import { isMultiByteKind, readLittleEndian, unpackSubByte } from './tensor-bytes.js';
import { formatDims, tensorElementCount, tensorLabel } from './tensor-shape.js';
import { DataLocation, DataType, type TensorProto } from './types.js';

/**
 * Decoded tensor elements; which kind a data type gives is
 * `dataTypeInfo(dt).decodedAs`:
 * - float32, float64, the integer types: their own typed array (int64 and
 *   uint64 as BigInt64Array / BigUint64Array);
 * - bool: Uint8Array of 0 and 1;
 * - float16, bfloat16: Uint16Array of bit patterns (see float-arrays.ts);
 * - float8 types, float8e8m0: Uint8Array of bit patterns;
 * - int4, int2: Int8Array, one sign-extended element per byte; uint4, uint2:
 *   Uint8Array, one element per byte; float4e2m1: Uint8Array of 4-bit patterns;
 * - complex64, complex128: Float32Array / Float64Array of interleaved
 *   (real, imaginary) pairs, twice the element count long;
 * - string: Uint8Array[] of UTF-8 bytes.
 */
export type TensorValues =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Uint8Array[];

/** Options of {@link tensorData}. */
export interface TensorDataOptions {
  /**
   * The tensor's bytes when they are stored outside the model (external
   * data), as read by the caller; used instead of `raw_data`. Same layout as
   * `raw_data`.
   */
  raw?: Uint8Array;
}

const protoFieldName: Record<TensorDataField, string> = {
  floatData: 'float_data',
  int32Data: 'int32_data',
  int64Data: 'int64_data',
  doubleData: 'double_data',
  uint64Data: 'uint64_data',
  stringData: 'string_data',
};

function tensorTypeInfo(tensor: TensorProto): DataTypeInfo {
  if (tensor.dataType === undefined || tensor.dataType === DataType.UNDEFINED) {
    throw new ModelFormatError(`${tensorLabel(tensor)} has no data_type; every tensor must set one`);
  }
  try {
    return dataTypeInfo(tensor.dataType);
  } catch (error) {
    throw new ModelFormatError(
      `${tensorLabel(tensor)} has unknown data_type ${tensor.dataType}; expected a TensorProto.DataType value 1..26`,
      { cause: error, hint: 'The model may need a newer ONNX version than mlctl supports.' },
    );
  }
}

function sizeMismatch(
  tensor: TensorProto,
  info: DataTypeInfo,
  source: string,
  held: number,
  needed: number,
  unit: string,
): ModelFormatError {
  return new ModelFormatError(
    `${tensorLabel(tensor)}: ${source} holds ${held} ${unit}, but dims ${formatDims(tensor.dims)} of ${info.name} need ${needed}`,
  );
}

/**
 * Decodes the elements of a dense tensor, in row-major order.
 *
 * The source is `options.raw` if given, else `raw_data` if present, else the
 * type's `*_data` field. Data read from bytes (`raw`/`raw_data`) is a
 * zero-copy view when the bytes are suitably aligned (always for one-byte
 * types): do not mutate the result, copy it first. Unaligned bytes are
 * copied, never read through a misaligned view. Sizes are checked before any
 * allocation, so bogus dims cannot make mlctl allocate memory.
 *
 * @throws ModelFormatError if the data type is missing or unknown, dims are
 *   invalid, the data holds more or fewer elements than the dims need,
 *   strings are in bytes rather than `string_data`, or the data is stored
 *   externally and `options.raw` was not given.
 * @throws MlctlError (`MLCTL_UNSUPPORTED`) for segmented tensors.
 */
export function tensorData(tensor: TensorProto, options: TensorDataOptions = {}): TensorValues {
  const info = tensorTypeInfo(tensor);
  if (tensor.segment !== undefined) {
    throw new MlctlError('MLCTL_UNSUPPORTED', `${tensorLabel(tensor)} is stored in segments, which mlctl does not support`);
  }
  const count = tensorElementCount(tensor);
  if (options.raw !== undefined) return decodeBytes(tensor, info, options.raw, 'external data', count);
  if (tensor.dataLocation === DataLocation.EXTERNAL) {
    const location = tensor.externalData.find((entry) => entry.key === 'location')?.value ?? '';
    throw new ModelFormatError(`${tensorLabel(tensor)} keeps its data in external file '${location}', which was not loaded`, {
      hint: 'Load the external data and pass its bytes as options.raw.',
    });
  }
  if (tensor.rawData !== undefined) return decodeBytes(tensor, info, tensor.rawData, 'raw_data', count);
  return decodeField(tensor, info, count);
}

/**
 * Checks, without decoding or allocating, that a dense tensor's stored data
 * holds exactly the elements its dims imply. External and segmented tensors
 * are not checked here (their bytes are elsewhere).
 * @returns the element count.
 * @throws ModelFormatError as {@link tensorData} does.
 */
export function checkTensorStorage(tensor: TensorProto): number {
  const info = tensorTypeInfo(tensor);
  const count = tensorElementCount(tensor);
  if (tensor.segment !== undefined || tensor.dataLocation === DataLocation.EXTERNAL) return count;
  if (tensor.rawData !== undefined) {
    if (info.dataType === DataType.STRING) {
      throw new ModelFormatError(`${tensorLabel(tensor)}: string tensors must keep their values in string_data, not raw_data`);
    }
    const needed = neededBytes(tensor, info, count);
    if (tensor.rawData.length !== needed) throw sizeMismatch(tensor, info, 'raw_data', tensor.rawData.length, needed, 'bytes');
    return count;
  }
  const field = info.field;
  if (field === undefined) throw new Error(`no typed field for ${info.name}`);
  const needed = expectedFieldLength(info, count);
  if (tensor[field].length !== needed) throw sizeMismatch(tensor, info, protoFieldName[field], tensor[field].length, needed, 'values');
  return count;
}

function decodeBytes(tensor: TensorProto, info: DataTypeInfo, bytes: Uint8Array, source: string, count: number): TensorValues {
  if (info.dataType === DataType.STRING) {
    throw new ModelFormatError(`${tensorLabel(tensor)}: string tensors must keep their values in string_data, not ${source}`);
  }
  const needed = neededBytes(tensor, info, count);
  if (bytes.length !== needed) throw sizeMismatch(tensor, info, source, bytes.length, needed, 'bytes');

  const bits = info.bitsPerElement;
  if (bits === 4 || bits === 2) return unpackSubByte(bytes, bits, count, info.decodedAs === 'Int8Array');
  switch (info.decodedAs) {
    case 'Int8Array':
      return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    case 'Uint8Array':
      return info.dataType === DataType.BOOL ? normalizeBool(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    default:
      if (info.decodedAs !== undefined && isMultiByteKind(info.decodedAs)) return readLittleEndian(bytes, info.decodedAs);
      throw new Error(`no byte decoder for ${info.name}`);
  }
}

function neededBytes(tensor: TensorProto, info: DataTypeInfo, count: number): number {
  try {
    return byteSizeOf(info.dataType, count);
  } catch (error) {
    throw new ModelFormatError(`${tensorLabel(tensor)}: dims ${formatDims(tensor.dims)} of ${info.name} need more bytes than mlctl supports`, {
      cause: error,
    });
  }
}

/** Bools as 0/1; a view when the bytes already are, else a normalized copy. */
function normalizeBool(bytes: Uint8Array): Uint8Array {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.every((byte) => byte <= 1)) return view;
  return view.map((byte) => (byte === 0 ? 0 : 1));
}

function expectedFieldLength(info: DataTypeInfo, count: number): number {
  if (info.bitsPerElement === 4) return Math.ceil(count / 2);
  if (info.bitsPerElement === 2) return Math.ceil(count / 4);
  return count * info.valuesPerElement;
}

function decodeField(tensor: TensorProto, info: DataTypeInfo, count: number): TensorValues {
  const field = info.field;
  if (field === undefined) throw new Error(`no typed field for ${info.name}`);
  const values = tensor[field];
  const needed = expectedFieldLength(info, count);
  if (values.length !== needed) {
    throw sizeMismatch(tensor, info, protoFieldName[field], values.length, needed, 'values');
  }
  switch (field) {
    case 'stringData':
      return tensor.stringData.slice();
    case 'floatData':
      return new Float32Array(tensor.floatData);
    case 'doubleData':
      return new Float64Array(tensor.doubleData);
    case 'int64Data':
      return new BigInt64Array(tensor.int64Data);
    case 'uint64Data':
      return info.dataType === DataType.UINT32
        ? Uint32Array.from(tensor.uint64Data, (value) => Number(BigInt.asUintN(32, value)))
        : new BigUint64Array(tensor.uint64Data);
    case 'int32Data':
      return decodeInt32Field(tensor.int32Data, info, count);
  }
}

/**
 * int32_data holds one element per entry (float16/bfloat16 and float8 as bit
 * patterns in the low bits), or one packed byte per entry for 4-bit and
 * 2-bit types. Typed-array construction keeps the low bits, as ONNX's own
 * reader does.
 */
function decodeInt32Field(values: number[], info: DataTypeInfo, count: number): TensorValues {
  const bits = info.bitsPerElement;
  if (bits === 4 || bits === 2) return unpackSubByte(values, bits, count, info.decodedAs === 'Int8Array');
  if (info.dataType === DataType.BOOL) return Uint8Array.from(values, (value) => (value === 0 ? 0 : 1));
  switch (info.decodedAs) {
    case 'Int8Array':
      return new Int8Array(values);
    case 'Uint8Array':
      return new Uint8Array(values);
    case 'Int16Array':
      return new Int16Array(values);
    case 'Uint16Array':
      return new Uint16Array(values);
    case 'Int32Array':
      return new Int32Array(values);
    default:
      throw new Error(`no int32_data decoder for ${info.name}`);
  }
}
