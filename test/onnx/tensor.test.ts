import { describe, it, expect } from 'vitest';
import { MlctlError, ModelFormatError } from '../../src/common/errors.js';
import { dataTypeInfo } from '../../src/onnx/dtypes.js';
import { createTensor, tensorData, tensorDims, tensorElementCount, type TensorInput, type TensorValues } from '../../src/onnx/tensor.js';
import { DataLocation, DataType, type TensorProto } from '../../src/onnx/types.js';

const all256 = Uint8Array.from({ length: 256 }, (_, i) => i);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

// [data type, dims, createTensor input, what tensorData gives back]
const roundTrips: [number, number[], TensorInput, TensorValues][] = [
  [DataType.FLOAT, [2, 3], [1, -2, 0.5, Infinity, -0, NaN], Float32Array.of(1, -2, 0.5, Infinity, -0, NaN)],
  [DataType.UINT8, [4], [0, 1, 254, 255], Uint8Array.of(0, 1, 254, 255)],
  [DataType.INT8, [3], Int8Array.of(-128, 0, 127), Int8Array.of(-128, 0, 127)],
  [DataType.UINT16, [3], [0, 1, 65535], Uint16Array.of(0, 1, 65535)],
  [DataType.INT16, [3], [-32768, 1, 32767], Int16Array.of(-32768, 1, 32767)],
  [DataType.INT32, [2], [-2147483648, 2147483647], Int32Array.of(-2147483648, 2147483647)],
  [DataType.INT64, [3], [-(2n ** 63n), 5, 2n ** 63n - 1n] as unknown as bigint[], BigInt64Array.of(-(2n ** 63n), 5n, 2n ** 63n - 1n)],
  [DataType.STRING, [2], ['héllo', ''], [utf8('héllo'), new Uint8Array(0)]],
  [DataType.BOOL, [3], [true, false, 1] as unknown as boolean[], Uint8Array.of(1, 0, 1)],
  [DataType.FLOAT16, [2], Uint16Array.of(0x3c00, 0xfc00), Uint16Array.of(0x3c00, 0xfc00)],
  [DataType.DOUBLE, [2], [Math.PI, -1e300], Float64Array.of(Math.PI, -1e300)],
  [DataType.UINT32, [2], [0, 4294967295], Uint32Array.of(0, 4294967295)],
  [DataType.UINT64, [2], [0n, 2n ** 64n - 1n], BigUint64Array.of(0n, 2n ** 64n - 1n)],
  [DataType.COMPLEX64, [2], [1, 2, 3, 4], Float32Array.of(1, 2, 3, 4)],
  [DataType.COMPLEX128, [1], [1.5, -2.5], Float64Array.of(1.5, -2.5)],
  [DataType.BFLOAT16, [1, 3], Uint16Array.of(0x3f80, 0x7fc0, 0x8001), Uint16Array.of(0x3f80, 0x7fc0, 0x8001)],
  [DataType.FLOAT8E4M3FN, [256], all256, all256],
  [DataType.FLOAT8E4M3FNUZ, [16, 16], all256, all256],
  [DataType.FLOAT8E5M2, [256], all256, all256],
  [DataType.FLOAT8E5M2FNUZ, [2, 128], all256, all256],
  [DataType.UINT4, [5], [0, 15, 7, 8, 3], Uint8Array.of(0, 15, 7, 8, 3)],
  [DataType.INT4, [5], [-8, 7, -1, 0, 3], Int8Array.of(-8, 7, -1, 0, 3)],
  [DataType.FLOAT4E2M1, [3], Uint8Array.of(0xf, 0x1, 0x8), Uint8Array.of(0xf, 0x1, 0x8)],
  [DataType.FLOAT8E8M0, [256], all256, all256],
  [DataType.UINT2, [7], [0, 1, 2, 3, 3, 2, 1], Uint8Array.of(0, 1, 2, 3, 3, 2, 1)],
  [DataType.INT2, [5], [-2, -1, 0, 1, -2], Int8Array.of(-2, -1, 0, 1, -2)],
];

