/**
 * rewriteConvTranspose: a ConvTranspose with kernel = stride becomes a 1×1
 * Conv and a DepthToSpace, after the per-channel Add and BatchNormalization
 * after it are folded in, with a following Relu/Clip moved before the
 * DepthToSpace; anything else is left alone. Each case runs the original and
 * the rewritten model in onnxruntime on the same seeded input.
 */
import { describe, expect, it } from 'vitest';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo, type AttrValue } from '../../../../src/onnx/builder.js';
import { loadModel, serializeModel } from '../../../../src/onnx/model-io.js';
import { createTensor } from '../../../../src/onnx/tensor.js';
import { DataType, type ModelProto, type NodeProto, type TensorProto } from '../../../../src/onnx/types.js';
import { rewriteConvTranspose } from '../../../../src/passes/quantize/static/convtranspose.js';
import type { HostTensor } from '../../../../src/runtime/types.js';
import { ppOcrDetModel } from '../../../helpers/paths.js';
import { cosine, expectWellFormed, opTypes, runWith, weight } from '../helpers.js';
import { floatTensor, freshNames, optimizedOpTypes, textPage } from './static-helpers.js';

const F = DataType.FLOAT;

interface Spec {
  /** Weight dims `[Cin, Cout / group, k…]`. */
  weightDims: number[];
  attributes: Record<string, AttrValue>;
  bias?: boolean;
  inputDims?: number[];
  /** Nodes after the ConvTranspose, reading `t` and ending in `y`. */
  after?: NodeProto[];
  initializers?: TensorProto[];
}

function convTransposeModel(spec: Spec): ModelProto {
  const { weightDims } = spec;
  const cin = weightDims[0]!;
  const cout = weightDims[1]! * Number(spec.attributes.group ?? 1);
  const spatial = weightDims.length - 2;
  const inputDims = spec.inputDims ?? [1, cin, 5, 6, 4].slice(0, 2 + spatial);
  const after = spec.after ?? [];
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'convtranspose',
      nodes: [makeNode('ConvTranspose', ['x', 'w', ...(spec.bias === true ? ['b'] : [])], [after.length === 0 ? 'y' : 't'], spec.attributes, { name: 'deconv' }), ...after],
      inputs: [makeTensorValueInfo('x', F, inputDims)],
      outputs: [makeTensorValueInfo('y', F)],
      valueInfo: after.length === 0 ? [] : [makeTensorValueInfo('t', F, [1, cout, null, null])],
      initializers: [weight('w', weightDims, 31, 0.5), weight('b', [cout], 32, 0.3), ...(spec.initializers ?? [])],
    }),
  });
}

async function expectSameOutputs(original: ModelProto, rewritten: ModelProto, inputDims: number[]): Promise<void> {
  const feeds: Record<string, HostTensor> = { x: floatTensor(inputDims, 7) };
  const [a, b] = [(await runWith(original, feeds)).y!, (await runWith(rewritten, feeds)).y!];
  expect(b.dims).toEqual(a.dims);
  const [x, y] = [a.data as Float32Array, b.data as Float32Array];
  let [maxDiff, maxAbs] = [0, 0];
  for (let i = 0; i < x.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(x[i]! - y[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(x[i]!));
  }
  expect(maxDiff).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs));
}

function rewrite(model: ModelProto): { model: ModelProto; report: ReturnType<typeof rewriteConvTranspose>['report'] } {
  const before = Buffer.from(serializeModel(model));
  const { graph, report } = rewriteConvTranspose(model.graph!, freshNames(model));
  // Buffer.equals: toEqual compares a several-megabyte array element by element, for seconds.
  expect(Buffer.from(serializeModel(model)).equals(before)).toBe(true);
  return { model: graph === model.graph ? model : { ...model, graph }, report };
}

function inputDimsOf(model: ModelProto): number[] {
  return model.graph!.input[0]!.type!.tensorType!.shape!.dim.map((d) => Number(d.dimValue));
}

