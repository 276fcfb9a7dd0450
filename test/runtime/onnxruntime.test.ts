import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlctlError } from '../../src/common/errors.js';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../src/onnx/builder.js';
import { decodeMessage } from '../../src/onnx/codec.js';
import { serializeModel } from '../../src/onnx/model-io.js';
import { tensorData } from '../../src/onnx/tensor.js';
import { DataType, type TensorProto } from '../../src/onnx/types.js';
import { availableProviders, createSession, CUDA_INSTALL_COMMAND, providerStatuses } from '../../src/runtime/onnxruntime.js';
import type { HostTensor, RuntimeSession, SessionOptions } from '../../src/runtime/types.js';

/** sum = x + x (float32 [batch, 3]), twice = n + n (int64 [unnamed]). */
function tinyModelBytes(): Uint8Array {
  const model = makeModel({
    opsets: { '': 13 },
    producerName: 'mlctl-test',
    graph: makeGraph({
      name: 'tiny',
      nodes: [makeNode('Add', ['x', 'x'], ['sum']), makeNode('Add', ['n', 'n'], ['twice'])],
      inputs: [makeTensorValueInfo('x', DataType.FLOAT, ['batch', 3]), makeTensorValueInfo('n', DataType.INT64, [null])],
      outputs: [makeTensorValueInfo('sum', DataType.FLOAT, ['batch', 3]), makeTensorValueInfo('twice', DataType.INT64, [null])],
    }),
  });
  return serializeModel(model);
}

