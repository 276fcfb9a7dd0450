/**
 * quantizeModel on models built by hand: the graphs it writes (node patterns,
 * tensors, names, order), the report, and that every output loads and runs in
 * onnxruntime with outputs close to the float model's.
 */
import { describe, expect, it } from 'vitest';
import { attrFloat, makeFunction, makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../../src/onnx/builder.js';
import { serializeModel } from '../../../src/onnx/model-io.js';
import { createTensor, tensorData } from '../../../src/onnx/tensor.js';
import { DataType, type ModelProto, type NodeProto } from '../../../src/onnx/types.js';
import { quantizeModel, type QuantizeOptions } from '../../../src/passes/quantize/index.js';
import type { HostTensor } from '../../../src/runtime/types.js';
import { cosine, expectWellFormed, initializer, opTypes, runWith, seeded, weight, worstCosine } from './helpers.js';

const F = DataType.FLOAT;

/** x[batch,32] → MatMul(w1 [32,24]) + b1 → Relu → Gemm(w2 [16,24], b2; transB, alpha 0.5, beta 2) → y[batch,16]. */
function mlp(): ModelProto {
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'mlp',
      nodes: [
        makeNode('MatMul', ['x', 'w1'], ['h0'], {}, { name: 'fc1' }),
        makeNode('Add', ['h0', 'b1'], ['h1'], {}, { name: 'fc1_bias' }),
        makeNode('Relu', ['h1'], ['h2'], {}, { name: 'relu' }),
        makeNode('Gemm', ['h2', 'w2', 'b2'], ['y'], { transB: 1, alpha: 0.5, beta: attrFloat(2) }, { name: 'fc2' }),
      ],
      inputs: [makeTensorValueInfo('x', F, ['batch', 32])],
      outputs: [makeTensorValueInfo('y', F, ['batch', 16])],
      initializers: [weight('w1', [32, 24], 1), weight('b1', [24], 2), weight('w2', [16, 24], 3), weight('b2', [16], 4)],
      valueInfo: [makeTensorValueInfo('h0', F, ['batch', 24])],
    }),
  });
}

const all: QuantizeOptions = { minElements: 0 };

function node(model: ModelProto, opType: string, nth = 0): NodeProto {
  const found = (model.graph?.node ?? []).filter((n) => n.opType === opType)[nth];
  expect(found, `${opType} #${nth}`).toBeDefined();
  return found!;
}

function attr(n: NodeProto, name: string): number | undefined {
  const a = n.attribute.find((x) => x.name === name);
  return a?.i === undefined ? undefined : Number(a.i);
}