/** The same tensor with its elements in the typed `*_data` field instead of raw_data. */
function toTypedField(tensor: TensorProto, decoded: TensorValues): TensorProto {
  const info = dataTypeInfo(tensor.dataType ?? 0);
  const copy: TensorProto = { ...tensor, rawData: undefined };
  if (Array.isArray(decoded)) return copy;
  const bits = info.bitsPerElement ?? 0;
  switch (info.field) {
    case 'floatData':
      return { ...copy, floatData: Array.from(decoded as Float32Array) };
    case 'doubleData':
      return { ...copy, doubleData: Array.from(decoded as Float64Array) };
    case 'int64Data':
      return { ...copy, int64Data: Array.from(decoded as BigInt64Array) };
    case 'uint64Data':
      return { ...copy, uint64Data: Array.from(decoded as ArrayLike<number | bigint>, (v) => BigInt(v)) };
    case 'int32Data':
      // Packed types keep their packing in int32_data: one byte per entry.
      return { ...copy, int32Data: Array.from(bits < 8 ? tensor.rawData! : (decoded as ArrayLike<number>)) };
    default:
      throw new Error(`no typed field for ${info.name}`);
  }
}

function placeAt(bytes: Uint8Array, offset: number): Uint8Array {
  const view = new Uint8Array(new ArrayBuffer(bytes.length + offset + 8), offset, bytes.length);
  view.set(bytes);
  return view;
}

describe.each(roundTrips)('data type %i', (dataType, dims, input, expected) => {
  const info = dataTypeInfo(dataType);
  const tensor = createTensor('w', dataType, dims, input);

  it('createTensor writes a complete TensorProto', () => {
    expect(tensor).toMatchObject({ name: 'w', dataType, dims: dims.map(BigInt), externalData: [], metadataProps: [] });
    for (const field of ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data'] as const) {
      expect(tensor[field]).toEqual([]);
    }
    if (dataType === DataType.STRING) {
      expect(tensor.rawData).toBeUndefined();
    } else {
      expect(tensor.stringData).toEqual([]);
      expect(tensor.rawData?.length).toBe(Math.ceil((tensorElementCount(tensor) * (info.bitsPerElement ?? 0)) / 8));
    }
  });

  it(`tensorData gives back a ${info.decodedAs}`, () => {
    expect(tensorData(tensor)).toEqual(expected);
  });

  it('decodes the typed field exactly as raw_data', () => {
    expect(tensorData(toTypedField(tensor, expected))).toEqual(expected);
  });

  // Strings never live in raw_data (a string tensor with raw_data is refused: see the tensorData error table), so these two are for byte types.
  if (dataType === DataType.STRING) return;

  it('decodes raw_data and external bytes at unaligned offsets', () => {
    for (const offset of [1, 2, 3, 5]) {
      const raw = placeAt(tensor.rawData!, offset);
      expect(tensorData({ ...tensor, rawData: raw })).toEqual(expected);
      const external: TensorProto = { ...tensor, rawData: undefined, dataLocation: DataLocation.EXTERNAL };
      expect(tensorData(external, { raw })).toEqual(expected);
    }
  });

  it('rejects raw_data one byte short or long', () => {
    const raw = tensor.rawData!;
    const needed = raw.length;
    const label = `tensor 'w': raw_data holds`;
    expect(() => tensorData({ ...tensor, rawData: raw.subarray(1) })).toThrow(`${label} ${needed - 1} bytes`);
    const longer = new Uint8Array(needed + 1);
    longer.set(raw);
    expect(() => tensorData({ ...tensor, rawData: longer })).toThrow(`${label} ${needed + 1} bytes`);
  });
});