const feeds: Record<string, HostTensor> = {
  x: { dtype: 'float32', dims: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
  n: { dtype: 'int64', dims: [2], data: new BigInt64Array([5n, -7n]) },
};

/** Runs `body` with a session that is released afterwards, also when `body` throws. */
async function withSession<T>(model: string | Uint8Array, options: SessionOptions, body: (session: RuntimeSession) => Promise<T>): Promise<T> {
  const session = await createSession(model, options);
  try {
    return await body(session);
  } finally {
    await session.release();
  }
}

/** The MlctlError a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<MlctlError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MlctlError);
  return error as MlctlError;
}

let tempDir: string;
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-runtime-'));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

describe('runtime adapter: sessions', () => {
  it('reports input and output names, dtypes and shapes (symbolic and unnamed dims)', async () => {
    await withSession(tinyModelBytes(), {}, async (session) => {
      expect(session.inputs).toEqual([
        { name: 'x', dtype: 'float32', shape: ['batch', 3] },
        { name: 'n', dtype: 'int64', shape: [null] },
      ]);
      expect(session.outputs).toEqual([
        { name: 'sum', dtype: 'float32', shape: ['batch', 3] },
        { name: 'twice', dtype: 'int64', shape: [null] },
      ]);
    });
  }, 20_000);

  it('runs a model given as bytes', async () => {
    const outputs = await withSession(tinyModelBytes(), {}, (session) => session.run(feeds));
    expect(Object.keys(outputs)).toEqual(['sum', 'twice']);
    expect(outputs.sum).toEqual({ dtype: 'float32', dims: [2, 3], data: new Float32Array([2, 4, 6, 8, 10, 12]) });
    expect(outputs.twice).toEqual({ dtype: 'int64', dims: [2], data: new BigInt64Array([10n, -14n]) });
  }, 20_000);

  it('runs a model given as a path, computing only the outputs asked for', async () => {
    const file = path.join(tempDir, 'tiny.onnx');
    await writeFile(file, tinyModelBytes());
    const outputs = await withSession(file, {}, (session) => session.run(feeds, ['twice']));
    expect(Object.keys(outputs)).toEqual(['twice']);
    expect(outputs.twice?.data).toEqual(new BigInt64Array([10n, -14n]));
  }, 20_000);

  it('passes session options through (threads, optimization level, optimized model path)', async () => {
    const optimizedModelPath = path.join(tempDir, 'optimized.onnx');
    const options: SessionOptions = {
      intraOpThreads: 1,
      interOpThreads: 1,
      graphOptimizationLevel: 'basic',
      executionMode: 'sequential',
      optimizedModelPath,
    };
    const outputs = await withSession(tinyModelBytes(), options, (session) => session.run(feeds));
    expect(outputs.sum?.data).toEqual(new Float32Array([2, 4, 6, 8, 10, 12]));
    expect(existsSync(optimizedModelPath)).toBe(true);
  }, 20_000);

  const addModelDir = '/usr/share/libonnx-testdata/data/node/test_add';
  it.skipIf(!existsSync(addModelDir) && process.env.MLCTL_REQUIRE_CORPUS !== '1')('matches the ONNX backend test data of node/test_add (libonnx-testdata)', async () => {
    const readTensor = (name: string): TensorProto => {
      // A plain Uint8Array copy: the tensor layer misreads unaligned raw_data in Buffer views (see corpus.test.ts).
      const bytes = new Uint8Array(readFileSync(path.join(addModelDir, 'test_data_set_0', name)));
      return decodeMessage<TensorProto>('TensorProto', bytes);
    };
    const toHost = (t: TensorProto): HostTensor => ({ dtype: 'float32', dims: t.dims.map(Number), data: Float32Array.from(tensorData(t) as Float32Array) });
    const expected = toHost(readTensor('output_0.pb'));
    await withSession(path.join(addModelDir, 'model.onnx'), {}, async (session) => {
      const [x, y] = session.inputs;
      const outputs = await session.run({ [x!.name]: toHost(readTensor('input_0.pb')), [y!.name]: toHost(readTensor('input_1.pb')) });
      expect(outputs[session.outputs[0]!.name]).toEqual(expected);
    });
  }, 20_000);

  it('can be released twice, and refuses to run after release', async () => {
    const session = await createSession(tinyModelBytes(), { label: 'tiny.onnx' });
    await session.release();
    await session.release();
    const error = await rejection(session.run(feeds));
    expect(error.code).toBe('MLCTL_RUNTIME');
    expect(error.message).toBe("cannot run 'tiny.onnx': its session has been released");
  }, 20_000);
});

describe('runtime adapter: feed checks', () => {
  const cases: Array<[string, Record<string, HostTensor>, string[] | undefined, string]> = [
    ['an unknown input', { ...feeds, y: feeds.x! }, undefined, "'y' is not an input of 'tiny.onnx'; its inputs are 'x', 'n'"],
    ['a missing input', { x: feeds.x! }, undefined, "'tiny.onnx' needs input 'n', which the feeds lack"],
    ['a wrong dtype', { ...feeds, n: { dtype: 'int32', dims: [2], data: new Int32Array(2) } }, undefined, "input 'n' of 'tiny.onnx' takes int64 tensors, not int32"],
    ['a wrong rank', { ...feeds, x: { dtype: 'float32', dims: [6], data: new Float32Array(6) } }, undefined, "input 'x' of 'tiny.onnx' has rank 2 ([batch, 3]), not 1 ([6])"],
    ['data that does not fit the dims', { ...feeds, x: { dtype: 'float32', dims: [2, 3], data: new Float32Array(5) } }, undefined, "input 'x' has 5 data elements but dims [2, 3] need 6"],
    ['an unknown output', feeds, ['nope'], "'nope' is not an output of 'tiny.onnx'; its outputs are 'sum', 'twice'"],
  ];
  it.each(cases)('rejects %s with MLCTL_BAD_INPUT', async (_what, badFeeds, outputNames, message) => {
    await withSession(tinyModelBytes(), { label: 'tiny.onnx' }, async (session) => {
      const error = await rejection(session.run(badFeeds, outputNames));
      expect(error.code).toBe('MLCTL_BAD_INPUT');
      expect(error.message).toBe(message);
    });
  }, 20_000);

  it('wraps a failure inside onnxruntime as MLCTL_RUNTIME naming the model', async () => {
    await withSession(tinyModelBytes(), { label: 'tiny.onnx' }, async (session) => {
      // Fixed dim 3 is violated: onnxruntime itself rejects it.
      const error = await rejection(session.run({ ...feeds, x: { dtype: 'float32', dims: [3, 2], data: new Float32Array(6) } }));
      expect(error.code).toBe('MLCTL_RUNTIME');
      expect(error.message).toMatch(/^running 'tiny.onnx' failed: /);
      expect(error.cause).toBeInstanceOf(Error);
    });
  }, 20_000);
});

describe('runtime adapter: session creation failures', () => {
  it('wraps a model onnxruntime cannot load as MLCTL_RUNTIME (exit 4) naming the model', async () => {
    const error = await rejection(createSession(new Uint8Array([0x08, 0x07, 0x3a, 0x02, 0x0a, 0x00]), { label: 'broken.onnx' }));
    expect(error.code).toBe('MLCTL_RUNTIME');
    expect(error.exitCode).toBe(4);
    expect(error.message).toMatch(/^onnxruntime cannot load 'broken\.onnx': /);
    expect(error.cause).toBeInstanceOf(Error);
  }, 20_000);

  it('names a missing model file', async () => {
    const missing = path.join(tempDir, 'missing.onnx');
    const error = await rejection(createSession(missing));
    expect(error.code).toBe('MLCTL_RUNTIME');
    expect(error.message).toContain(`'${missing}'`);
  }, 20_000);
});

describe('runtime adapter: execution providers', () => {
  it('always has the cpu provider', () => {
    expect(availableProviders()).toContain('cpu');
    expect(providerStatuses().find((status) => status.name === 'cpu')).toEqual({ name: 'cpu', available: true });
  });

  const cudaInstalled = availableProviders().includes('cuda');

  it.skipIf(cudaInstalled)('reports cuda as not available, with the install command', () => {
    const cuda = providerStatuses().find((status) => status.name === 'cuda');
    expect(cuda?.available).toBe(false);
    expect(cuda?.reason).toContain(CUDA_INSTALL_COMMAND);
  });

  it.skipIf(cudaInstalled)('refuses a CUDA session with MLCTL_EP_UNAVAILABLE (exit 4) and the install command, never falling back to cpu', async () => {
    const error = await rejection(createSession(tinyModelBytes(), { executionProvider: 'cuda', label: 'tiny.onnx' }));
    expect(error.code).toBe('MLCTL_EP_UNAVAILABLE');
    expect(error.exitCode).toBe(4);
    expect(error.message).toBe(
      "cannot run 'tiny.onnx' on execution provider 'cuda': onnxruntime-node 1.30.0 for " +
      `${process.platform}/${process.arch} was installed without its 'cuda' provider library; ` +
      'install it with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`',
    );
    expect(error.hint).toBe('the CUDA build also needs CUDA 12 and cuDNN 9 on the machine; the cpu provider needs nothing');
  }, 20_000);

  it.skipIf(availableProviders().includes('tensorrt'))('refuses a TensorRT session the same way', async () => {
    const error = await rejection(createSession(tinyModelBytes(), { executionProvider: 'tensorrt' }));
    expect(error.code).toBe('MLCTL_EP_UNAVAILABLE');
    expect(error.message).toContain(CUDA_INSTALL_COMMAND);
  }, 20_000);

  it.skipIf(process.platform === 'win32')('refuses a provider this build does not have at all', async () => {
    const error = await rejection(createSession(tinyModelBytes(), { executionProvider: 'dml', label: 'tiny.onnx' }));
    expect(error.code).toBe('MLCTL_EP_UNAVAILABLE');
    expect(error.message).toMatch(/^cannot run 'tiny\.onnx' on execution provider 'dml': onnxruntime-node for \S+ has no such provider \(it has cpu/);
  }, 20_000);
});

describe('runtime adapter: inputs of unknown rank', () => {
  it('accepts any rank for an input declared without a shape (onnxruntime reports it as [])', async () => {
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'any-rank',
        nodes: [makeNode('Identity', ['x'], ['y'])],
        inputs: [makeTensorValueInfo('x', DataType.FLOAT)],
        outputs: [makeTensorValueInfo('y', DataType.FLOAT)],
      }),
    });
    await withSession(serializeModel(model), {}, async (session) => {
      expect(session.inputs[0]!.shape).toEqual([]);
      const out = await session.run({ x: { dtype: 'float32', dims: [2, 1, 2], data: new Float32Array([1, 2, 3, 4]) } });
      expect(out.y!.dims).toEqual([2, 1, 2]);
      expect(Array.from(out.y!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    });
  });
});