describe('quantizeModel: dynamic mode on MatMul and Gemm', () => {
  it('writes the DynamicQuantizeLinear → MatMulInteger → Cast → Mul pattern and removes the float weights', async () => {
    const model = mlp();
    const { model: q, report } = quantizeModel(model, all);
    expectWellFormed(q);
    expect(opTypes(q.graph)).toEqual([
      'DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul', 'Add', 'Relu',
      'DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul', 'Add',
    ]);
    const matMulInteger = node(q, 'MatMulInteger');
    expect(matMulInteger.input).toEqual(['x_quantized', 'w1_quantized', 'x_zero_point', 'w1_zero_point']);
    expect(node(q, 'Mul', 0).input).toEqual(['x_scale', 'w1_scale']);
    expect(node(q, 'Mul', 1).output).toEqual(['h0']);
    expect(initializer(q.graph, 'w1')).toBeUndefined();
    expect(initializer(q.graph, 'w2')).toBeUndefined();
    const w1q = initializer(q.graph, 'w1_quantized')!;
    expect(w1q.dataType).toBe(DataType.INT8);
    expect(w1q.dims).toEqual([32n, 24n]);
    expect(initializer(q.graph, 'w1_scale')!.dims).toEqual([24n]);
    expect(initializer(q.graph, 'w1_zero_point')!.dataType).toBe(DataType.INT8);
    // Gemm transB: the weight is stored transposed to [K, N] = [24, 16], alpha folded in.
    expect(initializer(q.graph, 'w2_transposed_quantized')!.dims).toEqual([24n, 16n]);
    expect(initializer(q.graph, 'b2_beta')).toBeDefined();
    expect(q.graph?.valueInfo.map((v) => v.name)).toEqual(['h0']);
    expect(report.nodesQuantized).toBe(2);
    expect(report.nodes.map((n) => [n.node, n.action])).toEqual([['fc1', 'dynamic'], ['fc2', 'dynamic']]);
    expect(report.nodes[0]!.replacedBy).toEqual(['x_DynamicQuantizeLinear', 'fc1_quant', 'fc1_cast', 'fc1_scales_mul', 'fc1_output_scale_mul']);
    expect(report.tensors.map((t) => [t.name, t.shape, t.axis, t.bytesBefore, t.bytesAfter])).toEqual([
      ['w1', [32, 24], 1, 32 * 24 * 4, 32 * 24 + 24 * 4 + 24],
      ['w2', [24, 16], 1, 16 * 24 * 4, 16 * 24 + 16 * 4 + 16],
    ]);
    for (const tensor of report.tensors) {
      expect(tensor.sqnrDb).toBeGreaterThan(35);
      expect(tensor.scaleMin).toBeLessThanOrEqual(tensor.scaleMax);
    }
    expect(await worstCosine(model, q)).toBeGreaterThan(0.999);
  });

  it.each([
    ['int8', true], ['int8', false], ['uint8', true], ['uint8', false],
  ] as const)('runs in onnxruntime with %s weights, per-channel %s', async (weightType, perChannel) => {
    const model = mlp();
    const { model: q } = quantizeModel(model, { ...all, weightType, perChannel });
    expectWellFormed(q);
    expect(initializer(q.graph, 'w1_quantized')!.dataType).toBe(weightType === 'int8' ? DataType.INT8 : DataType.UINT8);
    expect(initializer(q.graph, 'w1_scale')!.dims).toEqual(perChannel ? [24n] : []);
    expect(await worstCosine(model, q)).toBeGreaterThan(0.998);
  });

  it('rewrites Gemm with transA, no transB, a non-constant C and beta ≠ 1', async () => {
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'gemm',
        nodes: [makeNode('Gemm', ['a', 'w', 'c'], ['y'], { transA: 1, alpha: attrFloat(1.5), beta: attrFloat(0.25) }, { name: 'g' })],
        inputs: [makeTensorValueInfo('a', F, [20, 3]), makeTensorValueInfo('c', F, [3, 12])],
        outputs: [makeTensorValueInfo('y', F, [3, 12])],
        initializers: [weight('w', [20, 12], 7)],
      }),
    });
    const { model: q } = quantizeModel(model, all);
    expectWellFormed(q);
    expect(opTypes(q.graph)).toEqual(['Transpose', 'DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul', 'Mul', 'Add']);
    expect(node(q, 'Mul', 2).input).toEqual(['c', 'g_beta']);
    expect(await worstCosine(model, q)).toBeGreaterThan(0.999);
  });

  it('rewrites a Gemm without C to MatMul form writing the Gemm output directly', async () => {
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'gemm',
        nodes: [makeNode('Gemm', ['a', 'w'], ['y'], {}, { name: 'g' })],
        inputs: [makeTensorValueInfo('a', F, [2, 20])],
        outputs: [makeTensorValueInfo('y', F, [2, 12])],
        initializers: [weight('w', [20, 12], 7)],
      }),
    });
    const { model: q } = quantizeModel(model, all);
    expect(opTypes(q.graph)).toEqual(['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul', 'Mul']);
    expect(node(q, 'Mul', 1).output).toEqual(['y']);
    expect(await worstCosine(model, q)).toBeGreaterThan(0.999);
  });

  it('shares one DynamicQuantizeLinear between MatMuls reading the same activation', () => {
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'qkv',
        nodes: [makeNode('MatMul', ['x', 'wq'], ['q']), makeNode('MatMul', ['x', 'wk'], ['k'])],
        inputs: [makeTensorValueInfo('x', F, [2, 8])],
        outputs: [makeTensorValueInfo('q', F, [2, 8]), makeTensorValueInfo('k', F, [2, 8])],
        initializers: [weight('wq', [8, 8], 1), weight('wk', [8, 8], 2)],
      }),
    });
    const { model: q } = quantizeModel(model, all);
    expectWellFormed(q);
    expect(opTypes(q.graph).filter((op) => op === 'DynamicQuantizeLinear')).toHaveLength(1);
    // Each MatMulInteger keeps its own scales Mul, as ONNX Runtime's fusion needs.
    expect(opTypes(q.graph).filter((op) => op === 'Mul')).toHaveLength(4);
  });
});

