import { describe, it, expect } from 'vitest';
import { MlctlError, ModelFormatError } from '../../src/common/errors.js';
import { float32ToFloat16Bits } from '../../src/onnx/float-arrays.js';
import { createTensor, tensorData, type TensorInput } from '../../src/onnx/tensor.js';
import { DataType } from '../../src/onnx/types.js';

describe('createTensor', () => {
  it('copies its input', () => {
    const values = Float32Array.of(1, 2);
    const tensor = createTensor('w', DataType.FLOAT, [2], values);
    values[0] = 9;
    expect(tensorData(tensor)).toEqual(Float32Array.of(1, 2));
  });

  it('copies Node Buffer inputs too', () => {
    const bits = Buffer.from([0x38, 0x40]);
    const tensor = createTensor('w', DataType.FLOAT8E4M3FN, [2], bits);
    bits[0] = 0;
    expect(tensor.rawData).toEqual(Uint8Array.of(0x38, 0x40));
    expect(tensor.rawData!.buffer).not.toBe(bits.buffer);
  });

  it('writes little-endian raw_data', () => {
    expect(Array.from(createTensor('w', DataType.INT16, [2], [1, -2]).rawData!)).toEqual([1, 0, 0xfe, 0xff]);
    expect(Array.from(createTensor('w', DataType.INT4, [3], [1, -1, 7]).rawData!)).toEqual([0xf1, 0x07]);
  });

  it('accepts bigint dims and float16 bit patterns from float32ToFloat16Bits', () => {
    const bits = float32ToFloat16Bits(Float32Array.of(1, 0.1));
    const tensor = createTensor('h', DataType.FLOAT16, [1n, 2n], bits);
    expect(tensor.dims).toEqual([1n, 2n]);
    expect(tensorData(tensor)).toEqual(Uint16Array.of(0x3c00, 0x2e66));
  });

  it.each([
    [DataType.FLOAT, [2, 3], [1, 2], "tensor 'w': 2 values given, but dims [2,3] of float32 need 6"],
    [DataType.COMPLEX64, [2], [1, 2], "tensor 'w': 2 values given, but dims [2] of complex64 need 4"],
    [DataType.FLOAT, [-1], [], "tensor 'w': dim -1 in [-1] is not a non-negative integer"],
    [DataType.FLOAT, [1.5], [1], "tensor 'w': dim 1.5 in [1.5] is not a non-negative integer"],
    [DataType.FLOAT, [1], ['1'], "tensor 'w': value '1' at index 0 is not a number, as float32 needs"],
    [DataType.FLOAT, [1], [1n], "tensor 'w': value 1n at index 0 is not a number, as float32 needs"],
    [DataType.UINT8, [2], [1, 256], "tensor 'w': value 256 at index 1 is not an integer in 0..255, as uint8 needs"],
    [DataType.INT8, [1], [-129], 'not an integer in -128..127'],
    [DataType.INT32, [1], [0.5], 'value 0.5 at index 0 is not an integer in -2147483648..2147483647'],
    [DataType.UINT32, [1], [-1], 'not an integer in 0..4294967295'],
    [DataType.INT4, [3], [0, 8, 1], "tensor 'w': value 8 at index 1 is not an integer in -8..7, as int4 needs"],
    [DataType.UINT4, [1], [-1], 'not an integer in 0..15'],
    [DataType.INT2, [1], [2], 'not an integer in -2..1'],
    [DataType.UINT2, [1], [4], 'not an integer in 0..3'],
    [DataType.INT64, [1], [2n ** 63n], "tensor 'w': value 9223372036854775808n at index 0 is not a int64 integer"],
    [DataType.UINT64, [1], [-1n], 'value -1n at index 0 is not a uint64 integer'],
    [DataType.INT64, [1], [2 ** 53], 'value 9007199254740992 at index 0 is not a int64 integer'],
    [DataType.BOOL, [1], [2], "tensor 'w': value 2 at index 0 is not a bool (true, false, 1 or 0)"],
    [DataType.FLOAT16, [1], [1], "tensor 'w': float16 values must be a Uint16Array of bit patterns"],
    [DataType.BFLOAT16, [1], new Uint8Array(1), 'bfloat16 values must be a Uint16Array of bit patterns'],
    [DataType.FLOAT8E4M3FN, [1], [0x38], 'float8e4m3fn values must be a Uint8Array of bit patterns'],
    [DataType.FLOAT8E8M0, [1], new Uint16Array(1), 'float8e8m0 values must be a Uint8Array of bit patterns'],
    [DataType.FLOAT4E2M1, [2], Uint8Array.of(1, 16), "tensor 'w': value 16 at index 1 is not a 4-bit float4e2m1 pattern (0..15)"],
    [DataType.STRING, [1], [1], "tensor 'w': value 1 at index 0 is not a string or Uint8Array"],
    [DataType.UNDEFINED, [1], [1], "tensor 'w': cannot create a tensor of data type undefined"],
  ] as [number, number[], TensorInput, string][])('data type %i, dims %o, values %o: rejected', (dataType, dims, data, message) => {
    const call = (): unknown => createTensor('w', dataType, dims, data);
    expect(call).toThrow(message);
    expect(call).toThrow(expect.objectContaining({ code: 'MLCTL_BAD_INPUT' }) as MlctlError);
  });

  it('hints at the encoder for bit-pattern types', () => {
    try {
      createTensor('w', DataType.FLOAT16, [1], [1]);
      expect.unreachable();
    } catch (error) {
      expect((error as MlctlError).hint).toBe('Convert numbers with float32ToFloat16Bits.');
    }
  });

  it('rejects unknown data types as malformed', () => {
    expect(() => createTensor('w', 42, [1], [1])).toThrow(ModelFormatError);
  });

  it('writes strings to string_data as UTF-8, copying byte arrays', () => {
    const bytes = Uint8Array.of(0xff, 0);
    const tensor = createTensor('s', DataType.STRING, [2], ['日本', bytes] as unknown as string[]);
    bytes[0] = 1;
    expect(tensor.stringData).toEqual([new TextEncoder().encode('日本'), Uint8Array.of(0xff, 0)]);
    expect(tensor.rawData).toBeUndefined();
  });
});