describe('rewriteConvTranspose', () => {
  it.each([
    { k: 2, bias: true },
    { k: 2, bias: false },
    { k: 3, bias: true },
    { k: 3, bias: false },
  ])('kernel = stride = $k, bias $bias: a 1×1 Conv named as the ConvTranspose, then DepthToSpace; outputs agree', async ({ k, bias }) => {
    const model = convTransposeModel({ weightDims: [4, 3, k, k], attributes: { kernel_shape: [k, k], strides: [k, k], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 }, bias });
    const { model: rewritten, report } = rewrite(model);
    expect(report).toEqual({ rewritten: 1, folded: 0, activationsMoved: 0 });
    const [conv, depthToSpace] = rewritten.graph!.node;
    expect(opTypes(rewritten.graph)).toEqual(['Conv', 'DepthToSpace']);
    expect(conv!.name).toBe('deconv');
    expect(conv!.input).toHaveLength(bias ? 3 : 2);
    expect(depthToSpace!.output).toEqual(['y']);
    expect(Number(depthToSpace!.attribute.find((a) => a.name === 'blocksize')!.i)).toBe(k);
    expectWellFormed(rewritten);
    await expectSameOutputs(model, rewritten, inputDimsOf(model));
  });

  it('without kernel_shape (taken from the weight) it still rewrites', async () => {
    const model = convTransposeModel({ weightDims: [2, 5, 2, 2], attributes: { strides: [2, 2] }, bias: true });
    const { model: rewritten, report } = rewrite(model);
    expect(report.rewritten).toBe(1);
    await expectSameOutputs(model, rewritten, inputDimsOf(model));
  });

  it.each([
    {
      activation: 'Relu',
      after: [
        makeNode('Add', ['t', 'c'], ['a'], {}, { name: 'add' }),
        makeNode('BatchNormalization', ['a', 'gamma', 'beta', 'mean', 'var'], ['n'], { epsilon: 1e-3 }, { name: 'bn' }),
        makeNode('Relu', ['n'], ['y'], {}, { name: 'relu' }),
      ],
      constant: createTensor('c', F, [1, 3, 1, 1], [0.2, -0.4, 0.1]),
    },
    {
      activation: 'Clip',
      after: [
        makeNode('Add', ['c', 't'], ['a'], {}, { name: 'add' }),
        makeNode('BatchNormalization', ['a', 'gamma', 'beta', 'mean', 'var'], ['n'], {}, { name: 'bn' }),
        // Constant bounds defined after the ConvTranspose: the moved Clip must still come after them.
        makeNode('Constant', [], ['lo'], { value: createTensor('lo', F, [], [0]) }),
        makeNode('Constant', [], ['hi'], { value: createTensor('hi', F, [], [0.5]) }),
        makeNode('Clip', ['n', 'lo', 'hi'], ['y'], {}, { name: 'clip' }),
      ],
      constant: createTensor('c', F, [3, 1, 1], [0.2, -0.4, 0.1]),
    },
  ])('ConvTranspose → Add → BatchNormalization → $activation: both folded, the $activation moved before DepthToSpace', async ({ activation, after, constant }) => {
    const model = convTransposeModel({
      weightDims: [4, 3, 2, 2],
      attributes: { kernel_shape: [2, 2], strides: [2, 2] },
      after,
      initializers: [
        constant,
        createTensor('gamma', F, [3], [0.5, 1, 2]),
        createTensor('beta', F, [3], [0.1, -0.2, 0.3]),
        createTensor('mean', F, [3], [0.05, -0.1, 0.2]),
        createTensor('var', F, [3], [1, 4, 0.25]),
      ],
    });
    const { model: rewritten, report } = rewrite(model);
    expect(report).toEqual({ rewritten: 1, folded: 2, activationsMoved: 1 });
    expect(opTypes(rewritten.graph).filter((op) => op !== 'Constant')).toEqual(['Conv', activation, 'DepthToSpace']);
    expect(rewritten.graph!.node.at(-1)!.output).toEqual(['y']);
    expect(rewritten.graph!.valueInfo.map((info) => info.name)).not.toContain('t');
    expectWellFormed(rewritten);
    await expectSameOutputs(model, rewritten, inputDimsOf(model));
  });

  it('an Add that varies along a spatial axis, or whose input has another reader, is not folded', async () => {
    const model = convTransposeModel({
      weightDims: [4, 3, 2, 2],
      attributes: { strides: [2, 2] },
      inputDims: [1, 4, 3, 3],
      after: [makeNode('Add', ['t', 'row'], ['a'], {}, { name: 'add' }), makeNode('Mul', ['a', 't'], ['y'], {}, { name: 'mul' })],
      initializers: [createTensor('row', F, [1, 1, 6, 1], [1, 2, 3, 4, 5, 6])],
    });
    const { model: rewritten, report } = rewrite(model);
    expect(report).toEqual({ rewritten: 1, folded: 0, activationsMoved: 0 });
    expect(opTypes(rewritten.graph)).toEqual(['Conv', 'DepthToSpace', 'Add', 'Mul']);
    await expectSameOutputs(model, rewritten, inputDimsOf(model));
  });

  it.each<{ name: string; weightDims: number[]; attributes: Record<string, AttrValue> }>([
    { name: 'stride ≠ kernel', weightDims: [4, 3, 3, 3], attributes: { strides: [2, 2] } },
    { name: 'unequal kernel sides', weightDims: [4, 3, 2, 3], attributes: { strides: [2, 3] } },
    { name: 'pads', weightDims: [4, 3, 2, 2], attributes: { strides: [2, 2], pads: [1, 0, 1, 0] } },
    { name: 'group 2', weightDims: [4, 2, 2, 2], attributes: { strides: [2, 2], group: 2 } },
    { name: 'output_padding', weightDims: [4, 3, 2, 2], attributes: { strides: [2, 2], output_padding: [1, 1] } },
    { name: 'dilation 2', weightDims: [4, 3, 2, 2], attributes: { strides: [2, 2], dilations: [2, 2] } },
    { name: 'auto_pad SAME_UPPER', weightDims: [4, 3, 2, 2], attributes: { strides: [2, 2], auto_pad: 'SAME_UPPER' } },
    { name: 'output_shape', weightDims: [4, 3, 2, 2], attributes: { strides: [2, 2], output_shape: [10, 12] } },
    { name: 'kernel 1', weightDims: [4, 3, 1, 1], attributes: { strides: [1, 1] } },
    { name: '1-D', weightDims: [4, 3, 2], attributes: { strides: [2] } },
    { name: '3-D', weightDims: [4, 3, 2, 2, 2], attributes: { strides: [2, 2, 2] } },
  ])('$name: left alone (same graph back)', ({ weightDims, attributes }) => {
    const model = convTransposeModel({ weightDims, attributes, bias: true });
    const { graph, report } = rewriteConvTranspose(model.graph!, freshNames(model));
    expect(graph).toBe(model.graph);
    expect(report).toEqual({ rewritten: 0, folded: 0, activationsMoved: 0 });
  });

  it('an ineligible ConvTranspose still takes the Add after it into its bias', async () => {
    const model = convTransposeModel({
      weightDims: [4, 3, 3, 3],
      attributes: { strides: [2, 2], pads: [1, 1, 1, 1] },
      bias: true,
      after: [makeNode('Add', ['t', 'c'], ['y'], {}, { name: 'add' })],
      initializers: [createTensor('c', F, [1, 3, 1, 1], [0.2, -0.4, 0.1])],
    });
    const { model: rewritten, report } = rewrite(model);
    expect(report).toEqual({ rewritten: 0, folded: 1, activationsMoved: 0 });
    expect(opTypes(rewritten.graph)).toEqual(['ConvTranspose']);
    expect(rewritten.graph!.node[0]!.output).toEqual(['y']);
    expectWellFormed(rewritten);
    await expectSameOutputs(model, rewritten, inputDimsOf(model));
  });

  it('PP-OCRv4 det: both ConvTranspose rewritten, their Add/BN folded, the Relu moved; outputs agree', async () => {
    const { model } = await loadModel(ppOcrDetModel);
    const { model: rewritten, report } = rewrite(model);
    expect(report).toEqual({ rewritten: 2, folded: 3, activationsMoved: 1 });
    const ops = opTypes(rewritten.graph);
    expect(ops).not.toContain('ConvTranspose');
    expect(ops.filter((op) => op === 'DepthToSpace')).toHaveLength(2);
    expectWellFormed(rewritten);
    // On noise the map is all but zero (sigmoid of large negative logits, max ≈ 1e-4) and float rounding
    // alone puts its cosine near 0.99998; a text page gives a real detection map.
    for (const offset of [0, 9]) {
      const feeds = { x: textPage(160, 160, offset) };
      const [a, b] = [await runWith(model, feeds), await runWith(rewritten, feeds)];
      const output = Object.keys(a)[0]!;
      expect(cosine(a[output]!, b[output]!)).toBeGreaterThanOrEqual(0.99999);
    }
  });
});

describe('onnxruntime CPU and a QDQ DepthToSpace', () => {
  it('drops the DequantizeLinear/QuantizeLinear around it and moves the 8-bit tensor', async () => {
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'qdq_depth_to_space',
        nodes: [
          makeNode('QuantizeLinear', ['x', 's', 'z'], ['xq']),
          makeNode('DequantizeLinear', ['xq', 's', 'z'], ['xd']),
          makeNode('DepthToSpace', ['xd'], ['d'], { blocksize: 2 }),
          makeNode('QuantizeLinear', ['d', 's', 'z'], ['dq']),
          makeNode('DequantizeLinear', ['dq', 's', 'z'], ['y']),
        ],
        inputs: [makeTensorValueInfo('x', F, [1, 8, 4, 4])],
        outputs: [makeTensorValueInfo('y', F, [1, 2, 8, 8])],
        initializers: [createTensor('s', F, [], [0.02]), createTensor('z', DataType.UINT8, [], [128])],
      }),
    });
    expect(await optimizedOpTypes(model)).toEqual({ QuantizeLinear: 1, DepthToSpace: 1, DequantizeLinear: 1 });
  });
});