describe('quantizeModel: weight-only mode', () => {
  it('feeds each consumer a DequantizeLinear of the int8 weight, with the per-channel axis of its op', async () => {
    const model = mlp();
    const { model: q, report } = quantizeModel(model, { ...all, mode: 'weight-only' });
    expectWellFormed(q);
    expect(opTypes(q.graph)).toEqual(['DequantizeLinear', 'DequantizeLinear', 'MatMul', 'Add', 'Relu', 'Gemm']);
    const [dq1, dq2] = q.graph!.node;
    expect(dq1!.input).toEqual(['w1_quantized', 'w1_scale', 'w1_zero_point']);
    expect(attr(dq1!, 'axis')).toBe(1); // MatMul [K, N] → 1
    expect(attr(dq2!, 'axis')).toBe(0); // Gemm with transB → 0
    expect(node(q, 'MatMul').input).toEqual(['x', 'w1_dequantized']);
    expect(node(q, 'Gemm').input).toEqual(['h2', 'w2_dequantized', 'b2']);
    expect(report.notes.join(' ')).toMatch(/size, not speed/);
    expect(await worstCosine(model, q)).toBeGreaterThan(0.999);
  });

  it('omits the axis when per-tensor', () => {
    const { model: q } = quantizeModel(mlp(), { ...all, mode: 'weight-only', perChannel: false });
    expect(attr(q.graph!.node[0]!, 'axis')).toBeUndefined();
    expect(initializer(q.graph, 'w1_scale')!.dims).toEqual([]);
  });
});

/** image[1,3,12,12] → Conv(w1 [8,3,3,3], b1) → Relu → ConvTranspose(w2 [8,4,2,2]) → y. */
function convNet(): ModelProto {
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'conv',
      nodes: [
        makeNode('Conv', ['image', 'w1', 'b1'], ['c1'], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, { name: 'conv1' }),
        makeNode('Relu', ['c1'], ['r1']),
        makeNode('Conv', ['r1', 'w3'], ['c3'], { group: 8, kernel_shape: [3, 3] }, { name: 'depthwise' }),
        makeNode('ConvTranspose', ['c3', 'w2'], ['y'], { strides: [2, 2] }, { name: 'up' }),
      ],
      inputs: [makeTensorValueInfo('image', F, [1, 3, 12, 12])],
      outputs: [makeTensorValueInfo('y', F)],
      initializers: [weight('w1', [8, 3, 3, 3], 1), weight('b1', [8], 2), weight('w3', [8, 1, 3, 3], 5), weight('w2', [8, 4, 2, 2], 3)],
    }),
  });
}

