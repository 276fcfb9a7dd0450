/**
 * foldAffineIntoConv: Mul/Add by constants folded into the Conv after or
 * before them, merged, or reordered past an Add; refused where a value that
 * would disappear has other readers or does not broadcast per channel. Each
 * folded model computes what the original does.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../../../src/onnx/builder.js';
import { loadModel, serializeModel } from '../../../../src/onnx/model-io.js';
import { createTensor, tensorData } from '../../../../src/onnx/tensor.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../../../../src/onnx/types.js';
import { foldAffineIntoConv, type AffineFoldReport } from '../../../../src/passes/quantize/static/fold-affine.js';
import type { HostTensor } from '../../../../src/runtime/types.js';
import { ppOcrDetModel } from '../../../helpers/paths.js';
import { cosine, expectWellFormed, opTypes, runWith, seeded, weight } from '../helpers.js';
import { floatTensor, freshNames, textPage } from './static-helpers.js';

const F = DataType.FLOAT;

/** A constant of seeded values in offset ± 0.5 (multipliers keep away from zero with offset 1). */
function constant(name: string, dims: number[], seed: number, offset = 0): TensorProto {
  const values = seeded(dims.reduce((a, b) => a * b, 1), seed, 0.5).map((v) => v + offset);
  return createTensor(name, F, dims, values);
}

interface ConvOptions {
  bias?: string;
  pads?: number;
  group?: number;
}

function conv(input: string, weightName: string, output: string, name: string, options: ConvOptions = {}): NodeProto {
  const attributes: Record<string, number | number[]> = {};
  if (options.pads !== undefined) attributes.pads = [options.pads, options.pads, options.pads, options.pads];
  if (options.group !== undefined) attributes.group = options.group;
  const inputs = options.bias === undefined ? [input, weightName] : [input, weightName, options.bias];
  return makeNode('Conv', inputs, [output], attributes, { name });
}

const op = (opType: string, inputs: string[], output: string): NodeProto => makeNode(opType, inputs, [output], {}, { name: output });

interface Case {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  /** Default [1, 4, 6, 6]. */
  inputDims?: number[];
  /** Default ['y']. */
  outputs?: string[];
  /** Op types after the fold; undefined when the graph must come back unchanged. */
  ops?: string[];
  report?: Partial<AffineFoldReport>;
}

