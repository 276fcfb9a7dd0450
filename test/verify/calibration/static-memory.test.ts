/**
 * The up-front memory bound of static mode: its parts for a model under
 * 2 GiB (sent to onnxruntime as bytes) and one over it (a sparse external
 * data file: nothing is read), and the refusal's message.
 */
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalMatMulChain } from '../../../fixtures/lib/external-matmul-chain.js';
import { loadModel, saveModel } from '../../../src/onnx/model-io.js';
import { checkStaticMemory, estimateStaticMemory } from '../../../src/verify/calibration/static-memory.js';
import { repoRoot } from '../../helpers/paths.js';

const convNet = path.join(repoRoot, 'fixtures/models/conv-net.onnx');
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-static-memory-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('estimateStaticMemory', () => {
  it('counts a model under 2 GiB twice for onnxruntime (its copy and the bytes it is handed), and the Conv constants preparation may fold', async () => {
    const modelBytes = (await stat(convNet)).size;
    const estimate = await estimateStaticMemory(await loadModel(convNet));
    // conv1 8×3×3×3 + 8, conv2 16×8×3×3 + 16 float32; the Gemm's are not rewritten.
    const preparedCopyBytes = (216 + 8 + 1152 + 16) * 4;
    const quantizedBytes = Math.ceil(modelBytes / 4);
    expect(estimate).toEqual({
      modelBytes,
      preparedCopyBytes,
      quantizedBytes,
      runtimeBytes: 2 * modelBytes,
      totalBytes: modelBytes + preparedCopyBytes + quantizedBytes + 2 * modelBytes,
    });
    expect((await estimateStaticMemory(await loadModel(convNet), { debugReport: true })).runtimeBytes).toBe(2 * (modelBytes + quantizedBytes));
  });

  it('counts the external data of a model over 2 GiB without reading it, and onnxruntime once (it loads a file)', async () => {
    const layers = 36;
    const tensorBytes = 4096 * 4096 * 4;
    const data = await open(path.join(dir, 'weights.bin'), 'w');
    await data.truncate(layers * tensorBytes).finally(() => data.close());
    const file = path.join(dir, 'large.onnx');
    await saveModel(externalMatMulChain({ layers, size: 4096, location: 'weights.bin', graphName: 'large' }), file);
    const loaded = await loadModel(file);
    const estimate = await estimateStaticMemory(loaded);
    const modelBytes = loaded.sizeBytes + layers * tensorBytes;
    expect(estimate).toMatchObject({ modelBytes, preparedCopyBytes: 0, quantizedBytes: Math.ceil(modelBytes / 4), runtimeBytes: modelBytes });
    expect(estimate.totalBytes).toBe(modelBytes * 2 + Math.ceil(modelBytes / 4));
  });
});

describe('checkStaticMemory', () => {
  const estimate = { modelBytes: 3 * 2 ** 30, preparedCopyBytes: 2 ** 29, quantizedBytes: 0.75 * 2 ** 30, runtimeBytes: 3 * 2 ** 30, totalBytes: 7.25 * 2 ** 30 };

  it('passes when the estimate fits', () => {
    expect(() => checkStaticMemory('m.onnx', estimate, 8 * 2 ** 30)).not.toThrow();
  });

  it('refuses with MLCTL_TOO_LARGE (exit 3), the numbers and what works instead', () => {
    let error: unknown;
    try {
      checkStaticMemory('m.onnx', estimate, 4 * 2 ** 30);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({
      code: 'MLCTL_TOO_LARGE',
      exitCode: 3,
      message: "cannot quantize 'm.onnx' statically: calibration holds the whole model in memory, about 7.3 GiB (3.0 GiB of weights + 0.5 GiB of prepared copies + 0.8 GiB quantized + 3.0 GiB for onnxruntime), more than this machine's 4.0 GiB",
      hint: '--mode dynamic and --mode weight-only quantize large models tensor by tensor; or run static mode on a machine with more memory',
    });
  });
});
