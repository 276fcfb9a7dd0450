/**
 * Tensor codecs, JSON limits, repository scanning and access checks, without
 * a server: table-driven over every V2 datatype.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearerKeyChecker, corsPolicy } from '../../src/serve/access.js';
import { concatFeeds, splitOutputs, BatchSplitError } from '../../src/serve/batching.js';
import { datatypeByName, datatypeOfDtype, servedDatatypes } from '../../src/serve/datatypes.js';
import { toErrorResponse } from '../../src/serve/http-error.js';
import { jsonNestingDepth, parseJsonObject } from '../../src/serve/json-body.js';
import { modelSignature } from '../../src/serve/model-signature.js';
import { parseByteSize } from '../../src/serve/options.js';
import { scanRepository, scanRepositoryForStartup } from '../../src/serve/repository.js';
import { decodeBinaryData, encodeBinaryData } from '../../src/serve/tensor-binary.js';
import { decodeJsonData, encodeJsonData } from '../../src/serve/tensor-json.js';
import { MlctlError } from '../../src/common/errors.js';

const samples: Record<string, unknown[]> = {
  BOOL: [true, false],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, 9007199254740991],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [-9007199254740991, 9007199254740991],
  FP32: [0.5, -3.4028234663852886e38],
  FP64: [Number.MIN_VALUE, -Number.MAX_VALUE],
  BYTES: ['a', 'ünï'],
};

describe('datatypes', () => {
  it('maps every V2 datatype to a runtime dtype and back', () => {
    expect(servedDatatypes.map((info) => info.name)).toEqual(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES']);
    for (const info of servedDatatypes) expect(datatypeOfDtype(info.dtype)).toBe(info);
    expect(datatypeOfDtype('int4')).toBeUndefined();
    expect(datatypeByName('fp32')).toBeUndefined();
  });
});

describe('JSON tensor data', () => {
  it.each(Object.entries(samples))('%s decodes and encodes back to the same JSON', (name, values) => {
    const info = datatypeByName(name)!;
    const data = decodeJsonData(info, [values], 2, 2, "input 'x'", '[1, 2]');
    expect(JSON.parse(encodeJsonData({ dtype: info.dtype, dims: [1, 2], data }))).toEqual(values);
  });

  it('writes non-finite floats as null and refuses FP16', () => {
    expect(encodeJsonData({ dtype: 'float32', dims: [3], data: new Float32Array([1, Number.NaN, Infinity]) })).toBe('[1,null,null]');
    expect(() => decodeJsonData(datatypeByName('FP16')!, [1], 1, 1, "input 'x'", '[1]')).toThrow(/FP16 data cannot be sent as JSON/);
  });

  it('rejects values outside each integer type, naming the element', () => {
    const cases: [string, unknown][] = [['UINT8', 256], ['INT8', -129], ['UINT16', 65536], ['INT16', 32768], ['UINT32', -1], ['INT32', 2147483648], ['UINT64', -1], ['INT64', 2 ** 63], ['BOOL', 0], ['BYTES', null], ['FP64', '1']];
    for (const [name, value] of cases) {
      expect(() => decodeJsonData(datatypeByName(name)!, [1, value].map((v, i) => (i === 0 ? samples[name]![0] : v)), 2, 1, "input 'x'", '[2]'), name)
        .toThrow(new RegExp(`element 1 is .*; ${name} takes`));
    }
  });
});

describe('binary tensor data', () => {
  it('decodes into aligned copies, whatever the offset in the body', () => {
    const body = new Uint8Array(1 + 8);
    body.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 1);
    const data = decodeBinaryData(datatypeByName('FP32')!, body.subarray(1), 2, "input 'x'") as Float32Array;
    expect(Array.from(data)).toEqual([1.5, -2]);
    expect(data.byteOffset).toBe(0);
  });

  it('encodes BYTES with 4-byte little-endian lengths and decodes them back', () => {
    const bytes = encodeBinaryData({ dtype: 'string', dims: [2], data: ['ab', ''] });
    expect(Array.from(bytes)).toEqual([2, 0, 0, 0, 97, 98, 0, 0, 0, 0]);
    expect(decodeBinaryData(datatypeByName('BYTES')!, bytes, 2, "input 'x'")).toEqual(['ab', '']);
    expect(() => decodeBinaryData(datatypeByName('BYTES')!, bytes.subarray(0, 3), 1, "input 'x'")).toThrow(/ends after 0 of 1 elements/);
  });
});

describe('JSON limits', () => {
  it('measures nesting outside strings and stops early past the limit', () => {
    expect(jsonNestingDepth(Buffer.from('{"a":[[1],[2]],"s":"[[[[\\"[["}'))).toBe(3);
    expect(jsonNestingDepth(Buffer.from('['.repeat(1_000_000)), 64)).toBe(65);
    expect(() => parseJsonObject(Buffer.from(`{"a":${'['.repeat(65)}${']'.repeat(65)}}`), 'the body')).toThrow(/more than 64 levels deep/);
    expect(parseJsonObject(Buffer.from(`{"a":${'['.repeat(60)}${']'.repeat(60)}}`), 'the body')).toHaveProperty('a');
  });
});

describe('batching helpers', () => {
  it('concatenates along the first dim and splits back into views', () => {
    const feeds = concatFeeds([
      { x: { dtype: 'int32', dims: [1, 2], data: Int32Array.from([1, 2]) }, s: { dtype: 'string', dims: [1], data: ['a'] } },
      { x: { dtype: 'int32', dims: [2, 2], data: Int32Array.from([3, 4, 5, 6]) }, s: { dtype: 'string', dims: [2], data: ['b', 'c'] } },
    ]);
    expect(feeds['x']).toEqual({ dtype: 'int32', dims: [3, 2], data: Int32Array.from([1, 2, 3, 4, 5, 6]) });
    expect(feeds['s']).toEqual({ dtype: 'string', dims: [3], data: ['a', 'b', 'c'] });
    const parts = splitOutputs(feeds, [1, 2]);
    expect(parts[1]!['x']).toEqual({ dtype: 'int32', dims: [2, 2], data: Int32Array.from([3, 4, 5, 6]) });
    expect(parts[1]!['s']!.data).toEqual(['b', 'c']);
    expect(() => splitOutputs({ y: { dtype: 'float32', dims: [2], data: new Float32Array(2) } }, [1, 2])).toThrow(BatchSplitError);
  });
});

describe('model signature', () => {
  it('reports dynamic dims as -1 and batchability by a shared first dim', () => {
    const signature = modelSignature([{ name: 'x', dtype: 'float32', shape: ['batch', 3] }], [{ name: 'y', dtype: 'int64', shape: ['batch'] }], 'm.onnx');
    expect(signature.inputs[0]!.shape).toEqual([-1, 3]);
    expect(signature.outputs[0]!.datatype.name).toBe('INT64');
    expect(signature.batchable).toBe(true);
    expect(modelSignature([{ name: 'x', dtype: 'float32', shape: [1, 3] }], [{ name: 'y', dtype: 'float32', shape: [1] }], 'm').batchable).toBe(false);
    expect(modelSignature([{ name: 'x', dtype: 'float32', shape: ['a'] }], [{ name: 'y', dtype: 'float32', shape: ['b'] }], 'm').batchable).toBe(false);
    expect(() => modelSignature([{ name: 'q', dtype: 'int4', shape: [2] }], [], 'm.onnx')).toThrow("cannot serve 'm.onnx': its input 'q' has element type int4, which the KServe V2 protocol cannot carry");
  });
});

describe('model repository', () => {
  it('finds <name>/<version>/model.onnx, skips what does not fit, and names a single file by its stem', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'mlctl-serve-repo-'));
    try {
      for (const folder of ['a/1', 'a/10', 'a/2', 'b/1', 'bad name/1', 'c/v1', 'd', '.hidden/1']) await mkdir(path.join(root, folder), { recursive: true });
      for (const file of ['a/1/model.onnx', 'a/10/model.onnx', 'b/1/model.onnx', 'bad name/1/model.onnx', 'loose.onnx', '.hidden/1/model.onnx']) await writeFile(path.join(root, file), 'x');
      const scan = await scanRepository(root);
      expect(scan.sources.map((source) => `${source.name}/${source.version}`)).toEqual(['a/1', 'a/10', 'b/1']);
      expect(scan.skipped.map((entry) => [path.relative(root, entry.path), entry.reason])).toEqual([
        ['a/2', 'it has no model.onnx'],
        ['bad name', 'model names may only use the characters A-Z a-z 0-9 _ . -'],
        ['c/v1', 'a version folder is named by a positive integer'],
        ['c', 'it has no version folder with a model.onnx (expected c/1/model.onnx)'],
        ['d', 'it has no version folder with a model.onnx (expected d/1/model.onnx)'],
        ['loose.onnx', 'only model folders belong at the top of a repository (<name>/<version>/model.onnx)'],
      ]);
      expect((await scanRepository(path.join(root, 'loose.onnx'))).sources).toEqual([{ name: 'loose', version: 1, file: path.join(root, 'loose.onnx') }]);
      await expect(scanRepositoryForStartup(path.join(root, 'd'))).rejects.toThrow(/holds no model to serve/);
      await expect(scanRepository(path.join(root, 'missing'))).rejects.toMatchObject({ code: 'MLCTL_IO' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('access', () => {
  it('checks bearer keys', () => {
    const check = bearerKeyChecker('secret');
    expect(() => check('Bearer secret')).not.toThrow();
    expect(() => check('bearer  secret')).not.toThrow();
    for (const header of [undefined, '', 'Bearer secre', 'Bearer secret2', 'Token secret', 'secret']) {
      expect(() => check(header), String(header)).toThrow(expect.objectContaining({ status: 401 }));
    }
  });

  it('allows listed origins or any with *', () => {
    expect(corsPolicy('https://a.example, https://b.example').responseHeaders('https://b.example')).toMatchObject({ 'access-control-allow-origin': 'https://b.example', vary: 'Origin' });
    expect(corsPolicy('https://a.example').responseHeaders('https://c.example')['access-control-allow-origin']).toBeUndefined();
    expect(corsPolicy('*').preflightHeaders('https://c.example')).toMatchObject({ 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, POST, OPTIONS' });
  });
});

describe('error responses', () => {
  it('maps client errors to 4xx and anything unexpected to 500', () => {
    expect(toErrorResponse(new MlctlError('MLCTL_BAD_INPUT', 'bad'), 10)).toMatchObject({ status: 400, body: { error: 'bad' }, internal: false });
    expect(toErrorResponse(Object.assign(new Error('too big'), { statusCode: 413 }), 10)).toMatchObject({ status: 413, internal: false });
    expect(toErrorResponse(new TypeError('oops'), 10)).toMatchObject({ status: 500, body: { error: 'internal server error: oops' }, internal: true });
  });
});

describe('options', () => {
  it('parses byte sizes with binary units', () => {
    expect(parseByteSize('64m', '--body-limit')).toBe(64 * 1024 * 1024);
    expect(parseByteSize('1.5k', '--body-limit')).toBe(1536);
    expect(parseByteSize('100', '--body-limit')).toBe(100);
    expect(() => parseByteSize('lots', '--body-limit')).toThrow("--body-limit 'lots' is not a size");
  });
});
