/**
 * Benchmark inputs: seeded random feeds shaped by --shape/--batch, and real
 * inputs read from .pb, .npy and .json files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareFeeds, shapeOverrides } from '../../src/bench/feeds.js';
import { parseJsonInput, readInputDir } from '../../src/runtime/input-files.js';
import { parseNpy } from '../../src/runtime/npy.js';
import { MlctlError } from '../../src/common/errors.js';
import { encodeMessage } from '../../src/onnx/codec.js';
import { DataType } from '../../src/onnx/types.js';
import type { IoMeta } from '../../src/runtime/types.js';

/** A .npy file: magic, version, little-endian header length, padded header dict, data. */
function npyBytes(descr: string, shape: number[], data: ArrayBufferView, options: { version?: 1 | 2; fortran?: boolean } = {}): Uint8Array {
  const version = options.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${options.fortran === true ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = version === 1 ? 10 : 12;
  header += ' '.repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + '\n';
  const bytes = new Uint8Array(prefix + header.length + data.byteLength);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(bytes.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), prefix);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), prefix + header.length);
  return bytes;
}

function thrown(body: () => unknown): MlctlError {
  try {
    body();
  } catch (error) {
    expect(error).toBeInstanceOf(MlctlError);
    return error as MlctlError;
  }
  throw new Error('expected an MlctlError');
}