const cases: Case[] = [
  {
    name: 'Conv → Mul(x, per-channel [C,1,1]) → Add(x, [1,C,1,1]) folds into weight and bias',
    nodes: [conv('x', 'w', 'c', 'conv', { bias: 'b', pads: 1 }), op('Mul', ['c', 's'], 'm'), op('Add', ['m', 'd'], 'y')],
    initializers: [weight('w', [3, 4, 3, 3], 1), weight('b', [3], 2), constant('s', [3, 1, 1], 3, 1), constant('d', [1, 3, 1, 1], 4)],
    ops: ['Conv'],
    report: { foldedAfterConv: 2 },
  },
  {
    name: 'Conv without bias → Mul(scalar [], x) → Add([1], x) creates the bias',
    nodes: [conv('x', 'w', 'c', 'conv'), op('Mul', ['s', 'c'], 'm'), op('Add', ['d', 'm'], 'y')],
    initializers: [weight('w', [3, 4, 1, 1], 5), constant('s', [], 6, 1), constant('d', [1], 7)],
    ops: ['Conv'],
    report: { foldedAfterConv: 2 },
  },
  {
    name: 'Conv without bias → Add(per-channel [1,C,1,1])',
    nodes: [conv('x', 'w', 'c', 'conv'), op('Add', ['c', 'd'], 'y')],
    initializers: [weight('w', [3, 4, 3, 3], 8), constant('d', [1, 3, 1, 1], 9)],
    ops: ['Conv'],
    report: { foldedAfterConv: 1 },
  },
  {
    name: 'Conv → Mul by a Constant node (left in place for the caller to drop)',
    nodes: [makeNode('Constant', [], ['s'], { value: constant('s', [1], 10, 1) }, { name: 'const_s' }), conv('x', 'w', 'c', 'conv'), op('Mul', ['s', 'c'], 'y')],
    initializers: [weight('w', [3, 4, 3, 3], 11)],
    ops: ['Constant', 'Conv'],
    report: { foldedAfterConv: 1 },
  },
  {
    name: 'per-input-channel Mul before a grouped, padded Conv scales its weight columns',
    nodes: [op('Mul', ['x', 's'], 'm'), conv('m', 'w', 'y', 'conv', { bias: 'b', pads: 1, group: 2 })],
    initializers: [weight('w', [6, 2, 3, 3], 12), weight('b', [6], 13), constant('s', [1, 4, 1, 1], 14, 1)],
    ops: ['Conv'],
    report: { foldedBeforeConv: 1 },
  },
  {
    name: 'per-input-channel Mul after a Relu of a 4-channel input, before a Conv',
    nodes: [op('Relu', ['x'], 'r'), op('Mul', ['s', 'r'], 'm'), conv('m', 'w', 'y', 'conv', { bias: 'b' })],
    initializers: [weight('w', [3, 4, 1, 1], 48), weight('b', [3], 49), constant('s', [4, 1, 1], 50, 1)],
    ops: ['Relu', 'Conv'],
    report: { foldedBeforeConv: 1 },
  },
  {
    name: 'scalar Mul before a depthwise, padded Conv',
    nodes: [op('Relu', ['x'], 'r'), op('Mul', ['r', 's'], 'm'), conv('m', 'w', 'y', 'conv', { pads: 1, group: 4 })],
    initializers: [weight('w', [4, 1, 3, 3], 15), constant('s', [1], 16, 1)],
    ops: ['Relu', 'Conv'],
    report: { foldedBeforeConv: 1 },
  },
  {
    name: 'per-input-channel Add before an unpadded grouped Conv goes into its bias',
    nodes: [op('Add', ['x', 'd'], 'a'), conv('a', 'w', 'y', 'conv', { bias: 'b', group: 2 })],
    initializers: [weight('w', [4, 2, 3, 3], 17), weight('b', [4], 18), constant('d', [4, 1, 1], 19)],
    ops: ['Conv'],
    report: { foldedBeforeConv: 1 },
  },
  {
    name: 'Add before a padded Conv is refused',
    nodes: [op('Relu', ['x'], 'r'), op('Add', ['r', 'd'], 'a'), conv('a', 'w', 'y', 'conv', { pads: 1 })],
    initializers: [weight('w', [3, 4, 3, 3], 20), constant('d', [1], 21)],
  },
  {
    name: 'Add → Mul before a padded Conv: the Mul folds, the Add stays',
    nodes: [op('Relu', ['x'], 'r'), op('Add', ['r', 'd'], 'a'), op('Mul', ['a', 's'], 'm'), conv('m', 'w', 'y', 'conv', { pads: 1 })],
    initializers: [weight('w', [3, 4, 3, 3], 22), constant('d', [1], 23), constant('s', [1], 24, 1)],
    ops: ['Relu', 'Add', 'Conv'],
    report: { foldedBeforeConv: 1, reordered: 0 },
  },
  {
    name: 'Mul(c) → Add(d) before a padded Conv is reordered as Add(d / c) and the Mul folds',
    nodes: [op('Relu', ['x'], 'r'), op('Mul', ['s', 'r'], 'm'), op('Add', ['m', 'd'], 'a'), conv('a', 'w', 'y', 'conv', { pads: 1, group: 4 })],
    initializers: [weight('w', [4, 1, 3, 3], 25), constant('s', [1, 4, 1, 1], 26, 1), constant('d', [1], 27)],
    ops: ['Relu', 'Add', 'Conv'],
    report: { foldedBeforeConv: 1, reordered: 1 },
  },
  {
    name: 'Mul(c1) → Mul(c2) away from any Conv merge into one Mul',
    nodes: [op('Relu', ['x'], 'r'), op('Mul', ['r', 's1'], 'm1'), op('Mul', ['s2', 'm1'], 'm2'), op('Relu', ['m2'], 'y')],
    initializers: [constant('s1', [1], 28, 1), constant('s2', [4, 1, 1], 29, 1)],
    ops: ['Relu', 'Mul', 'Relu'],
    report: { mergedMultiplications: 1 },
  },
  {
    name: 'a whole chain: Conv → Mul → Add → Relu → Mul → Mul → Add → padded Conv → Mul',
    nodes: [
      conv('x', 'w1', 'c1', 'conv1', { bias: 'b1', pads: 1 }),
      op('Mul', ['a1', 'c1'], 'm1'),
      op('Add', ['m1', 'd1'], 'a1o'),
      op('Relu', ['a1o'], 'r'),
      op('Mul', ['r', 'sixth'], 'h'),
      op('Mul', ['a2', 'h'], 'm2'),
      op('Add', ['m2', 'd2'], 'a2o'),
      conv('a2o', 'w2', 'c2', 'conv2', { pads: 1, group: 5 }),
      op('Mul', ['c2', 'a3'], 'y'),
    ],
    initializers: [
      weight('w1', [5, 4, 3, 3], 30),
      weight('b1', [5], 31),
      constant('a1', [1], 32, 1),
      constant('d1', [1], 33),
      createTensor('sixth', F, [], [1 / 6]),
      constant('a2', [1], 34, 1),
      constant('d2', [1], 35),
      weight('w2', [5, 1, 3, 3], 36),
      constant('a3', [5, 1, 1], 37, 1),
    ],
    ops: ['Conv', 'Relu', 'Add', 'Conv'],
    report: { foldedAfterConv: 3, foldedBeforeConv: 2, reordered: 2, mergedMultiplications: 0 },
  },
  {
    name: 'a Mul before a Conv whose output has a second reader is not folded',
    nodes: [op('Relu', ['x'], 'r'), op('Mul', ['r', 's'], 'm'), conv('m', 'w', 'y', 'conv', { pads: 1 }), op('Relu', ['m'], 'z')],
    initializers: [weight('w', [3, 4, 3, 3], 38), constant('s', [1], 39, 1)],
    outputs: ['y', 'z'],
  },
  {
    name: 'a Mul before a Conv whose output is a graph output is not folded',
    nodes: [op('Relu', ['x'], 'r'), op('Mul', ['r', 's'], 'm'), conv('m', 'w', 'y', 'conv', { pads: 1 })],
    initializers: [weight('w', [3, 4, 3, 3], 40), constant('s', [1], 41, 1)],
    outputs: ['y', 'm'],
  },
  {
    name: 'a Conv whose output has a second reader keeps the Mul after it',
    nodes: [conv('x', 'w', 'c', 'conv'), op('Mul', ['c', 's'], 'y'), op('Relu', ['c'], 'z')],
    initializers: [weight('w', [3, 4, 3, 3], 42), constant('s', [1], 43, 1)],
    outputs: ['y', 'z'],
  },
  {
    name: 'a [W]-shaped constant after a Conv (as many elements as channels) is not folded',
    nodes: [conv('x', 'w', 'c', 'conv', { pads: 1 }), op('Mul', ['c', 's'], 'y')],
    initializers: [weight('w', [6, 4, 3, 3], 44), constant('s', [6], 45, 1)],
    inputDims: [1, 4, 6, 6],
  },
  {
    name: 'a per-channel Mul that broadcasts a one-channel input up to the Conv is not folded',
    nodes: [op('Mul', ['x', 's'], 'm'), conv('m', 'w', 'y', 'conv')],
    initializers: [weight('w', [3, 4, 3, 3], 46), constant('s', [1, 4, 1, 1], 47, 1)],
    inputDims: [1, 1, 6, 6],
  },
];

