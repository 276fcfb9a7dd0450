/**
 * --simplify on the exported real models of the issue: PP-OCR (det, rec,
 * cls) and Silero VAD. Node counts before and after are pinned, and
 * onnxruntime gives the same outputs within rtol 1e-3 / atol 1e-4 on the
 * same inputs (real-sized image crops; Silero with one 512-sample 16 kHz chunk).
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../../src/onnx/model-io.js';
import type { GraphProto } from '../../../../src/onnx/types.js';
import type { HostTensor } from '../../../../src/runtime/types.js';
import { setInputShapes } from '../../../../src/passes/convert/shapes/index.js';
import { ortConstantEvaluator } from '../../../../src/convert-runtime/ort-evaluator.js';
import { simplifyModel } from '../../../../src/passes/convert/simplify/index.js';
import { ppOcrClsModel, ppOcrDetModel, ppOcrRecModel, sileroVad16kModel, sileroVadModel } from '../../../helpers/paths.js';
import { expectClose, input, run } from './helpers.js';

const silero: Record<string, HostTensor> = {
  input: input([1, 512], 21, 0.5),
  state: { dtype: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
  sr: { dtype: 'int64', dims: [], data: BigInt64Array.from([16000n]) },
};

const cases = [
  { name: 'PP-OCRv4 det', file: ppOcrDetModel, feeds: { x: input([1, 3, 64, 64], 22) }, nodes: [672, 328] },
  { name: 'PP-OCRv4 rec', file: ppOcrRecModel, feeds: { x: input([1, 3, 48, 160], 23) }, nodes: [765, 419] },
  { name: 'PP-OCR v2.0 cls', file: ppOcrClsModel, feeds: { x: input([1, 3, 48, 192], 24) }, nodes: [471, 184] },
  { name: 'Silero VAD v5', file: sileroVadModel, feeds: silero, nodes: [689, 325] },
];

describe('simplify on real models', () => {
  it.each(cases)('$name: $nodes.0 → $nodes.1 nodes, same outputs', { timeout: 30_000 }, async ({ file, feeds, nodes }) => {
    const { model } = await loadModel(file);
    const { model: simple, report } = await simplifyModel(model, { evaluate: ortConstantEvaluator() });
    expect([report.before.nodes, report.after.nodes]).toEqual(nodes);
    // Growth from folding stays within the default 64 KiB limit.
    expect(report.after.weightBytes).toBeLessThanOrEqual(report.before.weightBytes + 64 * 1024);
    const [expected, actual] = [await run(model, feeds), await run(simple, feeds)];
    for (const name of Object.keys(expected)) expectClose(actual[name]!, expected[name]!, 1e-3, 1e-4);
  });
});

describe('simplify with fixed input shapes', () => {
  it('Silero VAD 16 kHz: the If nodes the shapes decide are inlined; same outputs', { timeout: 30_000 }, async () => {
    const { model } = await loadModel(sileroVad16kModel);
    const shaped = setInputShapes(model, { input: [1, 512], state: [2, 1, 128] }).model;
    const { model: simple, report } = await simplifyModel(shaped, { evaluate: ortConstantEvaluator() });
    expect(report.changes['inline-if']).toBe(2);
    const ifs = (graph: GraphProto): number => graph.node.reduce((n, node) => n + (node.opType === 'If' ? 1 : 0) + node.attribute.reduce((m, a) => m + (a.g === undefined ? 0 : ifs(a.g)), 0), 0);
    // Nested Ifs counted: the two inlined Ifs held four more.
    expect([ifs(shaped.graph!), ifs(simple.graph!)]).toEqual([12, 6]);
    expect([report.before.nodes, report.after.nodes]).toEqual([350, 95]);
    const [expected, actual] = [await run(model, silero), await run(simple, silero)];
    for (const name of Object.keys(expected)) expectClose(actual[name]!, expected[name]!, 1e-3, 1e-4);
  });
});
