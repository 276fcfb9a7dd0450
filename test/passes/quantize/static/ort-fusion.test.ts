/**
 * The QDQ layout is one ONNX Runtime fuses: for each fixture, calibrate on
 * seeded samples, quantize, and check that the graph onnxruntime optimizes
 * the model into (optimizedModelFilePath) runs the integer kernels
 * (QLinearConv, QLinearMatMul, QGemm, QLinearAdd, QLinearConcat, ...) with
 * no float Conv or MatMul left; the model loads, runs and stays close to
 * the float model on a sample it was not calibrated on.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../../src/onnx/model-io.js';
import type { ModelProto } from '../../../../src/onnx/types.js';
import { calibrationTensors, prepareForStatic, quantizeStatic } from '../../../../src/passes/quantize/static/index.js';
import { collectRanges } from '../../../../src/verify/calibration/collect-ranges.js';
import { samplesFromFeeds } from '../../../../src/verify/calibration/samples.js';
import { repoRoot } from '../../../helpers/paths.js';
import { cosine, expectWellFormed, runWith } from '../helpers.js';
import { concatModel, feedsFor, optimizedOpTypes, residualModel } from './static-helpers.js';

interface FusionCase {
  name: string;
  model: () => Promise<ModelProto>;
  /** Op types of the optimized graph and how many of each, at least. */
  expected: Record<string, number>;
}

const fixture = (file: string) => async (): Promise<ModelProto> => (await loadModel(path.join(repoRoot, 'fixtures/models', file))).model;

const cases: FusionCase[] = [
  { name: 'conv-net.onnx', model: fixture('conv-net.onnx'), expected: { QLinearConv: 2, QLinearGlobalAveragePool: 1, QGemm: 1 } },
  { name: 'mlp.onnx', model: fixture('mlp.onnx'), expected: { QLinearMatMul: 2, QLinearAdd: 2 } },
  { name: 'matmul-chain.onnx', model: fixture('matmul-chain.onnx'), expected: { QLinearMatMul: 2, MatMulIntegerToFloat: 1 } },
  { name: 'residual block (builder)', model: () => Promise.resolve(residualModel()), expected: { QLinearConv: 2, QLinearAdd: 1, QLinearGlobalAveragePool: 1, QGemm: 1 } },
  { name: 'Concat of two branches (builder)', model: () => Promise.resolve(concatModel()), expected: { QLinearConv: 3, QLinearConcat: 1 } },
];

describe('onnxruntime fuses the QDQ graph into integer kernels', () => {
  for (const { name, model: load, expected } of cases) {
    it(name, async () => {
      const { model: prepared } = prepareForStatic(await load());
      const samples = await Promise.all([1, 2, 3, 4].map((seed) => feedsFor(prepared, seed)));
      const { ranges } = await collectRanges(prepared, calibrationTensors(prepared.graph!), samplesFromFeeds(samples, 'seeded'), { method: 'minmax' });
      const { model: quantized, report } = quantizeStatic(prepared, ranges);
      expectWellFormed(quantized);
      expect(report.nodesQuantized).toBeGreaterThan(0);
      const ops = await optimizedOpTypes(quantized);
      for (const [op, count] of Object.entries(expected)) expect(ops[op] ?? 0, `${op} in ${JSON.stringify(ops)}`).toBeGreaterThanOrEqual(count);
      expect(ops.Conv ?? 0, JSON.stringify(ops)).toBe(0);
      expect(ops.MatMul ?? 0, JSON.stringify(ops)).toBe(0);
      const unseen = await feedsFor(prepared, 99);
      const [a, b] = [await runWith(prepared, unseen), await runWith(quantized, unseen)];
      for (const output of Object.keys(a)) expect(cosine(a[output]!, b[output]!), output).toBeGreaterThan(0.99);
    });
  }
});