describe('tensorData', () => {
  const base = createTensor('w', DataType.FLOAT, [2, 3], [1, 2, 3, 4, 5, 6]);

  it('returns a zero-copy view of aligned raw_data and a copy of unaligned', () => {
    const aligned = placeAt(base.rawData!, 8);
    expect((tensorData({ ...base, rawData: aligned }) as Float32Array).buffer).toBe(aligned.buffer);
    const unaligned = placeAt(base.rawData!, 3);
    const decoded = tensorData({ ...base, rawData: unaligned }) as Float32Array;
    expect(decoded.buffer).not.toBe(unaligned.buffer);
    expect(decoded.byteOffset % 4).toBe(0);
  });

  it('copies unaligned raw_data that is a Node Buffer (whose slice() shares memory)', () => {
    const file = Buffer.alloc(64, 0xee);
    file.set(base.rawData!, 13);
    const rawData = file.subarray(13, 13 + 24);
    expect(tensorData({ ...base, rawData })).toEqual(Float32Array.of(1, 2, 3, 4, 5, 6));
    expect(tensorData(base, { raw: rawData })).toEqual(Float32Array.of(1, 2, 3, 4, 5, 6));
  });

  it.each([
    [{ rawData: new Uint8Array(12) }, "tensor 'w': raw_data holds 12 bytes, but dims [2,3] of float32 need 24"],
    [{ rawData: undefined, floatData: [1, 2, 3, 4, 5] }, "tensor 'w': float_data holds 5 values, but dims [2,3] of float32 need 6"],
    [{ rawData: undefined }, "tensor 'w': float_data holds 0 values, but dims [2,3] of float32 need 6"],
    [{ rawData: undefined, int32Data: [1, 2, 3, 4, 5, 6] }, "tensor 'w': float_data holds 0 values"],
    [{ dims: [2n, -3n] }, "tensor 'w': dims [2,-3] hold a negative dimension (-3); tensor dims must be 0 or more"],
    [{ dims: [2n ** 32n, 2n ** 32n] }, "tensor 'w': dims [4294967296,4294967296] make 18446744073709551616 elements, more than the 9007199254740991 mlctl supports"],
    [{ dims: [2n ** 40n, 2n ** 12n] }, "tensor 'w': dims [1099511627776,4096] of float32 need more bytes than mlctl supports"],
    [{ dataType: 31 }, "tensor 'w' has unknown data_type 31; expected a TensorProto.DataType value 1..26"],
    [{ dataType: undefined }, "tensor 'w' has no data_type; every tensor must set one"],
    [{ dataType: DataType.UNDEFINED, name: '' }, 'unnamed tensor has no data_type'],
    [{ dataType: DataType.STRING }, "tensor 'w': string tensors must keep their values in string_data, not raw_data"],
    [
      { rawData: undefined, dataLocation: DataLocation.EXTERNAL, externalData: [{ key: 'location', value: 'w.bin' }] },
      "tensor 'w' keeps its data in external file 'w.bin', which was not loaded",
    ],
  ] as [Partial<TensorProto>, string][])('rejects %o', (change, message) => {
    const call = (): TensorValues => tensorData({ ...base, ...change });
    expect(call).toThrow(ModelFormatError);
    expect(call).toThrow(message);
  });

  it('checks sizes before allocating for huge claimed dims', () => {
    const huge = { ...base, dims: [1_000_000_000n, 1_000_000n] };
    expect(() => tensorData(huge)).toThrow('raw_data holds 24 bytes, but dims [1000000000,1000000] of float32 need 4000000000000000');
    expect(() => tensorData({ ...huge, rawData: undefined, floatData: [1] })).toThrow('float_data holds 1 values');
    expect(() => tensorData({ ...huge, dataType: DataType.STRING, rawData: undefined })).toThrow('string_data holds 0 values');
  });

  it('rejects segmented tensors as unsupported', () => {
    expect(() => tensorData({ ...base, segment: { begin: 0n, end: 3n } })).toThrow(
      expect.objectContaining({ code: 'MLCTL_UNSUPPORTED' }) as MlctlError,
    );
  });

  it('prefers options.raw over raw_data', () => {
    const other = createTensor('w', DataType.FLOAT, [2, 3], [6, 5, 4, 3, 2, 1]);
    expect(Array.from(tensorData(base, { raw: other.rawData! }) as Float32Array)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(() => tensorData(base, { raw: new Uint8Array(4) })).toThrow("tensor 'w': external data holds 4 bytes");
  });

  it.each([
    [DataType.INT4, [3], [-8, 0x1f7], Int8Array.of(-8, -1, 7)],
    [DataType.UINT4, [3], [0xf8, 0x07], Uint8Array.of(8, 15, 7)],
    [DataType.INT2, [5], [0b11100100, 0b10], Int8Array.of(0, 1, -2, -1, -2)],
    [DataType.UINT2, [2], [0b1110], Uint8Array.of(2, 3)],
    [DataType.FLOAT4E2M1, [3], [0x8f, 0x01], Uint8Array.of(0xf, 0x8, 0x1)],
    [DataType.FLOAT16, [2], [0x3c00, -1024], Uint16Array.of(0x3c00, 0xfc00)],
    [DataType.BFLOAT16, [1], [0x13f80], Uint16Array.of(0x3f80)],
    [DataType.FLOAT8E5M2, [2], [0x7c, -1], Uint8Array.of(0x7c, 0xff)],
    [DataType.BOOL, [3], [0, 1, 5], Uint8Array.of(0, 1, 1)],
    [DataType.INT8, [2], [-1, 255], Int8Array.of(-1, -1)],
    [DataType.UINT16, [1], [-1], Uint16Array.of(65535)],
  ])('decodes int32_data of data type %i: %o', (dataType, dims, int32Data, expected) => {
    const tensor: TensorProto = { ...base, dataType, dims: dims.map(BigInt), rawData: undefined, int32Data };
    expect(tensorData(tensor)).toEqual(expected);
  });

  it('rejects packed int32_data with the wrong count', () => {
    const tensor: TensorProto = { ...base, dataType: DataType.INT4, dims: [5n], rawData: undefined, int32Data: [1, 2] };
    expect(() => tensorData(tensor)).toThrow("tensor 'w': int32_data holds 2 values, but dims [5] of int4 need 3");
  });

  it('normalizes raw bools to 0 and 1', () => {
    const tensor: TensorProto = { ...base, dataType: DataType.BOOL, dims: [3n], rawData: Uint8Array.of(0, 1, 7) };
    expect(tensorData(tensor)).toEqual(Uint8Array.of(0, 1, 1));
  });

  it('decodes a scalar and an empty tensor', () => {
    expect(tensorData(createTensor('s', DataType.INT32, [], [42]))).toEqual(Int32Array.of(42));
    expect(tensorData(createTensor('e', DataType.FLOAT, [0, 5], []))).toEqual(new Float32Array(0));
    expect(tensorData({ ...base, dims: [0n], rawData: undefined })).toEqual(new Float32Array(0));
  });
});

describe('tensorElementCount and tensorDims', () => {
  const tensor = (dims: bigint[]): TensorProto => ({ ...createTensor('t', DataType.FLOAT, [], [0]), dims });

  it.each([
    [[], 1, []],
    [[0n], 0, [0]],
    [[2n, 3n, 4n], 24, [2, 3, 4]],
    [[0n, 2n ** 60n], 0, undefined],
    [[2n ** 53n - 1n], Number.MAX_SAFE_INTEGER, [Number.MAX_SAFE_INTEGER]],
  ])('dims %o hold %d elements', (dims, count, asNumbers) => {
    expect(tensorElementCount(tensor(dims))).toBe(count);
    if (asNumbers === undefined) expect(() => tensorDims(tensor(dims))).toThrow(ModelFormatError);
    else expect(tensorDims(tensor(dims))).toEqual(asNumbers);
  });

  it.each([
    [[-1n], "tensor 't': dims [-1] hold a negative dimension (-1)"],
    [[2n ** 53n], 'more than the 9007199254740991 mlctl supports'],
  ])('dims %o are rejected', (dims, message) => {
    expect(() => tensorElementCount(tensor(dims))).toThrow(message);
    expect(() => tensorDims(tensor(dims))).toThrow(ModelFormatError);
  });

  it('names the bad dim in tensorDims errors', () => {
    expect(() => tensorDims(tensor([3n, -2n]))).toThrow("tensor 't': dim -2 in [3,-2] is out of range; expected 0..9007199254740991");
  });
});