describe('quantizeModel: Conv, ConvTranspose and Gather', () => {
  it('gives Conv weight-only treatment in dynamic mode unless ConvInteger is asked for', () => {
    const { report } = quantizeModel(convNet(), { ...all, convIntegerWeightTypes: ['int8', 'uint8'] });
    expect(report.nodes[0]).toMatchObject({ action: 'weight-only', reason: expect.stringMatching(/ConvInteger runs slower than float Conv/) });
  });

  it('gives Conv weight-only treatment when the runtime ConvInteger cannot take the weight type', async () => {
    const model = convNet();
    const { model: q, report } = quantizeModel(model, { ...all, convInteger: true });
    expectWellFormed(q);
    expect(report.nodes.map((n) => [n.node, n.action])).toEqual([['conv1', 'weight-only'], ['depthwise', 'weight-only'], ['up', 'weight-only']]);
    expect(report.nodes[0]!.reason).toMatch(/ConvInteger does not take int8/);
    const dqs = q.graph!.node.filter((n) => n.opType === 'DequantizeLinear');
    expect(dqs.map((n) => attr(n, 'axis'))).toEqual([0, 0, 1]); // Conv → 0, ConvTranspose → 1
    expect(await worstCosine(model, q)).toBeGreaterThan(0.999);
  });

  it.each(['int8', 'uint8'] as const)('writes ConvInteger with %s weights when the runtime takes them', async (weightType) => {
    const model = convNet();
    const { model: q, report } = quantizeModel(model, { ...all, weightType, symmetric: true, convInteger: true, convIntegerWeightTypes: ['int8', 'uint8'] });
    expectWellFormed(q);
    expect(report.nodes.map((n) => n.action)).toEqual(['dynamic', 'dynamic', 'weight-only']);
    const convInteger = node(q, 'ConvInteger');
    expect(attr(convInteger, 'group')).toBeUndefined();
    expect(attr(node(q, 'ConvInteger', 1), 'group')).toBe(8);
    // A per-channel scale broadcast over [N, M, H, W], one shared zero point (all channels' are equal when symmetric).
    expect(initializer(q.graph, 'w1_scale_broadcast')!.dims).toEqual([8n, 1n, 1n]);
    expect(initializer(q.graph, 'w1_zero_point_scalar')!.dims).toEqual([]);
    expect(initializer(q.graph, 'b1_broadcast')!.dims).toEqual([8n, 1n, 1n]);
    expect(initializer(q.graph, 'b1')).toBeUndefined();
    expect(await worstCosine(model, q)).toBeGreaterThan(0.998);
  });

  it('keeps asymmetric per-channel Conv weight-only: ConvInteger takes one zero point', () => {
    const { report } = quantizeModel(convNet(), { ...all, weightType: 'uint8', symmetric: false, convInteger: true, convIntegerWeightTypes: ['uint8'] });
    expect(report.nodes[0]).toMatchObject({ action: 'weight-only', reason: expect.stringMatching(/one weight zero point/) });
  });

  it('quantizes an embedding table: Gather of int8 rows, then DequantizeLinear on the last axis', async () => {
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'embedding',
        nodes: [makeNode('Gather', ['table', 'ids'], ['e'], {}, { name: 'embed' }), makeNode('MatMul', ['e', 'w'], ['y'], {}, { name: 'proj' })],
        inputs: [makeTensorValueInfo('ids', DataType.INT64, ['batch', 'seq'])],
        outputs: [makeTensorValueInfo('y', F, ['batch', 'seq', 4])],
        initializers: [weight('table', [5, 16], 1, 3), weight('w', [16, 4], 2)],
      }),
    });
    for (const mode of ['dynamic', 'weight-only'] as const) {
      const { model: q, report } = quantizeModel(model, { ...all, mode });
      expectWellFormed(q);
      expect(report.nodes[0]).toMatchObject({ node: 'embed', action: 'weight-only' });
      const gather = node(q, 'Gather');
      expect(gather.input).toEqual(['table_quantized', 'ids']);
      const dq = node(q, 'DequantizeLinear', mode === 'weight-only' ? 1 : 0);
      expect(dq.input[0]).toBe(gather.output[0]);
      expect(dq.output).toEqual(['e']);
      expect(attr(dq, 'axis')).toBe(-1);
      expect(await worstCosine(model, q)).toBeGreaterThan(0.999);
    }
  });
});

