/**
 * Building TensorProto messages from JS values. Tensors are always written
 * to `raw_data` (little-endian, sub-byte types packed), except strings, which
 * ONNX requires in `string_data`.
 */

import { MlctlError } from '../common/errors.js';
import { dataTypeInfo, type DataTypeInfo } from './dtypes.js';
import { packSubByte, toLittleEndianBytes, type MultiByteArray } from './tensor-bytes.js';
import { formatDims, tensorElementCount, tensorLabel } from './tensor-shape.js';
import { DataType, type TensorProto } from './types.js';

/**
 * Element values accepted by {@link createTensor}; which ones a data type
 * takes is listed there.
 */
export type TensorInput =
  | ArrayLike<number>
  | ArrayLike<bigint>
  | ArrayLike<boolean>
  | ArrayLike<string>
  | ArrayLike<Uint8Array>;

// Inclusive value ranges of the integer types up to 32 bits.
const integerRanges: Partial<Record<number, readonly [number, number]>> = {
  [DataType.INT8]: [-128, 127],
  [DataType.UINT8]: [0, 255],
  [DataType.INT16]: [-32768, 32767],
  [DataType.UINT16]: [0, 65535],
  [DataType.INT32]: [-2147483648, 2147483647],
  [DataType.UINT32]: [0, 4294967295],
  [DataType.INT4]: [-8, 7],
  [DataType.UINT4]: [0, 15],
  [DataType.INT2]: [-2, 1],
  [DataType.UINT2]: [0, 3],
};

const float8Types = new Set<number>([
  DataType.FLOAT8E4M3FN,
  DataType.FLOAT8E4M3FNUZ,
  DataType.FLOAT8E5M2,
  DataType.FLOAT8E5M2FNUZ,
  DataType.FLOAT8E8M0,
]);

function badInput(message: string, hint?: string): MlctlError {
  return new MlctlError('MLCTL_BAD_INPUT', message, hint === undefined ? {} : { hint });
}

function toDims(label: string, dims: readonly number[] | readonly bigint[]): bigint[] {
  return dims.map((dim: number | bigint) => {
    const valid = typeof dim === 'bigint' ? dim >= 0n : Number.isSafeInteger(dim) && dim >= 0;
    if (!valid) {
      throw badInput(`${label}: dim ${String(dim)} in ${formatDims(dims)} is not a non-negative integer`);
    }
    return BigInt(dim);
  });
}

/**
 * Creates a dense tensor. `data` holds the elements in row-major order, as:
 * - float32, float64: numbers; complex64, complex128: numbers, interleaved
 *   (real, imaginary), twice the element count;
 * - int8 … uint32, int4, uint4, int2, uint2: integers (numbers) in the type's range;
 * - int64, uint64: bigints or safe-integer numbers in range;
 * - bool: booleans or the numbers 0 and 1;
 * - float16, bfloat16: a Uint16Array of bit patterns (see float-arrays.ts);
 * - float8 types, float8e8m0: a Uint8Array of bit patterns; float4e2m1: a
 *   Uint8Array of 4-bit patterns, one per element;
 * - string: strings (written as UTF-8) or UTF-8 byte arrays.
 *
 * Typed-array inputs are always copied (`new Uint8Array(x)`, never
 * `x.slice()`, which shares memory for a Node Buffer).
 *
 * The result is a complete TensorProto: every repeated field an array, the
 * data in `raw_data` (copied: later changes to `data` do not affect it), or
 * in `string_data` for strings.
 *
 * @throws MlctlError (`MLCTL_BAD_INPUT`) if a dim is negative or not an
 *   integer, the number of values does not match the dims, or a value does
 *   not fit the data type.
 * @throws ModelFormatError for an unknown data type or more than
 *   `Number.MAX_SAFE_INTEGER` elements.
 */
export function createTensor(
  name: string,
  dataType: number,
  dims: readonly number[] | readonly bigint[],
  data: TensorInput,
): TensorProto {
  const info = dataTypeInfo(dataType);
  const label = tensorLabel({ name });
  if (info.dataType === DataType.UNDEFINED) throw badInput(`${label}: cannot create a tensor of data type undefined`);
  const tensorDims = toDims(label, dims);
  const needed = tensorElementCount({ name, dims: tensorDims }) * info.valuesPerElement;
  if (data.length !== needed) {
    throw badInput(`${label}: ${data.length} values given, but dims ${formatDims(tensorDims)} of ${info.name} need ${needed}`);
  }
  const stringData = info.dataType === DataType.STRING ? encodeStrings(label, data) : [];
  return {
    dims: tensorDims,
    dataType: info.dataType,
    floatData: [],
    int32Data: [],
    stringData,
    int64Data: [],
    name,
    ...(info.dataType === DataType.STRING ? {} : { rawData: encodeRaw(label, info, data) }),
    externalData: [],
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
  };
}

function encodeStrings(label: string, data: TensorInput): Uint8Array[] {
  const encoder = new TextEncoder();
  return Array.from(data as ArrayLike<unknown>, (value, index) => {
    if (typeof value === 'string') return encoder.encode(value);
    if (value instanceof Uint8Array) return new Uint8Array(value);
    throw badInput(`${label}: value ${describe(value)} at index ${index} is not a string or Uint8Array`);
  });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return 'Uint8Array';
  return String(value);
}

