import { describe, it, expect } from 'vitest';
import { ModelFormatError } from '../../src/common/errors.js';
import {
  allDataTypes,
  byteSizeOf,
  dataTypeByName,
  dataTypeInfo,
  dataTypeName,
  isKnownDataType,
} from '../../src/onnx/dtypes.js';
import { DataType } from '../../src/onnx/types.js';

// [enum, name, ONNX name, bits, field, decoded as, KServe datatype]
const table = [
  [0, 'undefined', 'UNDEFINED', undefined, undefined, undefined, undefined],
  [1, 'float32', 'FLOAT', 32, 'floatData', 'Float32Array', 'FP32'],
  [2, 'uint8', 'UINT8', 8, 'int32Data', 'Uint8Array', 'UINT8'],
  [3, 'int8', 'INT8', 8, 'int32Data', 'Int8Array', 'INT8'],
  [4, 'uint16', 'UINT16', 16, 'int32Data', 'Uint16Array', 'UINT16'],
  [5, 'int16', 'INT16', 16, 'int32Data', 'Int16Array', 'INT16'],
  [6, 'int32', 'INT32', 32, 'int32Data', 'Int32Array', 'INT32'],
  [7, 'int64', 'INT64', 64, 'int64Data', 'BigInt64Array', 'INT64'],
  [8, 'string', 'STRING', undefined, 'stringData', 'Uint8Array[]', 'BYTES'],
  [9, 'bool', 'BOOL', 8, 'int32Data', 'Uint8Array', 'BOOL'],
  [10, 'float16', 'FLOAT16', 16, 'int32Data', 'Uint16Array', 'FP16'],
  [11, 'float64', 'DOUBLE', 64, 'doubleData', 'Float64Array', 'FP64'],
  [12, 'uint32', 'UINT32', 32, 'uint64Data', 'Uint32Array', 'UINT32'],
  [13, 'uint64', 'UINT64', 64, 'uint64Data', 'BigUint64Array', 'UINT64'],
  [14, 'complex64', 'COMPLEX64', 64, 'floatData', 'Float32Array', undefined],
  [15, 'complex128', 'COMPLEX128', 128, 'doubleData', 'Float64Array', undefined],
  [16, 'bfloat16', 'BFLOAT16', 16, 'int32Data', 'Uint16Array', 'BF16'],
  [17, 'float8e4m3fn', 'FLOAT8E4M3FN', 8, 'int32Data', 'Uint8Array', undefined],
  [18, 'float8e4m3fnuz', 'FLOAT8E4M3FNUZ', 8, 'int32Data', 'Uint8Array', undefined],
  [19, 'float8e5m2', 'FLOAT8E5M2', 8, 'int32Data', 'Uint8Array', undefined],
  [20, 'float8e5m2fnuz', 'FLOAT8E5M2FNUZ', 8, 'int32Data', 'Uint8Array', undefined],
  [21, 'uint4', 'UINT4', 4, 'int32Data', 'Uint8Array', undefined],
  [22, 'int4', 'INT4', 4, 'int32Data', 'Int8Array', undefined],
  [23, 'float4e2m1', 'FLOAT4E2M1', 4, 'int32Data', 'Uint8Array', undefined],
  [24, 'float8e8m0', 'FLOAT8E8M0', 8, 'int32Data', 'Uint8Array', undefined],
  [25, 'uint2', 'UINT2', 2, 'int32Data', 'Uint8Array', undefined],
  [26, 'int2', 'INT2', 2, 'int32Data', 'Int8Array', undefined],
] as const;

describe('dataTypeInfo', () => {
  it('covers every TensorProto.DataType value', () => {
    expect(allDataTypes.map((info) => info.dataType)).toEqual(Object.values(DataType));
    expect(table.length).toBe(allDataTypes.length);
  });

  it.each(table)('%i is %s', (dt, name, onnxName, bits, field, decodedAs, kserve) => {
    const info = dataTypeInfo(dt);
    expect(info).toMatchObject({ dataType: dt, name, onnxName, bitsPerElement: bits, field, decodedAs, kserve });
    expect(info.valuesPerElement).toBe(name.startsWith('complex') ? 2 : 1);
    expect(DataType[onnxName]).toBe(dt);
    expect(dataTypeName(dt)).toBe(name);
    expect(dataTypeByName(name)).toBe(dt);
    expect(dataTypeByName(onnxName)).toBe(dt);
    expect(isKnownDataType(dt)).toBe(true);
  });

  it.each([27, 31, -1, 1.5, NaN])('rejects unknown value %s', (dt) => {
    expect(() => dataTypeInfo(dt)).toThrow(ModelFormatError);
    expect(isKnownDataType(dt)).toBe(false);
  });

  it('names the unknown value in the error', () => {
    expect(() => dataTypeInfo(31)).toThrow('unknown tensor data type 31; expected a TensorProto.DataType value 0..26');
  });
});

describe('dataTypeName', () => {
  it.each([
    [31, 'unknown(31)'],
    [-2, 'unknown(-2)'],
    [undefined, 'unknown(unset)'],
  ])('shows %s as %s', (dt, name) => {
    expect(dataTypeName(dt)).toBe(name);
  });

  it('looks names up case-insensitively and not unknown ones', () => {
    expect(dataTypeByName('Float16')).toBe(DataType.FLOAT16);
    expect(dataTypeByName('double')).toBe(DataType.DOUBLE);
    expect(dataTypeByName('fp17')).toBeUndefined();
  });
});

describe('byteSizeOf', () => {
  it.each(table.filter((row) => row[3] !== undefined))('%i (%s) rounds sub-byte sizes up', (dt, _name, _onnx, bits) => {
    for (const count of [0, 1, 2, 3, 4, 5, 7, 8, 1001]) {
      expect(byteSizeOf(dt, count)).toBe(Math.ceil((count * bits) / 8));
    }
  });

  it.each([
    [DataType.INT4, 3, 2],
    [DataType.UINT2, 5, 2],
    [DataType.FLOAT4E2M1, 1, 1],
    [DataType.COMPLEX128, 2, 32],
  ])('byteSizeOf(%i, %i) is %i', (dt, count, bytes) => {
    expect(byteSizeOf(dt, count)).toBe(bytes);
  });

  it.each([
    [DataType.STRING, 1, 'tensor data type string has no fixed element size'],
    [DataType.UNDEFINED, 1, 'tensor data type undefined has no fixed element size'],
    [99, 1, 'unknown tensor data type 99'],
    [DataType.FLOAT, -1, 'element count -1 is not a non-negative integer'],
    [DataType.FLOAT, 0.5, 'element count 0.5 is not a non-negative integer'],
    [DataType.DOUBLE, 2 ** 52, 'exceed the largest supported size'],
  ])('byteSizeOf(%i, %s) throws', (dt, count, message) => {
    expect(() => byteSizeOf(dt, count)).toThrow(message);
  });
});
