/**
 * quantizeModel over the generated fixture models (fixtures/models, see
 * fixtures/manifest.json): in both modes, every output loads and runs in
 * onnxruntime and stays close to the float model; the expected nodes are
 * quantized.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src/onnx/model-io.js';
import { quantizeModel, type QuantizeMode } from '../../../src/passes/quantize/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { expectWellFormed, worstCosine } from './helpers.js';

interface FixtureCase {
  file: string;
  /** Quantized nodes by mode, as `name:action` (unnamed nodes as `#index`). */
  expected: Record<QuantizeMode, string[]>;
}

const cases: FixtureCase[] = [
  { file: 'mlp.onnx', expected: { dynamic: ['dynamic', 'dynamic'], 'weight-only': ['weight-only', 'weight-only'] } },
  { file: 'matmul-chain.onnx', expected: { dynamic: ['dynamic', 'dynamic', 'dynamic'], 'weight-only': ['weight-only', 'weight-only', 'weight-only'] } },
  { file: 'gemm-transb.onnx', expected: { dynamic: ['dynamic'], 'weight-only': ['weight-only'] } },
  // Conv stays weight-only in dynamic mode by default (ConvInteger is slower in onnxruntime); the Gemm goes dynamic.
  { file: 'conv-net.onnx', expected: { dynamic: ['weight-only', 'weight-only', 'dynamic'], 'weight-only': ['weight-only', 'weight-only', 'weight-only'] } },
  { file: 'embedding.onnx', expected: { dynamic: ['weight-only', 'dynamic'], 'weight-only': ['weight-only', 'weight-only'] } },
  { file: 'shared-weight.onnx', expected: { dynamic: ['dynamic', 'dynamic'], 'weight-only': ['weight-only', 'weight-only'] } },
  { file: 'if-subgraph.onnx', expected: { dynamic: [], 'weight-only': [] } },
  { file: 'loop-scan.onnx', expected: { dynamic: [], 'weight-only': [] } },
  { file: 'function.onnx', expected: { dynamic: [], 'weight-only': [] } },
  { file: 'sparse-initializer.onnx', expected: { dynamic: [], 'weight-only': [] } },
];

const modelPath = (file: string): string => path.join(repoRoot, 'fixtures/models', file);

describe('quantizeModel on the fixture models', () => {
  for (const { file, expected } of cases) {
    for (const mode of ['dynamic', 'weight-only'] as const) {
      it(`${file}, ${mode}: loads, runs and stays close`, async () => {
        const { model } = await loadModel(modelPath(file));
        const { model: q, report } = quantizeModel(model, { mode, minElements: 0, convIntegerWeightTypes: ['int8', 'uint8'] });
        expectWellFormed(q);
        expect(report.nodes.filter((n) => n.action !== 'skipped').map((n) => n.action)).toEqual(expected[mode]);
        expect(await worstCosine(model, q)).toBeGreaterThan(0.995);
      });
    }
  }

  it('conv-net.onnx with ConvInteger asked for: loads, runs and stays close', async () => {
    const { model } = await loadModel(modelPath('conv-net.onnx'));
    const { model: q, report } = quantizeModel(model, { minElements: 0, convInteger: true, convIntegerWeightTypes: ['int8', 'uint8'] });
    expect(report.nodes.map((n) => n.action)).toEqual(['dynamic', 'dynamic', 'dynamic']);
    expect(await worstCosine(model, q)).toBeGreaterThan(0.995);
  });

  it('external-data.onnx: weights in external data are skipped, with the reason, without a reader', async () => {
    const { model } = await loadModel(modelPath('external-data.onnx'));
    const { report } = quantizeModel(model, { minElements: 0 });
    expect(report.nodesQuantized).toBe(0);
    expect(report.nodes[0]!.reason).toMatch(/external data that was not made available/);
  });

  it('opset9-ir3.onnx: without an opset converter nothing is quantized and the report says why', async () => {
    const { model } = await loadModel(modelPath('opset9-ir3.onnx'));
    const { model: q, report } = quantizeModel(model, { minElements: 0 });
    expect(q).toBe(model);
    expect(report.opsetConversionError).toMatch(/opset 9 is below the 13/);
  });
});