describe('quantizeModel: weights in odd places', () => {
  it('quantizes a shared weight once and keeps the float copy for a consumer that stays float', async () => {
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'shared',
        nodes: [
          makeNode('MatMul', ['x', 'w'], ['a'], {}, { name: 'first' }),
          makeNode('MatMul', ['a', 'w'], ['b'], {}, { name: 'second' }),
          makeNode('Add', ['b', 'w'], ['y'], {}, { name: 'uses_float' }),
        ],
        inputs: [makeTensorValueInfo('x', F, [16, 16])],
        outputs: [makeTensorValueInfo('y', F, [16, 16])],
        initializers: [weight('w', [16, 16], 9)],
      }),
    });
    const { model: q, report } = quantizeModel(model, all);
    expectWellFormed(q);
    expect(report.tensors).toHaveLength(1);
    expect(report.tensors[0]!.floatKept).toBe(true);
    expect(initializer(q.graph, 'w')).toBeDefined();
    expect(opTypes(q.graph).filter((op) => op === 'MatMulInteger')).toHaveLength(2);
    expect(await worstCosine(model, q)).toBeGreaterThan(0.999);

    const tied = makeModel({ ...model, opsets: { '': 13 }, graph: { ...model.graph!, node: model.graph!.node.slice(0, 2), output: [makeTensorValueInfo('b', F, [16, 16])] } });
    const { model: q2, report: r2 } = quantizeModel(tied, { ...all, mode: 'weight-only' });
    expect(r2.tensors[0]!.floatKept).toBe(false);
    expect(initializer(q2.graph, 'w')).toBeUndefined();
    expect(opTypes(q2.graph)).toEqual(['DequantizeLinear', 'MatMul', 'MatMul']);
  });

  it('treats a Constant node feeding a weight input as a weight, and removes it once unused', async () => {
    const value = weight('unused_name', [12, 6], 4);
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'constants',
        nodes: [makeNode('Constant', [], ['w'], { value }, { name: 'w_const' }), makeNode('MatMul', ['x', 'w'], ['y'], {}, { name: 'mm' })],
        inputs: [makeTensorValueInfo('x', F, [3, 12])],
        outputs: [makeTensorValueInfo('y', F, [3, 6])],
        valueInfo: [makeTensorValueInfo('w', F, [12, 6])],
      }),
    });
    for (const mode of ['dynamic', 'weight-only'] as const) {
      const { model: q, report } = quantizeModel(model, { ...all, mode });
      expectWellFormed(q);
      expect(report.nodesQuantized).toBe(1);
      expect(opTypes(q.graph)).not.toContain('Constant');
      expect(q.graph!.valueInfo).toEqual([]);
      expect(await worstCosine(model, q)).toBeGreaterThan(0.999);
    }
  });

  it('quantizes weights inside If branches, including one read from the enclosing graph', async () => {
    const thenBranch = makeGraph({
      name: 'then',
      nodes: [makeNode('MatMul', ['x', 'inner'], ['t'], {}, { name: 'then_mm' })],
      inputs: [],
      outputs: [makeTensorValueInfo('t', F, [2, 8])],
      initializers: [weight('inner', [8, 8], 1)],
    });
    const elseBranch = makeGraph({
      name: 'else',
      nodes: [makeNode('MatMul', ['x', 'outer'], ['e'], {}, { name: 'else_mm' })],
      inputs: [],
      outputs: [makeTensorValueInfo('e', F, [2, 8])],
    });
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'main',
        nodes: [makeNode('If', ['cond'], ['y'], { then_branch: thenBranch, else_branch: elseBranch }, { name: 'branch' })],
        inputs: [makeTensorValueInfo('cond', DataType.BOOL, []), makeTensorValueInfo('x', F, [2, 8])],
        outputs: [makeTensorValueInfo('y', F, [2, 8])],
        initializers: [weight('outer', [8, 8], 2)],
      }),
    });
    const { model: q, report } = quantizeModel(model, all);
    expectWellFormed(q);
    expect(report.nodes.map((n) => [n.node, n.action, n.graph])).toEqual([
      ['then_mm', 'dynamic', "graph 'main' > node 'branch' (If).then_branch"],
      ['else_mm', 'dynamic', "graph 'main' > node 'branch' (If).else_branch"],
    ]);
    // The outer float weight is read by nothing any more.
    expect(initializer(q.graph, 'outer')).toBeUndefined();
    const ifNode = node(q, 'If');
    const newElse = ifNode.attribute.find((a) => a.name === 'else_branch')!.g!;
    expect(initializer(newElse, 'outer_quantized')).toBeDefined();
    const x: HostTensor = { dtype: 'float32', dims: [2, 8], data: seeded(16, 3) };
    for (const cond of [1, 0]) {
      const feeds: Record<string, HostTensor> = { cond: { dtype: 'bool', dims: [], data: new Uint8Array([cond]) }, x };
      const [a, b] = [await runWith(model, feeds), await runWith(q, feeds)];
      expect(cosine(a['y']!, b['y']!)).toBeGreaterThan(0.999);
    }
  });

  it('leaves model-local functions intact', () => {
    const fn = makeFunction({
      name: 'Linear',
      domain: 'local',
      inputs: ['a', 'b'],
      outputs: ['c'],
      nodes: [makeNode('MatMul', ['a', 'b'], ['c'])],
      opsets: { '': 13 },
    });
    const model = makeModel({
      opsets: { '': 13, local: 1 },
      functions: [fn],
      graph: makeGraph({
        name: 'main',
        nodes: [makeNode('Linear', ['x', 'w'], ['y'], {}, { domain: 'local', name: 'call' }), makeNode('MatMul', ['y', 'w2'], ['z'], {}, { name: 'mm' })],
        inputs: [makeTensorValueInfo('x', F, [2, 8])],
        outputs: [makeTensorValueInfo('z', F, [2, 8])],
        initializers: [weight('w', [8, 8], 1), weight('w2', [8, 8], 2)],
      }),
    });
    const { model: q, report } = quantizeModel(model, all);
    expect(q.functions).toEqual(model.functions);
    expect(report.nodes.map((n) => n.node)).toEqual(['mm']);
    expect(initializer(q.graph, 'w')).toBeDefined();
  });
});