function caseModel(spec: Case): ModelProto {
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'affine',
      nodes: spec.nodes,
      inputs: [makeTensorValueInfo('x', F, spec.inputDims ?? [1, 4, 6, 6])],
      outputs: (spec.outputs ?? ['y']).map((name) => makeTensorValueInfo(name, F)),
      initializers: spec.initializers,
    }),
  });
}

function maxAbsDiff(a: HostTensor, b: HostTensor): { diff: number; scale: number } {
  const [x, y] = [a.data as Float32Array, b.data as Float32Array];
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(x[i]!));
  }
  return { diff, scale };
}

async function expectSameOutputs(original: ModelProto, folded: ModelProto, feeds: Record<string, HostTensor>): Promise<void> {
  const [a, b] = [await runWith(original, feeds), await runWith(folded, feeds)];
  for (const [name, tensor] of Object.entries(a)) {
    expect(b[name]!.dims, name).toEqual(tensor.dims);
    const { diff, scale } = maxAbsDiff(tensor, b[name]!);
    expect(diff, name).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
  }
}

describe('foldAffineIntoConv', () => {
  it.each(cases)('$name', async (spec) => {
    const model = caseModel(spec);
    const before = serializeModel(model);
    const { graph, report } = foldAffineIntoConv(model.graph!, freshNames(model));
    expect(serializeModel(model)).toEqual(before);
    if (spec.ops === undefined) {
      expect(graph).toBe(model.graph);
      expect(report).toEqual({ foldedAfterConv: 0, foldedBeforeConv: 0, mergedMultiplications: 0, reordered: 0 });
      return;
    }
    expect(opTypes(graph)).toEqual(spec.ops);
    expect(report).toMatchObject(spec.report ?? {});
    const folded = { ...model, graph };
    expectWellFormed(folded);
    // The Conv keeps its node name; downstream names do not change.
    for (const node of graph.node.filter((n) => n.opType === 'Conv')) expect(model.graph!.node.some((n) => n.opType === 'Conv' && n.name === node.name)).toBe(true);
    expect(graph.output).toEqual(model.graph!.output);
    await expectSameOutputs(model, folded, { x: floatTensor(spec.inputDims ?? [1, 4, 6, 6], 5) });
  }, 20_000);

  it('rounds W·c and B·c + d once to float32', () => {
    const model = caseModel(cases[0]!);
    const { graph } = foldAffineIntoConv(model.graph!, freshNames(model));
    const convNode = graph.node[0]!;
    expect(convNode).toMatchObject({ name: 'conv', output: ['y'] });
    const values = (name: string, g: GraphProto = model.graph!): Float32Array => tensorData(g.initializer.find((t) => t.name === name)!) as Float32Array;
    const [w, b, s, d] = ['w', 'b', 's', 'd'].map((name) => values(name));
    const folded = values(convNode.input[1]!, graph);
    const bias = values(convNode.input[2]!, graph);
    for (const at of [0, 37, 2 * 36 + 35]) expect(folded[at]).toBe(Math.fround(w![at]! * s![Math.floor(at / 36)]!));
    expect(Array.from(bias)).toEqual([0, 1, 2].map((o) => Math.fround(b![o]! * s![o]! + d![o]!)));
  });
});

