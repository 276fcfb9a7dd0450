/**
 * The convert-steps service: steps applied in order, the comparison with the
 * input model (and the failures that stop a write), ONNX Runtime's own
 * optimization, and saving with each data layout.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareModels } from '../../src/convert-runtime/compare-models.js';
import { runConvertSteps, saveConverted } from '../../src/convert-runtime/run-steps.js';
import { isExternalTensor } from '../../src/onnx/external-data.js';
import { loadModel, serializeModel, type LoadedModel } from '../../src/onnx/model-io.js';
import { createTensor } from '../../src/onnx/tensor.js';
import { DataType } from '../../src/onnx/types.js';
import { repoRoot, sileroVadModel } from '../helpers/paths.js';
import { input, opCounts, run } from '../passes/convert/simplify/helpers.js';

const fixture = (name: string): string => path.join(repoRoot, 'fixtures/models', name);
let tempDir = '';
let mlp: LoadedModel;
let convNet: LoadedModel;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-steps-'));
  mlp = await loadModel(fixture('mlp.onnx'));
  convNet = await loadModel(fixture('conv-net.onnx'));
});

afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

describe('runConvertSteps', () => {
  it('applies shapes, simplify and fp16 in order and verifies the float16 result', { timeout: 30_000 }, async () => {
    const outcome = await runConvertSteps({ loaded: mlp, model: mlp.model }, { shapes: { x: [2, 64] }, simplify: {}, fp16: {} });
    expect(outcome.shapes?.boundSymbols).toEqual({ batch: 2 });
    expect(outcome.simplify?.changes['fuse-matmul-add']).toBe(2);
    expect(outcome.fp16?.ioConverted).toEqual(['x', 'probs']);
    expect(opCounts(outcome.model)).toEqual({ Gemm: 2, Relu: 1, Softmax: 1 });
    expect(outcome.check).toMatchObject({ runs: 1, passed: true, tolerance: undefined });
    expect(outcome.check!.inputs).toEqual([{ name: 'x', dtype: 'float32', dims: [2, 64] }]);
    expect(outcome.check!.worstCosine).toBeGreaterThan(0.999);
    expect(outcome.failure).toBeUndefined();
  });

  it('checks a float32 result on N input sets with numpy tolerances', { timeout: 30_000 }, async () => {
    const outcome = await runConvertSteps({ loaded: convNet, model: convNet.model }, { simplify: {}, check: 3 });
    expect(outcome.check).toMatchObject({ runs: 3, passed: true, tolerance: { rtol: 1e-3, atol: 1e-4 } });
    expect(outcome.check!.outputs.map((o) => o.elementsOutsideTolerance)).toEqual([0]);
  });

  it('fails (and says what differs) when the result does not match the input model', { timeout: 30_000 }, async () => {
    const changed = structuredClone(mlp.model);
    const w = changed.graph!.initializer[0]!;
    changed.graph!.initializer[0] = createTensor(w.name!, DataType.FLOAT, w.dims, new Float32Array(w.dims.map(Number).reduce((a, b) => a * b, 1)).fill(0.5));
    const outcome = await runConvertSteps({ loaded: mlp, model: changed }, { check: 1 });
    expect(outcome.check?.passed).toBe(false);
    expect(outcome.failure?.code).toBe('MLCTL_CHECK_FAILED');
    expect(outcome.failure?.message).toMatch(/^the converted model's outputs differ from the original's beyond rtol 0.001, atol 0.0001: 'probs' \(\d+ elements, largest error .*\); nothing was written$/);
  });

  it('fails --min-cosine with the lowest cosine in the message', { timeout: 30_000 }, async () => {
    const outcome = await runConvertSteps({ loaded: mlp, model: mlp.model }, { fp16: {}, minCosine: 1 });
    expect(outcome.failure?.message).toMatch(/^the lowest output cosine 0\.9\d{5,} is below --min-cosine 1; nothing was written$/);
    expect(outcome.failure?.hint).toBe('keep sensitive operators in float32 with --op-block-list or --node-block-list');
  });

  it("saves ONNX Runtime's optimized graph with a warning", { timeout: 30_000 }, async () => {
    const outcome = await runConvertSteps({ loaded: convNet, model: convNet.model }, { optimize: 'extended', check: 1 });
    expect(outcome.optimize).toMatchObject({ level: 'extended', nodesBefore: 7 });
    expect(outcome.warnings[0]).toContain('it may hold ONNX Runtime-only operators');
    expect(outcome.check?.passed).toBe(true);
  });

  it('reads external data in for the steps that need the weights', { timeout: 30_000 }, async () => {
    const loaded = await loadModel(fixture('external-data.onnx'));
    const outcome = await runConvertSteps({ loaded, model: loaded.model }, { fp16: {} });
    let external = 0;
    for (const tensor of outcome.model.graph!.initializer) if (isExternalTensor(tensor)) external += 1;
    expect(external).toBe(0);
    expect(outcome.check?.passed).toBe(true);
  });
});

describe('compareModels', () => {
  it('skips, with the reason, a model that random inputs cannot run', { timeout: 30_000 }, async () => {
    const bytes = serializeModel((await loadModel(sileroVadModel)).model);
    const outcome = await compareModels(bytes, bytes, { runs: 1 });
    expect(outcome.skipped).toMatch(/^the original model does not run on random inputs: .*; give the input dims with --shape$/);
  });

  it('sizes dynamic dims so that a detector has something to detect (batch 1, others 64)', { timeout: 30_000 }, async () => {
    const bytes = serializeModel(mlp.model);
    const outcome = await compareModels(bytes, bytes, { runs: 2 });
    expect(outcome.comparison?.inputs).toEqual([{ name: 'x', dtype: 'float32', dims: [1, 64] }]);
    expect(outcome.comparison?.outputs[0]).toMatchObject({ cosine: 1, maxAbsError: 0 });
  });
});

describe('saveConverted', () => {
  it('writes external data above the threshold, next to the output', { timeout: 30_000 }, async () => {
    const target = path.join(tempDir, 'conv-ext.onnx');
    const { saved, layout } = await saveConverted(convNet.model, target, { loaded: convNet, data: { mode: 'external', thresholdBytes: 100 } });
    expect(layout).toMatchObject({ mode: 'external', location: 'conv-ext.onnx.data', thresholdBytes: 100 });
    const large = convNet.model.graph!.initializer.filter((t) => (t.rawData?.length ?? 0) >= 100);
    expect(large.length).toBeGreaterThan(1);
    expect(saved.externalData?.tensorCount).toBe(large.length);
    expect((await stat(path.join(tempDir, 'conv-ext.onnx.data'))).size).toBe(saved.externalData?.sizeBytes);
    const reloaded = await loadModel(target);
    const feeds = { image: input([1, 3, 32, 32], 1) };
    const { loadExternalDataInline } = await import('../../src/onnx/external-data.js');
    expect((await run(await loadExternalDataInline(reloaded), feeds))['logits']).toEqual((await run(convNet.model, feeds))['logits']);
  });

  it('brings external data back inline with --inline-data, and keeps it external otherwise', { timeout: 30_000 }, async () => {
    const loaded = await loadModel(fixture('external-data.onnx'));
    const inlineTarget = path.join(tempDir, 'inline.onnx');
    const inlined = await saveConverted(loaded.model, inlineTarget, { loaded, data: { mode: 'inline' } });
    expect(inlined.saved.externalData).toBeUndefined();
    const reread = await loadModel(inlineTarget);
    expect(reread.model.graph!.initializer.some(isExternalTensor)).toBe(false);

    const keptTarget = path.join(tempDir, 'kept.onnx');
    const kept = await saveConverted(loaded.model, keptTarget, { loaded });
    expect(kept.layout.reason).toBe('the input kept its weights in external data (pass --inline-data to bring them in)');
    expect(existsSync(path.join(tempDir, 'kept.onnx.data'))).toBe(true);
  });

  it('refuses to overwrite without force and leaves no file behind', async () => {
    const target = path.join(tempDir, 'conv-ext.onnx');
    await expect(saveConverted(convNet.model, target, { loaded: convNet, data: { mode: 'external' } })).rejects.toMatchObject({ code: 'MLCTL_OUTPUT_EXISTS' });
    expect((await readdir(tempDir)).filter((file) => file.endsWith('.tmp'))).toEqual([]);
  });
});
