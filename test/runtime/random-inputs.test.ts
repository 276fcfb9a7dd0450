import { describe, expect, it } from 'vitest';
import { MlctlError } from '../../src/common/errors.js';
import { decodeFloat16 } from '../../src/onnx/float-formats.js';
import { mulberry32, randomInputs, resolveShape } from '../../src/runtime/random-inputs.js';
import type { IoMeta, TensorDtype } from '../../src/runtime/types.js';

const image: IoMeta = { name: 'x', dtype: 'float32', shape: ['batch', 3, 'height', 'width'] };
const ids: IoMeta = { name: 'ids', dtype: 'int64', shape: ['batch', null] };

function thrown(body: () => unknown): MlctlError {
  try {
    body();
  } catch (error) {
    expect(error).toBeInstanceOf(MlctlError);
    return error as MlctlError;
  }
  throw new Error('expected an MlctlError');
}

describe('mulberry32', () => {
  it('gives the same sequence for the same seed, values in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const first = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(first);
    expect(first.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(first).size).toBe(1000);
    expect(mulberry32(43)()).not.toBe(first[0]);
  });
});

describe('resolveShape', () => {
  it('sets symbolic dims from dimValues, the rest to defaultDim', () => {
    expect(resolveShape(image)).toEqual([1, 3, 1, 1]);
    expect(resolveShape(image, { dimValues: { height: 64, width: 32 } })).toEqual([1, 3, 64, 32]);
    expect(resolveShape(image, { dimValues: { height: 64 }, defaultDim: 2 })).toEqual([2, 3, 64, 2]);
    expect(resolveShape(ids, { dimValues: { batch: 4 }, defaultDim: 7 })).toEqual([4, 7]);
  });

  it('takes a whole shape by input name', () => {
    expect(resolveShape(image, { shapeOverrides: { x: [2, 3, 48, 160] } })).toEqual([2, 3, 48, 160]);
  });

  it.each([
    [[1, 3, 48], "shape [1, 3, 48] for input 'x' has rank 3; the model's shape [batch, 3, height, width] has rank 4"],
    [[1, 4, 48, 48], "shape [1, 4, 48, 48] for input 'x' sets axis 1 to 4; the model fixes it at 3"],
    [[1, 3, -1, 48], "shape [1, 3, -1, 48] for input 'x' has a bad size '-1'; expected non-negative integers"],
  ])('rejects override %j with MLCTL_BAD_INPUT', (shape, message) => {
    const error = thrown(() => resolveShape(image, { shapeOverrides: { x: shape } }));
    expect(error.code).toBe('MLCTL_BAD_INPUT');
    expect(error.message).toBe(message);
  });
});

describe('randomInputs', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const options = { dimValues: { height: 8, width: 8 } };
    const a = randomInputs([image, ids], { ...options, seed: 7 });
    const b = randomInputs([image, ids], { ...options, seed: 7 });
    const c = randomInputs([image, ids], { ...options, seed: 8 });
    expect(b).toEqual(a);
    expect(c.x?.data).not.toEqual(a.x?.data);
  });

  it("gives each input a stream of its own, unchanged by the other inputs", () => {
    const alone = randomInputs([ids], { seed: 3, defaultDim: 16 });
    const together = randomInputs([image, ids], { seed: 3, defaultDim: 16 });
    expect(together.ids).toEqual(alone.ids);
  });

  it('keeps floats within floatRange and ints within intRange', () => {
    const feeds = randomInputs([image, ids], { seed: 1, dimValues: { height: 32, width: 32 }, floatRange: [0, 1], intRange: [5, 8], defaultDim: 50 });
    const pixels = feeds.x?.data as Float32Array;
    expect(pixels).toHaveLength(50 * 3 * 32 * 32);
    expect(pixels.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(pixels.reduce((min, v) => Math.min(min, v), 1)).toBeLessThan(0.01);
    expect(pixels.reduce((max, v) => Math.max(max, v), 0)).toBeGreaterThan(0.99);
    const values = new Set(Array.from(feeds.ids?.data as BigInt64Array));
    expect([...values].sort()).toEqual([5n, 6n, 7n]);
  });

  const table: Array<[TensorDtype, new (n: number) => ArrayLike<unknown>, (v: unknown) => boolean]> = [
    ['float32', Float32Array, (v) => (v as number) >= -1 && (v as number) < 1],
    ['float64', Float64Array, (v) => (v as number) >= -1 && (v as number) < 1],
    ['float16', Uint16Array, (v) => Math.abs(decodeFloat16(v as number)) <= 1],
    ['int8', Int8Array, (v) => (v as number) >= -128 && (v as number) <= 127],
    ['uint8', Uint8Array, (v) => (v as number) >= 0 && (v as number) <= 255],
    ['int16', Int16Array, (v) => (v as number) >= 0 && (v as number) < 10],
    ['uint16', Uint16Array, (v) => (v as number) >= 0 && (v as number) < 10],
    ['int32', Int32Array, (v) => (v as number) >= 0 && (v as number) < 10],
    ['uint32', Uint32Array, (v) => (v as number) >= 0 && (v as number) < 10],
    ['int64', BigInt64Array, (v) => (v as bigint) >= 0n && (v as bigint) < 10n],
    ['uint64', BigUint64Array, (v) => (v as bigint) >= 0n && (v as bigint) < 10n],
    ['bool', Uint8Array, (v) => v === 0 || v === 1],
  ];
  it.each(table)('makes %s data of the right array type, length and range', (dtype, arrayType, inRange) => {
    const feeds = randomInputs([{ name: 'v', dtype, shape: [4, 'n'] }], { seed: 5, dimValues: { n: 25 } });
    const tensor = feeds.v!;
    expect(tensor.dtype).toBe(dtype);
    expect(tensor.dims).toEqual([4, 25]);
    expect(tensor.data).toBeInstanceOf(arrayType);
    expect(tensor.data).toHaveLength(100);
    expect(Array.from(tensor.data as ArrayLike<unknown>).every(inRange)).toBe(true);
  });

  it('makes strings, and packs 4-bit types two to a byte', () => {
    const feeds = randomInputs([
      { name: 's', dtype: 'string', shape: [3] },
      { name: 'q', dtype: 'int4', shape: [5] },
    ]);
    expect(feeds.s?.data).toHaveLength(3);
    expect((feeds.s?.data as string[]).every((v) => typeof v === 'string')).toBe(true);
    expect(feeds.q?.data).toBeInstanceOf(Uint8Array);
    expect(feeds.q?.data).toHaveLength(3);
  });

  it('refuses non-tensor inputs with MLCTL_UNSUPPORTED', () => {
    const error = thrown(() => randomInputs([{ name: 'seq', dtype: 'non-tensor', shape: [] }]));
    expect(error.code).toBe('MLCTL_UNSUPPORTED');
    expect(error.message).toBe("input 'seq' is not a tensor (a sequence, map or optional); mlctl cannot make random values for it");
  });
});
