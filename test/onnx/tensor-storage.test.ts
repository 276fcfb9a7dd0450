import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/common/errors.js';
import { checkTensorStorage, createTensor } from '../../src/onnx/tensor.js';
import { DataType, type TensorProto } from '../../src/onnx/types.js';

describe('checkTensorStorage', () => {
  const good = createTensor('w', DataType.FLOAT, [2, 3], new Float32Array(6));

  it('returns the element count when raw_data, typed fields or external entries fit the dims', () => {
    expect(checkTensorStorage(good)).toBe(6);
    const typed: TensorProto = { ...good, rawData: undefined, floatData: [1, 2, 3, 4, 5, 6] };
    expect(checkTensorStorage(typed)).toBe(6);
    const external: TensorProto = { ...good, rawData: undefined, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] };
    expect(checkTensorStorage(external)).toBe(6);
  });

  it.each([
    ['raw_data shorter than the dims', { ...good, dims: [1000000000000n] }, "tensor 'w': raw_data holds 24 bytes, but dims [1000000000000] of float32 need 4000000000000"],
    ['typed field shorter than the dims', { ...good, rawData: undefined, floatData: [1] }, "tensor 'w': float_data holds 1 values, but dims [2,3] of float32 need 6"],
  ])('refuses %s without allocating', (_label, tensor, message) => {
    expect(() => checkTensorStorage(tensor as TensorProto)).toThrow(ModelFormatError);
    expect(() => checkTensorStorage(tensor as TensorProto)).toThrow(message);
  });
});
