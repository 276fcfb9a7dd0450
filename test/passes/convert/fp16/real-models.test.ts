/**
 * Float16 on published models: PP-OCRv4 detection and recognition load and
 * run in onnxruntime, their files halve, and their outputs stay close to
 * float32's (full figures, with ResNet50, in benchmarks/RESULTS.md).
 */
import { describe, expect, it } from 'vitest';
import { loadModel, serializeModel } from '../../../../src/onnx/model-io.js';
import { convertToFloat16 } from '../../../../src/passes/convert/fp16/index.js';
import { compareTensors } from '../../../../src/verify/compare.js';
import { ppOcrDetModel, ppOcrRecModel } from '../../../helpers/paths.js';
import { input, run } from '../simplify/helpers.js';

const cases = [
  { name: 'PP-OCRv4 det', file: ppOcrDetModel, dims: [1, 3, 64, 64], minCosine: 0.99, maxAbsError: 1e-3 },
  { name: 'PP-OCRv4 rec', file: ppOcrRecModel, dims: [1, 3, 48, 160], minCosine: 0.9999, maxAbsError: 1e-2 },
];

describe('float16 on PP-OCR', () => {
  it.each(cases)('$name: half the size, runs, close to float32', { timeout: 30_000 }, async ({ file, dims, minCosine, maxAbsError }) => {
    const loaded = await loadModel(file);
    const { model: half, report } = convertToFloat16(loaded.model);
    const ratio = serializeModel(half).length / loaded.sizeBytes;
    expect(ratio).toBeGreaterThan(0.49);
    expect(ratio).toBeLessThan(0.53);
    expect(report.unknownTypeValues).toBe(0);
    const feeds = { x: input(dims, 11) };
    const [expected, actual] = [await run(loaded.model, feeds), await run(half, feeds)];
    for (const [name, tensor] of Object.entries(expected)) {
      const comparison = compareTensors(name, tensor, actual[name]!);
      expect(comparison.shapeMatches).toBe(true);
      expect(comparison.cosine).toBeGreaterThan(minCosine);
      expect(comparison.maxAbsError).toBeLessThan(maxAbsError);
    }
  });

  it('keeps the detector\'s BatchNormalization with a 1e8 variance in float32', { timeout: 30_000 }, async () => {
    const { model } = await loadModel(ppOcrDetModel);
    const { report } = convertToFloat16(model);
    expect(report.blocked).toEqual([
      { opType: 'Resize', reason: 'default block list', count: 6 },
      { opType: 'BatchNormalization', reason: 'constant beyond float16 range', count: 1 },
    ]);
    expect(report.clampedToMax).toBe(0);
  });
});