describe('parseNpy', () => {
  it('reads float32, int64 and bool arrays in C order (format 1 and 2)', () => {
    const floats = parseNpy(npyBytes('<f4', [2, 3], new Float32Array([1, 2, 3, 4, 5, 6])), 'x.npy');
    expect(floats).toEqual({ dtype: 'float32', dims: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
    const ids = parseNpy(npyBytes('<i8', [3], new BigInt64Array([1n, -2n, 3n]), { version: 2 }), 'ids.npy');
    expect(ids).toEqual({ dtype: 'int64', dims: [3], data: new BigInt64Array([1n, -2n, 3n]) });
    expect(parseNpy(npyBytes('|b1', [2], new Uint8Array([1, 0])), 'm.npy')).toMatchObject({ dtype: 'bool', dims: [2] });
    expect(parseNpy(npyBytes('<f8', [], new Float64Array([2.5])), 's.npy')).toEqual({ dtype: 'float64', dims: [], data: new Float64Array([2.5]) });
  });

  it.each([
    [new Uint8Array([1, 2, 3]), "'f.npy' is not a usable .npy file: it does not start with \\x93NUMPY"],
    [npyBytes('>f4', [1], new Float32Array([1])), "'f.npy' is not a usable .npy file: it is big-endian ('>f4'); save it little-endian"],
    [npyBytes('<f4', [1], new Float32Array([1]), { fortran: true }), "'f.npy' is not a usable .npy file: it is in Fortran order; save it in C order (np.ascontiguousarray)"],
    [npyBytes('<c8', [1], new Float32Array([1, 2])), "'f.npy' is not a usable .npy file: element type '<c8' is not supported"],
    [npyBytes('<f4', [3], new Float32Array([1, 2])), "'f.npy' is not a usable .npy file: shape (3) of f4 needs 12 data bytes, but it holds 8"],
  ])('rejects a bad file (%#)', (bytes, message) => {
    const error = thrown(() => parseNpy(bytes, 'f.npy'));
    expect(error.code).toBe('MLCTL_BAD_INPUT');
    expect(error.message).toBe(message);
  });
});

describe('parseJsonInput', () => {
  const x: IoMeta = { name: 'x', dtype: 'float32', shape: ['batch', 2] };
  const ids: IoMeta = { name: 'ids', dtype: 'int64', shape: [null] };

  it('reads nested arrays (dims from the nesting) and {dims, data} objects', () => {
    expect(parseJsonInput('[[1, 2], [3, 4]]', x)).toEqual({ dtype: 'float32', dims: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    expect(parseJsonInput('{"dims": [2], "data": ["9007199254740993", 2]}', ids)).toEqual({
      dtype: 'int64', dims: [2], data: new BigInt64Array([9007199254740993n, 2n]),
    });
  });

  it('rejects ragged arrays and a data length that does not fit the dims', () => {
    expect(thrown(() => parseJsonInput('[[1, 2], [3]]', x)).message).toBe('nested arrays are ragged at depth 1 (1 values where 2 were expected)');
    expect(thrown(() => parseJsonInput('{"dims": [3], "data": [1, 2]}', x)).message).toBe('dims [3] need 3 values, but "data" has 2');
    expect(thrown(() => parseJsonInput('{"dims": [1], "data": ["a"]}', x)).message).toBe("'a' is not a number");
  });
});

describe('readInputDir', () => {
  let dir = '';
  const inputs: IoMeta[] = [
    { name: 'x', dtype: 'float32', shape: [1, 2] },
    { name: 'ids', dtype: 'int64', shape: [null] },
    { name: 'scale', dtype: 'float32', shape: [] },
  ];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-bench-inputs-'));
    // input_0.pb names its tensor 'x' (ONNX test-data layout); ids.npy by base name; scale.json by base name.
    const rawData = new Uint8Array(new Float32Array([0.5, -1]).buffer);
    await writeFile(path.join(dir, 'input_0.pb'), encodeMessage('TensorProto', { name: 'x', dataType: DataType.FLOAT, dims: [1n, 2n], rawData }));
    await writeFile(path.join(dir, 'ids.npy'), npyBytes('<i8', [2], new BigInt64Array([4n, 5n])));
    await writeFile(path.join(dir, 'scale.json'), '{"dims": [], "data": [2]}');
    await writeFile(path.join(dir, 'README.txt'), 'not an input');
  });

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('matches files to inputs by stored name, base name and position', async () => {
    const { feeds, sources } = await readInputDir(dir, inputs);
    expect(feeds['x']).toEqual({ dtype: 'float32', dims: [1, 2], data: new Float32Array([0.5, -1]) });
    expect(feeds['ids']).toEqual({ dtype: 'int64', dims: [2], data: new BigInt64Array([4n, 5n]) });
    expect(feeds['scale']).toEqual({ dtype: 'float32', dims: [], data: new Float32Array([2]) });
    expect(sources).toEqual({ x: path.join(dir, 'input_0.pb'), ids: path.join(dir, 'ids.npy'), scale: path.join(dir, 'scale.json') });
  });

  it('names the inputs that have no file, and a file of the wrong element type', async () => {
    const more: IoMeta[] = [...inputs, { name: 'mask', dtype: 'bool', shape: [2] }];
    await expect(readInputDir(dir, more)).rejects.toThrow(`the inputs folder '${dir}' has no file for input 'mask'`);
    const wrongType: IoMeta[] = [{ name: 'ids', dtype: 'int32', shape: [2] }];
    await expect(readInputDir(dir, wrongType)).rejects.toThrow(`input file '${path.join(dir, 'ids.npy')}' holds int64 values, but input 'ids' takes int32`);
    await expect(readInputDir(path.join(dir, 'missing'), inputs)).rejects.toThrow(/^cannot read the inputs folder/);
  });
});

describe('random feeds', () => {
  const image: IoMeta = { name: 'image', dtype: 'float32', shape: ['batch', 3, 'h', 'w'] };
  const ids: IoMeta = { name: 'ids', dtype: 'int64', shape: [null, 'sequence'] };
  const fixed: IoMeta = { name: 'fixed', dtype: 'float32', shape: [1, 3] };

  it('set the first free dimension of each input to the batch, the other free ones to 1', () => {
    expect(shapeOverrides([image, ids, fixed], {}, 8, 'm.onnx')).toEqual({ image: [8, 3, 1, 1], ids: [8, 1] });
    expect(shapeOverrides([image, ids], { ids: [2, 16] }, 4, 'm.onnx')).toEqual({ ids: [2, 16], image: [4, 3, 1, 1] });
  });

  it('refuse a batch no input can take, and a --shape for an unknown input', () => {
    expect(thrown(() => shapeOverrides([fixed], {}, 8, 'm.onnx')).message).toBe(
      "--batch 8 cannot be applied to 'm.onnx': none of its inputs has a dynamic dimension (fixed [1, 3])",
    );
    expect(thrown(() => shapeOverrides([fixed], { img: [1] }, null, 'm.onnx')).message).toBe(
      "--shape names 'img', which is not an input of 'm.onnx'; its inputs are 'fixed'",
    );
  });

  it('are the same for the same seed and describe the inputs and items per inference', async () => {
    const settings = { source: 'random' as const, seed: 5, shapes: {} };
    const a = await prepareFeeds([image, ids], settings, 4, 'm.onnx');
    const b = await prepareFeeds([image, ids], settings, 4, 'm.onnx');
    expect(a.feeds).toEqual(b.feeds);
    expect(a.inputs).toEqual([
      { name: 'image', dtype: 'float32', dims: [4, 3, 1, 1], source: 'random' },
      { name: 'ids', dtype: 'int64', dims: [4, 1], source: 'random' },
    ]);
    expect(a.itemsPerInference).toBe(4);
    const other = await prepareFeeds([image], { ...settings, seed: 6 }, 4, 'm.onnx');
    expect(other.feeds['image']?.data).not.toEqual(a.feeds['image']?.data);
  });
});
