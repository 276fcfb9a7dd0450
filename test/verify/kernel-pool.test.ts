/**
 * The worker-thread kernel pool gives bit-identical results to the pass's
 * own kernel. Worker threads need the compiled worker script, so this test
 * loads the built modules from dist/ (`npm test` builds first).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as PoolModule from '../../src/verify/kernel-pool.js';
import type * as PassModule from '../../src/passes/quantize/index.js';
import type * as ReaderModule from '../../src/verify/external-reader.js';
import type * as ModelIoModule from '../../src/onnx/model-io.js';
import type { ModelProto } from '../../src/onnx/types.js';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../src/onnx/builder.js';
import { createTensor } from '../../src/onnx/tensor.js';
import { DataType } from '../../src/onnx/types.js';
import { assertCliBuilt } from '../helpers/run-cli.js';
import { repoRoot } from '../helpers/paths.js';
import { seeded } from '../passes/quantize/helpers.js';

let pool: typeof PoolModule;
let pass: typeof PassModule;
let reader: typeof ReaderModule;
let modelIo: typeof ModelIoModule;

beforeAll(async () => {
  assertCliBuilt();
  const dist = (file: string): string => pathToFileURL(path.join(repoRoot, 'dist', file)).href;
  expect(existsSync(path.join(repoRoot, 'dist/verify/kernel-worker.js'))).toBe(true);
  pool = (await import(dist('verify/kernel-pool.js'))) as typeof PoolModule;
  pass = (await import(dist('passes/quantize/index.js'))) as typeof PassModule;
  reader = (await import(dist('verify/external-reader.js'))) as typeof ReaderModule;
  modelIo = (await import(dist('onnx/model-io.js'))) as typeof ModelIoModule;
});

/** MatMuls and a transB Gemm over weights with shared-memory raw data, some at odd byte offsets; one weight holds NaN. */
function model(): ModelProto {
  const weight = (name: string, dims: number[], seed: number, shift: number, poison = false): ReturnType<typeof createTensor> => {
    const count = dims.reduce((a, b) => a * b, 1);
    const values = seeded(count, seed, 0.3);
    if (poison) values[7] = NaN;
    // Raw data at byte offset `shift` of a shared buffer, as a model decoded from shared memory has it.
    const shared = new Uint8Array(new SharedArrayBuffer(count * 4 + shift));
    shared.set(new Uint8Array(values.buffer), shift);
    return { ...createTensor(name, DataType.FLOAT, [0], []), dims: dims.map(BigInt), rawData: shared.subarray(shift) };
  };
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'pool',
      nodes: [
        makeNode('MatMul', ['x', 'a'], ['h1'], {}, { name: 'aligned' }),
        makeNode('MatMul', ['h1', 'b'], ['h2'], {}, { name: 'unaligned' }),
        makeNode('Gemm', ['h2', 'c'], ['h3'], { transB: 1 }, { name: 'gemm' }),
        makeNode('MatMul', ['h3', 'd'], ['y'], {}, { name: 'poisoned' }),
      ],
      inputs: [makeTensorValueInfo('x', DataType.FLOAT, [2, 48])],
      outputs: [makeTensorValueInfo('y', DataType.FLOAT, [2, 16])],
      initializers: [weight('a', [48, 40], 1, 0), weight('b', [40, 32], 2, 2), weight('c', [24, 32], 3, 1), weight('d', [24, 16], 4, 0, true)],
    }),
  });
}

describe('WeightKernelPool', () => {
  let created: PoolModule.WeightKernelPool | undefined;
  afterAll(async () => {
    await created?.close();
  });

  it('matches the in-thread kernel bit for bit, and reports NaN weights the same way', async () => {
    created = pool.WeightKernelPool.create(2);
    expect(created).toBeDefined();
    const m = model();
    for (const options of [{ minElements: 0 }, { minElements: 0, perChannel: false, weightType: 'uint8' as const }]) {
      const kernel = await pool.precomputeWeights(created!, (collecting) => pass.quantizeModel(m, { ...options, weightKernel: collecting }));
      const parallel = pass.quantizeModel(m, { ...options, weightKernel: kernel });
      const serial = pass.quantizeModel(m, options);
      expect(parallel.report).toEqual(serial.report);
      expect(parallel.report.nodes.map((n) => n.action)).toEqual(['dynamic', 'dynamic', 'dynamic', 'skipped']);
      const tensors = (result: PassModule.QuantizeResult) =>
        result.model.graph!.initializer.map((t) => [t.name, t.dims, Array.from(t.rawData ?? new Uint8Array())]);
      expect(tensors(parallel)).toEqual(tensors(serial));
    }
  });

  it('reads external weights on the workers, and reports a data file cut short after its check', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-pool-external-'));
    try {
      for (const file of ['external-data.onnx', 'external-data.bin']) await copyFile(path.join(repoRoot, 'fixtures/models', file), path.join(dir, file));
      const { model, dir: modelDir } = await modelIo.loadModel(path.join(dir, 'external-data.onnx'));
      const external = (await reader.externalDataReader(model, modelDir))!;
      created ??= pool.WeightKernelPool.create(2);
      const options = { minElements: 0 };
      const kernel = await pool.precomputeWeights(created!, (collecting) => pass.quantizeModel(model, { ...options, weightKernel: collecting }, external.read), external.locate);
      const parallel = pass.quantizeModel(model, { ...options, weightKernel: kernel }, external.read);
      const serial = pass.quantizeModel(model, options, external.read);
      expect(parallel.report.nodes.map((n) => n.action)).toEqual(['dynamic', 'dynamic']);
      expect(parallel.report).toEqual(serial.report);
      const tensors = (result: PassModule.QuantizeResult) => result.model.graph!.initializer.map((t) => [t.name, Array.from(t.rawData ?? new Uint8Array())]);
      expect(tensors(parallel)).toEqual(tensors(serial));

      await truncate(path.join(dir, 'external-data.bin'), 100);
      const broken = await pool.precomputeWeights(created!, (collecting) => pass.quantizeModel(model, { ...options, weightKernel: collecting }, external.read), external.locate);
      expect(() => pass.quantizeModel(model, { ...options, weightKernel: broken }, external.read)).toThrow(
        expect.objectContaining({ code: 'MLCTL_IO', message: expect.stringMatching(/^cannot read the external data of .* from 'external-data\.bin': the file ended after/) as unknown }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
