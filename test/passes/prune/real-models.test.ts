/**
 * Pruning real architectures: small light models of the shared corpus
 * materialized with random weights (SqueezeNet: Concat; ShuffleNet: grouped
 * and depthwise Conv, channel shuffles, residual Sums) and PP-OCRv4 det
 * (weights in Constant nodes, squeeze-excitation, ConvTranspose, Resize).
 * Each pruned model loads and runs in onnxruntime with the original's output
 * shapes and fewer MACs and parameters, and computes what the original
 * computes with the removed channels masked. The big ones (ResNet50, DenseNet121,
 * VGG19) are measured in benchmarks/prune-real-models.ts instead.
 * A missing corpus skips, except under MLCTL_REQUIRE_CORPUS=1 (CI).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { materializeLightModel } from '../../../fixtures/materialize-light.js';
import { loadModel } from '../../../src/onnx/model-io.js';
import type { ModelProto } from '../../../src/onnx/types.js';
import { countMacs, maskPrunedChannels, pruneModel } from '../../../src/passes/prune/index.js';
import { measureAgreement } from '../../../src/verify/prune-agreement.js';
import { runSamples } from '../../../src/verify/prune-run.js';
import { corpusModel, ppOcrDetModel } from '../../helpers/paths.js';

interface RealCase {
  title: string;
  file: string;
  light: boolean;
  shapes?: Record<string, number[]>;
  /** Upper bound of pruned MACs / original MACs at sparsity 0.3. */
  maxMacRatio: number;
}

const cases: RealCase[] = [
  { title: 'SqueezeNet 1.1 (light, materialized)', file: corpusModel('light_squeezenet.onnx'), light: true, maxMacRatio: 0.6 },
  { title: 'ShuffleNet (light, materialized)', file: corpusModel('light_shufflenet.onnx'), light: true, maxMacRatio: 0.9 },
  { title: 'PP-OCRv4 det', file: ppOcrDetModel, light: false, shapes: { x: [1, 3, 96, 96] }, maxMacRatio: 0.6 },
];

const requireCorpus = process.env.MLCTL_REQUIRE_CORPUS === '1';

async function load(testCase: RealCase): Promise<ModelProto> {
  const { model } = await loadModel(testCase.file);
  return testCase.light ? materializeLightModel(model).model : model;
}

describe('channel pruning of real architectures at sparsity 0.3', () => {
  for (const testCase of cases) {
    const present = existsSync(testCase.file);
    if (!present && !requireCorpus) {
      console.warn(`skipping ${testCase.title}: '${testCase.file}' is missing`);
      it.skip(`${testCase.title} (missing)`, () => undefined);
      continue;
    }
    it(`${testCase.title}: loads, runs with the same output shapes, fewer MACs and parameters`, async () => {
      expect(present, `'${testCase.file}' (MLCTL_REQUIRE_CORPUS=1)`).toBe(true);
      const model = await load(testCase);
      const sampleOptions = { samples: 1, seed: 1, ...(testCase.shapes === undefined ? {} : { shapeOverrides: testCase.shapes }) };
      const reference = await runSamples(model, { ...sampleOptions, measureShapes: true, label: testCase.title });
      const options = { method: 'channels', sparsity: 0.3, valueShapes: reference.shapes } as const;
      const { model: pruned, report } = pruneModel(model, options);
      const run = await runSamples(pruned, { ...sampleOptions, measureShapes: true, label: `${testCase.title} pruned` });
      // The rewrite computes exactly what the original computes with the removed channels masked.
      const masked = await runSamples(maskPrunedChannels(model, options), { ...sampleOptions, measureShapes: false, label: 'masked' });
      expect(measureAgreement(masked.outputs, run.outputs).worstCosine).toBeGreaterThan(0.99999);
      for (const [name, tensor] of Object.entries(reference.outputs[0]!)) expect(run.outputs[0]![name]!.dims).toEqual(tensor.dims);
      const before = countMacs(model.graph!, reference.shapes);
      const after = countMacs(pruned.graph!, run.shapes);
      expect(before.uncounted).toEqual([]);
      expect(after.total / before.total).toBeLessThan(testCase.maxMacRatio);
      expect(report.parametersAfter).toBeLessThan(report.parametersBefore);
      expect(report.groups.some((group) => group.channels.some((c) => c.after < c.before))).toBe(true);
    });
  }

  it('PP-OCRv4 det, magnitude 50% on its Constant-node weights: exact sparsity, same output shapes', async () => {
    if (!existsSync(ppOcrDetModel)) return;
    const { model } = await loadModel(ppOcrDetModel);
    const { model: pruned, report } = pruneModel(model, { sparsity: 0.5 });
    expect(report.tensors.length).toBeGreaterThan(40);
    for (const tensor of report.tensors) expect(tensor.zerosAfter).toBe(Math.round(tensor.elements / 2));
    const run = await runSamples(pruned, { samples: 1, seed: 1, shapeOverrides: { x: [1, 3, 64, 64] }, measureShapes: false, label: 'det' });
    expect(run.outputs[0]!['sigmoid_0.tmp_0']!.dims).toEqual([1, 1, 64, 64]);
  });
});