describe('quantizeModel: selection and names', () => {
  it('honours exclude (names and regular expressions), op types, min elements and forced-float nodes', () => {
    const model = mlp();
    expect(quantizeModel(model, { ...all, exclude: ['fc1'] }).report.nodes.map((n) => [n.node, n.action, n.reason])).toEqual([
      ['fc1', 'skipped', 'excluded by --exclude'],
      ['fc2', 'dynamic', undefined],
    ]);
    expect(quantizeModel(model, { ...all, exclude: [/^fc/] }).report.nodesQuantized).toBe(0);
    expect(quantizeModel(model, { ...all, opTypes: ['Gemm'] }).report.nodes.map((n) => n.node)).toEqual(['fc2']);
    const small = quantizeModel(model, { minElements: 500 }).report;
    expect(small.nodes.map((n) => [n.node, n.action])).toEqual([['fc1', 'dynamic'], ['fc2', 'skipped']]);
    expect(small.nodes[1]!.reason).toBe('weight has 384 elements, fewer than --min-elements 500');
    expect(quantizeModel(model, { ...all, forceFloat: ['fc2'] }).report.nodes[1]!.action).toBe('skipped');
    const byKey = quantizeModel(model, { ...all, forceFloat: ["graph 'mlp' / fc1"] }).report.nodes[0]!;
    expect(byKey).toMatchObject({ action: 'skipped', reason: 'left in float: the runtime could not load or run its quantized form' });
  });

  it('defaults to 1024 minimum elements', () => {
    expect(quantizeModel(mlp()).report.minElements).toBe(1024);
    expect(quantizeModel(mlp()).report.nodesQuantized).toBe(0);
  });

  it('reports why a MatMul with a computed B is skipped', () => {
    const model = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'attention',
        nodes: [makeNode('MatMul', ['q', 'k'], ['s'], {}, { name: 'scores' })],
        inputs: [makeTensorValueInfo('q', F, [2, 4]), makeTensorValueInfo('k', F, [4, 2])],
        outputs: [makeTensorValueInfo('s', F, [2, 2])],
      }),
    });
    expect(quantizeModel(model, all).report.nodes).toEqual([
      {
        node: 'scores',
        opType: 'MatMul',
        graph: "graph 'attention'",
        key: "graph 'attention' / scores",
        action: 'skipped',
        reason: "input 'k' is not a constant",
        weight: 'k',
      },
    ]);
  });

  it('skips weights holding NaN, with the reason', () => {
    const model = mlp();
    const bad = createTensor('w1', F, [32, 24], seeded(32 * 24, 1).map((v, i) => (i === 5 ? NaN : v)));
    model.graph!.initializer[0] = bad;
    const { report } = quantizeModel(model, all);
    expect(report.nodes[0]).toMatchObject({ node: 'fc1', action: 'skipped', reason: 'the weight holds NaN' });
    expect(report.nodes[1]!.action).toBe('dynamic');
  });

  it('picks fresh names when the obvious ones are taken, and never changes its input', () => {
    const model = mlp();
    model.graph!.initializer.push(createTensor('w1_quantized', F, [1], [0]), createTensor('x_scale', F, [1], [0]));
    const before = serializeModel(model);
    const { model: q } = quantizeModel(model, all);
    expectWellFormed(q);
    expect(node(q, 'MatMulInteger').input).toEqual(['x_quantized', 'w1_quantized_1', 'x_zero_point', 'w1_zero_point']);
    expect(node(q, 'Mul', 0).input).toEqual(['x_scale_1', 'w1_scale']);
    expect(serializeModel(model)).toEqual(before);
  });
});

