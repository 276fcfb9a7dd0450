/**
 * prepareForStatic: BatchNormalization folded into the Conv before it, a
 * two-input Sum rewritten as Add, Dropout removed, old opsets raised to 13;
 * the prepared model computes the same outputs.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../../../src/onnx/builder.js';
import { loadModel, serializeModel } from '../../../../src/onnx/model-io.js';
import { createTensor, tensorData } from '../../../../src/onnx/tensor.js';
import { DataType, type ModelProto } from '../../../../src/onnx/types.js';
import { convertOpset } from '../../../../src/passes/convert/opset/index.js';
import { prepareForStatic } from '../../../../src/passes/quantize/static/index.js';
import { repoRoot } from '../../../helpers/paths.js';
import { cosine, expectWellFormed, runWith, weight } from '../helpers.js';
import { floatTensor } from './static-helpers.js';

const F = DataType.FLOAT;

function batchNormModel(): ModelProto {
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'bn',
      nodes: [
        makeNode('Conv', ['x', 'w'], ['c'], { pads: [1, 1, 1, 1] }, { name: 'conv' }),
        makeNode('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['bn'], { epsilon: 1e-3 }, { name: 'bn' }),
        makeNode('Relu', ['bn'], ['r'], {}, { name: 'relu' }),
        makeNode('Dropout', ['r'], ['d'], {}, { name: 'dropout' }),
        makeNode('Sum', ['d', 'x'], ['s'], {}, { name: 'sum' }),
        makeNode('Div', ['s', 'six'], ['y'], {}, { name: 'div' }),
      ],
      inputs: [makeTensorValueInfo('x', F, [1, 3, 6, 6])],
      outputs: [makeTensorValueInfo('y', F, [1, 3, 6, 6])],
      initializers: [
        weight('w', [3, 3, 3, 3], 1, 0.5),
        createTensor('gamma', F, [3], [0.5, 1, 2]),
        createTensor('beta', F, [3], [0.1, -0.2, 0.3]),
        createTensor('mean', F, [3], [0.05, -0.1, 0.2]),
        createTensor('var', F, [3], [1, 4, 0.25]),
        createTensor('six', F, [], [6]),
      ],
    }),
  });
}

describe('prepareForStatic', () => {
  it('folds BatchNormalization into the Conv, rewrites Sum as Add and Div by a constant as Mul, drops Dropout; outputs agree', async () => {
    const model = batchNormModel();
    const before = serializeModel(model);
    const { model: prepared, report } = prepareForStatic(model);
    expect(serializeModel(model)).toEqual(before);
    expect(prepared.graph!.node.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Add', 'Mul']);
    expect(report).toMatchObject({ foldedBatchNorms: ['bn'], sumsRewritten: 1, divisionsRewritten: 1, passThroughsRemoved: 1, opsetBefore: 13, opsetAfter: 13 });
    const reciprocal = prepared.graph!.initializer.find((t) => t.name === prepared.graph!.node[3]!.input[1]);
    expect(Array.from(tensorData(reciprocal!) as Float32Array)).toEqual([Math.fround(1 / 6)]);
    const conv = prepared.graph!.node[0]!;
    expect(conv.output).toEqual(['bn']);
    // W' = W · γ / √(var + ε) per output channel; b' = (0 − mean) · s + β.
    const folded = tensorData(prepared.graph!.initializer.find((t) => t.name === conv.input[1])!) as Float32Array;
    const original = tensorData(model.graph!.initializer.find((t) => t.name === 'w')!) as Float32Array;
    const s = [0.5 / Math.sqrt(1.001), 1 / Math.sqrt(4.001), 2 / Math.sqrt(0.251)];
    expect(folded[0]).toBe(Math.fround(original[0]! * s[0]!));
    expect(folded[27 * 2 + 5]).toBe(Math.fround(original[27 * 2 + 5]! * s[2]!));
    const bias = tensorData(prepared.graph!.initializer.find((t) => t.name === conv.input[2])!) as Float32Array;
    expect(Array.from(bias)).toEqual([0, 1, 2].map((c) => Math.fround(-[0.05, -0.1, 0.2][c]! * s[c]! + [0.1, -0.2, 0.3][c]!)));
    // Unused BatchNormalization parameters and the original weight are gone.
    expect(prepared.graph!.initializer.map((t) => t.name)).not.toContain('gamma');
    expect(prepared.graph!.initializer.map((t) => t.name)).not.toContain('w');
    expectWellFormed(prepared);
    const feeds = { x: floatTensor([1, 3, 6, 6], 3) };
    const [a, b] = [await runWith(model, feeds), await runWith(prepared, feeds)];
    expect(cosine(a.y!, b.y!)).toBeGreaterThan(0.9999999);
  });

  it('raises opset 9 / IR 3 to opset 13, dropping initializers from the graph inputs; the result runs', async () => {
    const { model } = await loadModel(path.join(repoRoot, 'fixtures/models/opset9-ir3.onnx'));
    const { model: prepared, report } = prepareForStatic(model, { convertOpset: (m, target) => convertOpset(m, target) });
    expect(report.opsetBefore).toBe(9);
    expect(report.opsetAfter).toBe(13);
    expect(Number(prepared.irVersion)).toBeGreaterThanOrEqual(7);
    const initializers = new Set(prepared.graph!.initializer.map((t) => t.name));
    expect(prepared.graph!.input.some((i) => initializers.has(i.name))).toBe(false);
    const shape = model.graph!.input[0]!.type!.tensorType!.shape!.dim.map((d) => Number(d.dimValue ?? 1n));
    const feeds = { [prepared.graph!.input[0]!.name!]: floatTensor(shape, 2) };
    const [a, b] = [await runWith(model, feeds), await runWith(prepared, feeds)];
    for (const name of Object.keys(a)) expect(cosine(a[name]!, b[name]!)).toBeGreaterThan(0.999999);
  });

  it('without a converter, an old opset is reported and nothing changes', async () => {
    const { model } = await loadModel(path.join(repoRoot, 'fixtures/models/opset9-ir3.onnx'));
    const { report } = prepareForStatic(model);
    expect(report.opsetConversionError).toMatch(/opset 9 is below the 13 .* no opset converter was given/);
  });
});
