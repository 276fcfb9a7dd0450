/**
 * toRuntimeInput / withRuntimeInput: bytes under the limit; over it (the
 * limit lowered instead of writing 2 GiB), a temporary model file with
 * external data that onnxruntime loads and runs alike; temporary files
 * removed whatever happens.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel, serializeModel, serializedModelSize } from '../../src/onnx/model-io.js';
import { createSession } from '../../src/runtime/onnxruntime.js';
import type { HostTensor } from '../../src/runtime/types.js';
import { RUNTIME_TEMP_PREFIX, toRuntimeInput, withRuntimeInput } from '../../src/verify/runtime-input.js';
import { outlierSample, outlierWeightModel } from './calibration/job-models.js';

let dir = '';
const feeds = { x: outlierSample(3) };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-runtime-input-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(model: string | Uint8Array): Promise<HostTensor> {
  const session = await createSession(model, { logLevel: 'fatal' });
  try {
    return (await session.run(feeds)).y!;
  } finally {
    await session.release();
  }
}

async function runtimeTempDirs(): Promise<string[]> {
  return (await readdir(os.tmpdir())).filter((name) => name.startsWith(RUNTIME_TEMP_PREFIX));
}

describe('toRuntimeInput', () => {
  const model = outlierWeightModel();

  it('hands a model within the limit over as its serialized bytes, writing nothing', async () => {
    const input = await toRuntimeInput(model, { limitBytes: serializedModelSize(model) });
    expect(input.model).toEqual(serializeModel(model));
    expect(input.tempDir).toBeUndefined();
    await input.dispose();
  });

  it('saves a model over the limit with external data in a private temporary folder that onnxruntime loads, and removes it', async () => {
    const expected = await run(serializeModel(model));
    const input = await toRuntimeInput(model, { limitBytes: 100 });
    try {
      expect(typeof input.model).toBe('string');
      expect(path.dirname(input.tempDir!)).toBe(os.tmpdir());
      expect(path.basename(input.tempDir!).startsWith(RUNTIME_TEMP_PREFIX)).toBe(true);
      expect((await readdir(input.tempDir!)).sort()).toEqual(['model.onnx', 'model.onnx.data']);
      // w1 (1 KiB) went to the data file, so onnxruntime resolved it next to the model file.
      const saved = (await loadModel(input.model as string)).model;
      expect(saved.graph!.initializer.find((tensor) => tensor.name === 'w1')!.externalData.map((entry) => entry.key)).toEqual(['location', 'offset', 'length']);
      expect(Array.from((await run(input.model)).data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
    } finally {
      await input.dispose();
    }
    expect(existsSync(input.tempDir!)).toBe(false);
    await expect(input.dispose()).resolves.toBeUndefined();
  });

  it('sends a model with still-external tensors as a file, copying their data from sourceDir', async () => {
    const file = path.join(dir, 'external.onnx');
    await saveModel(model, file, { externalData: { location: 'external.onnx.data' } });
    const loaded = await loadModel(file);
    const input = await toRuntimeInput(loaded.model, { sourceDir: loaded.dir! });
    try {
      expect(input.model).not.toBe(file);
      expect((await run(input.model)).dims).toEqual([1, 8]);
    } finally {
      await input.dispose();
    }
    expect(existsSync(input.tempDir!)).toBe(false);
  });

  it('leaves no folder behind when saving fails', async () => {
    const before = await runtimeTempDirs();
    const loaded = await loadModel(path.join(dir, 'external.onnx'));
    // No sourceDir: the external tensor cannot be copied.
    await expect(toRuntimeInput(loaded.model)).rejects.toMatchObject({ code: 'MLCTL_BAD_INPUT' });
    expect(await runtimeTempDirs()).toEqual(before);
  });
});

describe('withRuntimeInput', () => {
  it('removes the temporary folder after use, and when use throws', async () => {
    const model = outlierWeightModel();
    let used = '';
    const dims = await withRuntimeInput(model, async (input) => {
      used = input as string;
      return (await run(input)).dims;
    }, { limitBytes: 100 });
    expect(dims).toEqual([1, 8]);
    expect(existsSync(path.dirname(used))).toBe(false);

    await expect(withRuntimeInput(model, (input) => {
      used = input as string;
      return Promise.reject(new Error('boom'));
    }, { limitBytes: 100 })).rejects.toThrow('boom');
    expect(used.startsWith(path.join(os.tmpdir(), RUNTIME_TEMP_PREFIX))).toBe(true);
    expect(existsSync(path.dirname(used))).toBe(false);
  });
});