describe('quantizeModel: old opsets and IR 3', () => {
  /** IR 3 / opset 9: MatMul with its weight also listed as a graph input. */
  function ir3(): ModelProto {
    return makeModel({
      irVersion: 3,
      opsets: { '': 9 },
      graph: makeGraph({
        name: 'old',
        nodes: [makeNode('MatMul', ['x', 'w'], ['y'], {}, { name: 'mm' }), makeNode('Add', ['y', 'b'], ['z'])],
        inputs: [makeTensorValueInfo('x', F, [2, 8]), makeTensorValueInfo('w', F, [8, 4]), makeTensorValueInfo('b', F, [4])],
        outputs: [makeTensorValueInfo('z', F, [2, 4])],
        initializers: [weight('w', [8, 4], 1), weight('b', [4], 2)],
      }),
    });
  }
  /** A stand-in for the convert pass that is right for MatMul and Add, which did not change from 9 to 13. */
  const stampOpset = (model: ModelProto, target: number) => ({
    model: { ...model, irVersion: 7n, opsetImport: model.opsetImport.map((o) => ({ ...o, version: BigInt(target) })) },
  });

  it('raises the opset with the given converter, the IR version with it, and drops initializer inputs', async () => {
    const model = ir3();
    const { model: q, report } = quantizeModel(model, { ...all, convertOpset: stampOpset });
    expectWellFormed(q);
    expect(report).toMatchObject({ opsetBefore: 9, opsetAfter: 13, irVersionBefore: 3, irVersionAfter: 7, nodesQuantized: 1 });
    expect(q.opsetImport).toEqual([{ domain: '', version: 13n }]);
    expect(q.graph!.input.map((i) => i.name)).toEqual(['x']);
    expect(await worstCosine(stampOpset(model, 13).model, q)).toBeGreaterThan(0.999);
  });

  it('a replaced IR 3 initializer leaves graph.input even when per-tensor weight-only needs no conversion', async () => {
    const model = { ...ir3(), opsetImport: [{ domain: '', version: 10n }] };
    const { model: q, report } = quantizeModel(model, { ...all, mode: 'weight-only', perChannel: false });
    expect(report).toMatchObject({ opsetAfter: 10, irVersionAfter: 5, nodesQuantized: 1 });
    expect(q.graph!.input.map((i) => i.name)).toEqual(['x']);
    expect(await worstCosine(model, q)).toBeGreaterThan(0.999);
  });

  it('leaves every node in float, and says why, when the opset cannot be raised', () => {
    const model = ir3();
    const failing = () => {
      throw new Error('Upsample 9 → 10 has no adapter');
    };
    for (const convertOpset of [undefined, failing]) {
      const { model: q, report } = quantizeModel(model, convertOpset === undefined ? all : { ...all, convertOpset });
      expect(q).toBe(model);
      expect(report.nodesQuantized).toBe(0);
      expect(report.opsetConversionError).toMatch(/opset 9 is below the 13/);
      expect(report.nodes[0]!.reason).toBe(report.opsetConversionError);
    }
  });
});

describe('quantizeModel: errors', () => {
  it('refuses a model without a graph', () => {
    const model = mlp();
    delete model.graph;
    expect(() => quantizeModel(model)).toThrow(/no main graph/);
  });

  it('decodes the quantized tensors it wrote', () => {
    const { model: q } = quantizeModel(mlp(), all);
    const scale = tensorData(initializer(q.graph, 'w1_scale')!) as Float32Array;
    expect(scale.length).toBe(24);
    expect(Array.from(scale).every((s) => s > 0)).toBe(true);
  });
});