function isNumberArray(data: TensorInput): data is ArrayLike<number> {
  if (ArrayBuffer.isView(data)) return !(data instanceof BigInt64Array || data instanceof BigUint64Array);
  for (let i = 0; i < data.length; i++) if (typeof data[i] !== 'number') return false;
  return true;
}

function requireNumbers(label: string, info: DataTypeInfo, data: TensorInput): ArrayLike<number> {
  if (isNumberArray(data)) return data;
  const index = Array.prototype.findIndex.call(data, (value: unknown) => typeof value !== 'number');
  throw badInput(`${label}: value ${describe(data[index])} at index ${index} is not a number, as ${info.name} needs`);
}

function requireIntegers(label: string, info: DataTypeInfo, data: TensorInput): ArrayLike<number> {
  const numbers = requireNumbers(label, info, data);
  const [min, max] = integerRanges[info.dataType] ?? [0, 0];
  for (let i = 0; i < numbers.length; i++) {
    const value = numbers[i]!;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw badInput(`${label}: value ${value} at index ${i} is not an integer in ${min}..${max}, as ${info.name} needs`);
    }
  }
  return numbers;
}

function requireBitPatterns<T extends Uint8Array | Uint16Array>(
  label: string,
  info: DataTypeInfo,
  data: TensorInput,
  kind: new (length: number) => T,
  convert: string,
): T {
  if (data instanceof kind) return data;
  throw badInput(`${label}: ${info.name} values must be a ${kind.name} of bit patterns`, `Convert numbers with ${convert}.`);
}

function requireBigInts(label: string, info: DataTypeInfo, data: TensorInput, signed: boolean): MultiByteArray {
  const out = signed ? new BigInt64Array(data.length) : new BigUint64Array(data.length);
  const bits = 64;
  for (let i = 0; i < data.length; i++) {
    const value: unknown = data[i];
    const big = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
    const inRange = big !== undefined && (signed ? BigInt.asIntN(bits, big) : BigInt.asUintN(bits, big)) === big;
    if (!inRange) {
      throw badInput(`${label}: value ${describe(value)} at index ${i} is not a ${info.name} integer`);
    }
    out[i] = big;
  }
  return out;
}

function requireBools(label: string, data: TensorInput): Uint8Array {
  return Uint8Array.from(data as ArrayLike<unknown>, (value, index) => {
    if (value === true || value === 1) return 1;
    if (value === false || value === 0) return 0;
    throw badInput(`${label}: value ${describe(value)} at index ${index} is not a bool (true, false, 1 or 0)`);
  });
}

function encodeRaw(label: string, info: DataTypeInfo, data: TensorInput): Uint8Array {
  const dt = info.dataType;
  switch (dt) {
    case DataType.FLOAT:
    case DataType.COMPLEX64:
      return toLittleEndianBytes(Float32Array.from(requireNumbers(label, info, data)));
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      return toLittleEndianBytes(Float64Array.from(requireNumbers(label, info, data)));
    case DataType.INT8:
      return new Uint8Array(Int8Array.from(requireIntegers(label, info, data)).buffer);
    case DataType.UINT8:
      return Uint8Array.from(requireIntegers(label, info, data));
    case DataType.INT16:
      return toLittleEndianBytes(Int16Array.from(requireIntegers(label, info, data)));
    case DataType.UINT16:
      return toLittleEndianBytes(Uint16Array.from(requireIntegers(label, info, data)));
    case DataType.INT32:
      return toLittleEndianBytes(Int32Array.from(requireIntegers(label, info, data)));
    case DataType.UINT32:
      return toLittleEndianBytes(Uint32Array.from(requireIntegers(label, info, data)));
    case DataType.INT64:
    case DataType.UINT64:
      return toLittleEndianBytes(requireBigInts(label, info, data, dt === DataType.INT64));
    case DataType.BOOL:
      return requireBools(label, data);
    case DataType.FLOAT16:
      return toLittleEndianBytes(new Uint16Array(requireBitPatterns(label, info, data, Uint16Array, 'float32ToFloat16Bits')));
    case DataType.BFLOAT16:
      return toLittleEndianBytes(new Uint16Array(requireBitPatterns(label, info, data, Uint16Array, 'float32ToBfloat16Bits')));
    case DataType.INT4:
    case DataType.UINT4:
      return packSubByte(requireIntegers(label, info, data), 4);
    case DataType.INT2:
    case DataType.UINT2:
      return packSubByte(requireIntegers(label, info, data), 2);
    case DataType.FLOAT4E2M1: {
      const patterns = requireBitPatterns(label, info, data, Uint8Array, 'encodeFloat4E2M1');
      const bad = patterns.findIndex((bits) => bits > 0xf);
      if (bad >= 0) throw badInput(`${label}: value ${patterns[bad]} at index ${bad} is not a 4-bit float4e2m1 pattern (0..15)`);
      return packSubByte(patterns, 4);
    }
    default:
      if (float8Types.has(dt)) {
        return new Uint8Array(requireBitPatterns(label, info, data, Uint8Array, `the ${info.name} encoder in float-formats.ts`));
      }
      throw new Error(`no raw encoder for ${info.name}`);
  }
}
