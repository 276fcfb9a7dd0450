/**
 * quantizeStatic's graph: which nodes are quantized, Relu folded into its
 * producer, parameters shared through data-moving operators, graph outputs
 * kept float, int32 biases with scale = input_scale × weight_scale, int8
 * per-channel weights, exclusions and forced-float nodes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../../../src/onnx/builder.js';
import { GraphIndex } from '../../../../src/onnx/graph.js';
import { serializeModel } from '../../../../src/onnx/model-io.js';
import { createTensor, tensorData } from '../../../../src/onnx/tensor.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto } from '../../../../src/onnx/types.js';
import { activationParams, quantizeStatic, type TensorRange } from '../../../../src/passes/quantize/static/index.js';
import { expectWellFormed, initializer, opTypes, weight } from '../helpers.js';
import { concatModel, directRanges, feedsFor, residualModel } from './static-helpers.js';

function producerOf(graph: GraphProto, name: string): NodeProto | undefined {
  return new GraphIndex(graph).producer(name)?.node;
}

function floats(graph: GraphProto, name: string): number[] {
  return Array.from(tensorData(initializer(graph, name)!) as Float32Array);
}

let residual: ModelProto;
let residualRanges: Map<string, TensorRange>;

beforeAll(async () => {
  residual = residualModel();
  residualRanges = await directRanges(residual, [await feedsFor(residual, 1), await feedsFor(residual, 2)]);
});

describe('quantizeStatic on a residual block', () => {
  it('quantizes Conv, Add, GlobalAveragePool, Flatten and Gemm; folds both Relu; keeps the graph output float', () => {
    const before = serializeModel(residual);
    const { model, report } = quantizeStatic(residual, residualRanges);
    expect(serializeModel(residual)).toEqual(before);
    expectWellFormed(model);
    expect(report.nodes.map((n) => `${n.node}:${n.action}`)).toEqual([
      'conv1:quantized', 'relu1:fused', 'conv2:quantized', 'add:quantized', 'relu2:fused', 'gap:quantized', 'flatten:quantized', 'fc:quantized',
    ]);
    const graph = model.graph!;
    expect(opTypes(graph)).not.toContain('Relu');
    // conv1 now writes relu1's output, and its QuantizeLinear clamps at 0 (zero point 0 for uint8 over [0, max]).
    expect(producerOf(graph, 'r1')?.name).toBe('conv1');
    const r1 = report.activations.find((a) => a.tensor === 'r1')!;
    expect(r1.fusedActivation).toEqual({ opType: 'Relu', min: 0, max: Infinity });
    expect(r1.zeroPoint).toBe(0);
    expect(r1.rmin).toBe(residualRanges.get('r1')!.min);
    // Every quantized activation: tensor → QuantizeLinear → DequantizeLinear → all consumers.
    expect(report.activations.map((a) => a.tensor)).toEqual(['x', 'r1', 'c2', 'r2', 'gap', 'flat']);
    const index = new GraphIndex(graph);
    for (const activation of report.activations) {
      const consumers = index.consumers(activation.tensor).map((c) => c.node.opType);
      expect(consumers, activation.tensor).toEqual(['QuantizeLinear']);
      expect(producerOf(graph, activation.dequantized)?.opType).toBe('DequantizeLinear');
    }
    expect(index.consumers('logits')).toEqual([]);
    expect(producerOf(graph, 'logits')?.opType).toBe('Gemm');
    // The Add reads both operands dequantized.
    const add = graph.node.find((n) => n.name === 'add')!;
    expect(add.input.map((name) => producerOf(graph, name)?.opType)).toEqual(['DequantizeLinear', 'DequantizeLinear']);
  });

  it('writes int8 per-channel weights and int32 biases with scale = input_scale × weight_scale', () => {
    const { model, report } = quantizeStatic(residual, residualRanges);
    const graph = model.graph!;
    const w1 = initializer(graph, 'w1_quantized')!;
    expect(w1.dataType).toBe(DataType.INT8);
    expect(w1.dims).toEqual([4n, 4n, 3n, 3n]);
    const dequantizeW1 = graph.node.find((n) => n.opType === 'DequantizeLinear' && n.input[0] === 'w1_quantized')!;
    expect(dequantizeW1.attribute.find((a) => a.name === 'axis')?.i).toBe(0n);
    const x = residualRanges.get('x')!;
    const inputScale = activationParams(x.min, x.max, 'uint8').scale;
    const weightScales = floats(graph, 'w1_scale');
    expect(weightScales).toHaveLength(4);
    const b1 = initializer(graph, 'b1_quantized')!;
    expect(b1.dataType).toBe(DataType.INT32);
    // A Conv's bias scale is computed: Mul(input scale, weight scale), no zero point (0 is the default).
    const dequantizeB1 = graph.node.find((n) => n.opType === 'DequantizeLinear' && n.input[0] === 'b1_quantized')!;
    expect(dequantizeB1.input).toEqual(['b1_quantized', 'b1_scale']);
    const scaleMul = producerOf(graph, 'b1_scale')!;
    expect(scaleMul.opType).toBe('Mul');
    expect(floats(graph, scaleMul.input[0]!)).toEqual([inputScale]);
    expect(scaleMul.input[1]).toBe('w1_scale');
    expect(dequantizeW1.input).toEqual(['w1_quantized', 'w1_scale']);
    expect(initializer(graph, 'w1_zero_point')).toBeUndefined();
    expect(initializer(graph, 'b1_zero_point')).toBeUndefined();
    // Stored explicitly, it is the float32 product.
    const explicit = quantizeStatic(residual, residualRanges, { explicitBiasScales: true }).model.graph!;
    expect(floats(explicit, 'b1_scale')).toEqual(weightScales.map((s) => Math.fround(inputScale * s)));
    expect(explicit.node.some((n) => n.output[0] === 'b1_scale')).toBe(false);
    // Gemm with transB: weights per output channel along axis 0, bias scale per channel.
    expect(floats(graph, 'fc_scale')).toHaveLength(5);
    expect(floats(graph, 'fcb_scale')).toHaveLength(5);
    // The float weights are gone; the report accounts for them.
    expect(initializer(graph, 'w1')).toBeUndefined();
    expect(report.weights.map((w) => `${w.name}:${w.axis}`)).toEqual(['w1:0', 'w2:0', 'fc:0']);
    expect(report.weightBytesBefore).toBe((144 + 144 + 20) * 4);
    expect(report.biases.map((b) => b.name)).toEqual(['b1', 'b2', 'fcb']);
  });

  it('--exclude and forceFloat leave nodes in float with the reason; a Relu after a float node stays', () => {
    const excluded = quantizeStatic(residual, residualRanges, { exclude: ['conv2'] });
    expect(excluded.report.nodes.find((n) => n.node === 'conv2')).toMatchObject({ action: 'float', reason: 'excluded by --exclude' });
    expect(initializer(excluded.model.graph!, 'w2')).toBeDefined();
    const forced = quantizeStatic(residual, residualRanges, { forceFloat: ['add'] });
    expect(forced.report.nodes.filter((n) => n.action === 'float').map((n) => `${n.node}: ${n.reason}`)).toEqual([
      'add: kept in float by the accuracy-driven search',
      'relu2: its input is not quantized',
    ]);
    expect(opTypes(forced.model.graph!)).toContain('Relu');
    expectWellFormed(forced.model);
  });

  it('--per-tensor writes one weight scale per tensor', () => {
    const { model } = quantizeStatic(residual, residualRanges, { perChannel: false });
    expect(initializer(model.graph!, 'w1_scale')!.dims).toEqual([]);
    expect(producerOf(model.graph!, 'b1_scale')!.opType).toBe('Mul');
    expect(initializer(quantizeStatic(residual, residualRanges, { perChannel: false, explicitBiasScales: true }).model.graph!, 'b1_scale')!.dims).toEqual([]);
  });

  it('int8 activations', () => {
    const { model, report } = quantizeStatic(residual, residualRanges, { activationType: 'int8' });
    expect(initializer(model.graph!, 'x_zero_point')!.dataType).toBe(DataType.INT8);
    expect(report.activations.find((a) => a.tensor === 'r1')!.zeroPoint).toBe(-128);
  });

  it('a tensor without a range is not quantized, and neither is the node needing it', () => {
    const ranges = new Map(residualRanges);
    ranges.delete('x');
    const { report } = quantizeStatic(residual, ranges);
    expect(report.nodes.find((n) => n.node === 'conv1')).toMatchObject({ action: 'float', reason: "its input 'x' has no calibrated float range" });
    expect(report.nodes.find((n) => n.node === 'add')).toMatchObject({ action: 'float' });
  });

  it('a NaN weight leaves its node in float', () => {
    const model = residualModel();
    const w2 = model.graph!.initializer.findIndex((t) => t.name === 'w2');
    model.graph!.initializer[w2] = createTensor('w2', DataType.FLOAT, [4, 4, 3, 3], new Float32Array(144).fill(Number.NaN));
    const { report } = quantizeStatic(model, residualRanges);
    expect(report.nodes.find((n) => n.node === 'conv2')).toMatchObject({ action: 'float', reason: 'the weight holds NaN' });
  });

  it('raises the scale of a weight channel too small for its int32 bias instead of clipping the bias', () => {
    const model = residualModel();
    const w2 = model.graph!.initializer.findIndex((t) => t.name === 'w2');
    const values = tensorData(model.graph!.initializer[w2]!) as Float32Array;
    const tiny = Float32Array.from(values, (v, i) => (i < 36 ? v * 1e-12 : v));
    model.graph!.initializer[w2] = createTensor('w2', DataType.FLOAT, [4, 4, 3, 3], tiny);
    const { report } = quantizeStatic(model, residualRanges);
    expect(report.biases.find((b) => b.name === 'b2')).toMatchObject({ clipped: 0, weightScalesRaised: 1 });
    expect(report.notes).toContain('1 weight channel scales were raised so that their int32 bias fits (as onnxruntime does)');
  });

  it('a model below opset 13 is left alone, with a note', () => {
    const old = { ...residual, opsetImport: [{ domain: '', version: 11n }] };
    const { model, report } = quantizeStatic(old, residualRanges);
    expect(model).toBe(old);
    expect(report.notes[0]).toMatch(/opset 11 is below 13/);
  });
});

describe('quantizeStatic on a Concat of two branches', () => {
  it('quantizes Concat; MaxPool and Reshape reuse their input\'s scale and zero point', async () => {
    const model = concatModel();
    const ranges = await directRanges(model, [await feedsFor(model, 3)]);
    const { model: quantized, report } = quantizeStatic(model, ranges);
    expectWellFormed(quantized);
    expect(report.nodes.map((n) => `${n.node}:${n.action}`)).toEqual([
      'conv_a:quantized', 'relu_a:fused', 'conv_b:quantized', 'relu_b:fused', 'concat:quantized', 'conv_c:quantized', 'pool:quantized', 'reshape:quantized', 'matmul:quantized',
    ]);
    const pool = report.activations.find((a) => a.tensor === 'pool')!;
    const flat = report.activations.find((a) => a.tensor === 'flat')!;
    expect(pool.sharedWith).toBe('c');
    expect(flat.sharedWith).toBe('c');
    const quantizeNodes = quantized.graph!.node.filter((n) => n.opType === 'QuantizeLinear');
    const scaleOf = (tensor: string): string | undefined => quantizeNodes.find((n) => n.input[0] === tensor)?.input[1];
    expect(scaleOf('pool')).toBe(scaleOf('c'));
    expect(scaleOf('flat')).toBe(scaleOf('c'));
    // The Reshape's shape input is not data: it stays as it is.
    expect(quantized.graph!.node.find((n) => n.name === 'reshape')!.input[1]).toBe('shape');
  });
});

describe('quantizeStatic on operators with ranges of their own', () => {
  it('sets a Softmax output to [0, 1] and quantizes a constant Add operand like an activation', () => {
    const F = DataType.FLOAT;
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'softmax',
        nodes: [
          makeNode('MatMul', ['x', 'w'], ['m'], {}, { name: 'mm' }),
          makeNode('Add', ['m', 'bias'], ['a'], {}, { name: 'add' }),
          makeNode('Softmax', ['a'], ['p'], { axis: -1 }, { name: 'softmax' }),
          makeNode('MatMul', ['p', 'w2'], ['y'], {}, { name: 'mm2' }),
        ],
        inputs: [makeTensorValueInfo('x', F, [2, 8])],
        outputs: [makeTensorValueInfo('y', F, [2, 4])],
        initializers: [weight('w', [8, 8], 1), createTensor('bias', F, [8], [0, 0.5, -0.5, 1, -1, 2, -2, 0.25]), weight('w2', [8, 4], 2)],
      }),
    });
    const ranges = new Map<string, TensorRange>([['x', { min: -1, max: 1 }], ['m', { min: -3, max: 3 }], ['a', { min: -4, max: 5 }], ['p', { min: 0.01, max: 0.7 }]]);
    const { model: quantized, report } = quantizeStatic(model, ranges);
    const p = report.activations.find((a) => a.tensor === 'p')!;
    expect([p.rmin, p.rmax, p.scale, p.zeroPoint]).toEqual([0, 1, Math.fround(1 / 255), 0]);
    const add = quantized.graph!.node.find((n) => n.name === 'add')!;
    const biasDequantize = producerOf(quantized.graph!, add.input[1]!)!;
    expect(biasDequantize.opType).toBe('DequantizeLinear');
    const biasData = initializer(quantized.graph!, biasDequantize.input[0]!)!;
    expect(biasData.dataType).toBe(DataType.UINT8);
    // Its own range [−2, 2]: scale 4/255, zero point round(2 / (4/255)) = round(127.5) = 128.
    expect(floats(quantized.graph!, biasDequantize.input[1]!)).toEqual([Math.fround(4 / 255)]);
    expect(Array.from(tensorData(initializer(quantized.graph!, biasDequantize.input[2]!)!) as Uint8Array)).toEqual([128]);
  });
});