describe('foldAffineIntoConv on PP-OCRv4 det', () => {
  it.skipIf(!existsSync(ppOcrDetModel))('folds the learnable affines of PP-LCNetV3; outputs agree', async () => {
    const { model } = await loadModel(ppOcrDetModel);
    const { graph, report } = foldAffineIntoConv(model.graph!, freshNames(model));
    const count = (g: GraphProto, opType: string): number => g.node.filter((n) => n.opType === opType).length;
    const counts = { mulBefore: count(model.graph!, 'Mul'), mulAfter: count(graph, 'Mul'), addBefore: count(model.graph!, 'Add'), addAfter: count(graph, 'Add') };
    console.log('PP-OCRv4 det affine fold:', counts, report);
    expect(counts).toEqual({ mulBefore: 86, mulAfter: 38, addBefore: 89, addAfter: 51 });
    expect(report).toEqual({ foldedAfterConv: 56, foldedBeforeConv: 30, mergedMultiplications: 0, reordered: 10 });
    expect(count(graph, 'Conv')).toBe(62);
    const folded = { ...model, graph };
    expectWellFormed(folded);
    // On a random input the probability map is all but zero, so compare the logits before its Sigmoid too.
    const sigmoid = model.graph!.node.find((n) => n.opType === 'Sigmoid' && n.output[0] === model.graph!.output[0]!.name)!;
    const withLogits = (m: ModelProto): ModelProto => ({ ...m, graph: { ...m.graph!, output: [...m.graph!.output, makeTensorValueInfo(sigmoid.input[0]!, F)] } });
    for (const x of [floatTensor([1, 3, 160, 160], 7), textPage(160, 160)]) {
      const [a, b] = [await runWith(withLogits(model), { x }), await runWith(withLogits(folded), { x })];
      const logits = sigmoid.input[0]!;
      console.log(`  cosine of the logits ${cosine(a[logits]!, b[logits]!)}, max abs diff`, maxAbsDiff(a[logits]!, b[logits]!), 'of the map', maxAbsDiff(a[sigmoid.output[0]!]!, b[sigmoid.output[0]!]!));
      expect(cosine(a[logits]!, b[logits]!)).toBeGreaterThanOrEqual(0.99999);
      for (const name of Object.keys(a)) {
        const { diff, scale } = maxAbsDiff(a[name]!, b[name]!);
        expect(diff, name).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
      }
    }
  }, 60_000);
});
