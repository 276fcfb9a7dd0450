/**
 * Structured channel pruning on hand-built networks, one per topology the
 * dependency analysis must follow. Each network has *dead* channels (zero
 * weights and bias, zero BatchNormalization shift): they are the least
 * important, so at the matching sparsity exactly they go, and the pruned
 * model must give the same outputs as the original, in onnxruntime, with
 * the expected weight shapes.
 */
import { describe, expect, it } from 'vitest';
import { tensorData } from '../../../src/onnx/tensor.js';
import type { ModelProto } from '../../../src/onnx/types.js';
import type { PrunableOpType } from '../../../src/passes/prune/index.js';
import { floatInput, initializerDims, Net, nodeAttribute, pruneAndRun, toConstantNodes } from './helpers.js';

interface ChannelCase {
  name: string;
  build(): ModelProto;
  sparsity: number;
  /** Expected dims of initializers after pruning. */
  dims: Record<string, number[]>;
  /** Expected dims of Constant node values after pruning, by output name. */
  constantDims?: Record<string, number[]>;
  /** Expected integer attributes after pruning, as `node.attribute`. */
  attributes?: Record<string, number>;
  /** Expected values of int64 initializers (Reshape targets) after pruning. */
  int64?: Record<string, number[]>;
  /** Channel counts of the pruned groups, as `producer: before→after`. */
  groups: string[];
  shapeOverrides?: Record<string, number[]>;
  /** Operator types to prune, when not the default. */
  opTypes?: PrunableOpType[];
}

const x = floatInput('x', [1, 3, 8, 8]);

const cases: ChannelCase[] = [
  {
    name: 'Conv → BatchNormalization → Relu → Conv chain',
    build() {
      const net = new Net();
      const a = net.relu(net.bn(net.conv('x', { name: 'c1', in: 3, out: 8, dead: [1, 4, 6] }), 8, [1, 4, 6]));
      const y = net.conv(a, { name: 'c2', in: 8, out: 4 });
      return net.model([x], [y]);
    },
    sparsity: 0.375,
    dims: { 'c1.w': [5, 3, 3, 3], 'c1.b': [5], 'bn1.scale': [5], 'bn1.var': [5], 'c2.w': [4, 5, 3, 3] },
    groups: ['c1: 8→5'],
  },
  ...(['Add', 'Sum'] as const).map((joinOp): ChannelCase => ({
    name: `residual block joined by ${joinOp}`,
    build() {
      const net = new Net();
      const r = net.relu(net.conv('x', { name: 'c0', in: 3, out: 8, dead: [2, 5] }));
      const branch = net.relu(net.bn(net.conv(r, { name: 'c1', in: 8, out: 8, dead: [0, 3] }), 8, [0, 3]));
      const c2 = net.bn(net.conv(branch, { name: 'c2', in: 8, out: 8, dead: [2, 5], bias: false }), 8, [2, 5]);
      const sum = net.relu(net.node(joinOp, [r, c2]));
      const y = net.conv(sum, { name: 'c3', in: 8, out: 4, kernel: 1 });
      return net.model([x], [y], { opset: 13 });
    },
    sparsity: 0.25,
    dims: { 'c0.w': [6, 3, 3, 3], 'c1.w': [6, 6, 3, 3], 'c2.w': [6, 6, 3, 3], 'c3.w': [4, 6, 1, 1] },
    groups: ['c0: 8→6', 'c1: 8→6', 'c2: 8→6'],
  })),
  {
    name: 'Concat of two Convs and an unprunable input',
    build() {
      const net = new Net();
      const a = net.relu(net.conv('x', { name: 'ca', in: 3, out: 4, dead: [1] }));
      const b = net.relu(net.conv('x', { name: 'cb', in: 3, out: 6, dead: [0, 3] }));
      const joined = net.node('Concat', [a, 'x', b], { axis: 1 });
      const y = net.conv(joined, { name: 'cc', in: 13, out: 4, kernel: 1 });
      return net.model([x], [y]);
    },
    sparsity: 0.34,
    dims: { 'ca.w': [3, 3, 3, 3], 'cb.w': [4, 3, 3, 3], 'cc.w': [4, 10, 1, 1] },
    groups: ['ca: 4→3', 'cb: 6→4'],
  },
  {
    name: 'depthwise Conv follows its input channels and gets a new group',
    build() {
      const net = new Net();
      const a = net.relu(net.conv('x', { name: 'c1', in: 3, out: 8, dead: [2, 7] }));
      const dw = net.relu(net.bn(net.conv(a, { name: 'dw', in: 8, out: 8, group: 8, dead: [2, 7] }), 8, [2, 7]));
      const y = net.conv(dw, { name: 'c2', in: 8, out: 4, kernel: 1 });
      return net.model([x], [y]);
    },
    sparsity: 0.25,
    dims: { 'c1.w': [6, 3, 3, 3], 'dw.w': [6, 1, 3, 3], 'dw.b': [6], 'c2.w': [4, 6, 1, 1] },
    attributes: { 'dw.group': 6 },
    groups: ['c1: 8→6'],
  },
  {
    name: 'grouped Conv keeps its groups the same size',
    build() {
      const net = new Net();
      const a = net.relu(net.conv('x', { name: 'c1', in: 3, out: 8, dead: [1, 5] }));
      const g = net.relu(net.conv(a, { name: 'g', in: 8, out: 8, group: 2, dead: [0, 4] }));
      const y = net.conv(g, { name: 'c2', in: 8, out: 4, kernel: 1 });
      return net.model([x], [y]);
    },
    sparsity: 0.25,
    dims: { 'c1.w': [6, 3, 3, 3], 'g.w': [6, 3, 3, 3], 'c2.w': [4, 6, 1, 1] },
    attributes: { 'g.group': 2 },
    groups: ['c1: 8→6', 'g: 8→6'],
  },
  {
    name: 'squeeze-excitation: Mul of two activations ties their channels',
    build() {
      const net = new Net();
      const r = net.relu(net.conv('x', { name: 'c1', in: 3, out: 8, dead: [3, 6] }));
      const pooled = net.node('GlobalAveragePool', [r]);
      const squeezed = net.relu(net.conv(pooled, { name: 'se1', in: 8, out: 4, kernel: 1, dead: [1] }));
      const gate = net.node('Sigmoid', [net.conv(squeezed, { name: 'se2', in: 4, out: 8, kernel: 1, dead: [3, 6] })]);
      const y = net.conv(net.node('Mul', [r, gate]), { name: 'c2', in: 8, out: 4, kernel: 1 });
      return net.model([x], [y]);
    },
    sparsity: 0.25,
    dims: { 'c1.w': [6, 3, 3, 3], 'se1.w': [3, 6, 1, 1], 'se2.w': [6, 3, 1, 1], 'c2.w': [4, 6, 1, 1] },
    groups: ['c1: 8→6', 'se1: 4→3', 'se2: 8→6'],
  },
  {
    name: 'channel shuffle (Reshape → Transpose → Reshape) removes a position from every group',
    build() {
      const net = new Net();
      const a = net.relu(net.conv('x', { name: 'c1', in: 3, out: 8, dead: [1, 5] }));
      const split = net.node('Reshape', [a, net.int64('split.shape', [1, 2, 4, 8, 8])], {}, 1, 'split');
      const swapped = net.node('Transpose', [split], { perm: [0, 2, 1, 3, 4] });
      const merged = net.node('Reshape', [swapped, net.int64('merge.shape', [1, 8, 8, 8])], {}, 1, 'merge');
      const y = net.conv(merged, { name: 'c2', in: 8, out: 4, kernel: 1 });
      return net.model([x], [y]);
    },
    sparsity: 0.25,
    dims: { 'c1.w': [6, 3, 3, 3], 'c2.w': [4, 6, 1, 1] },
    int64: { 'split.shape': [1, 2, 3, 8, 8], 'merge.shape': [1, 6, 8, 8] },
    groups: ['c1: 8→6'],
  },
  {
    name: 'per-channel Mul and Add constants behind Unsqueeze (DenseNet style), weights in Constant nodes',
    build() {
      const net = new Net();
      const c1 = net.conv('x', { name: 'c1', in: 3, out: 8, dead: [0, 7] });
      const axes = net.int64('axes', [1, 2]);
      const scaled = net.node('Mul', [c1, net.node('Unsqueeze', [net.tensor('scale', [8], { amplitude: 1 }), axes])]);
      const shifted = net.node('Add', [scaled, net.node('Unsqueeze', [net.tensor('shift', [8], { dead: [0, 7] }), axes])]);
      const y = net.conv(net.relu(shifted), { name: 'c2', in: 8, out: 4, kernel: 1 });
      return toConstantNodes(net.model([x], [y]), ['c2.w']);
    },
    sparsity: 0.25,
    dims: { 'c1.w': [6, 3, 3, 3], scale: [6], shift: [6] },
    constantDims: { 'c2.w': [4, 6, 1, 1] },
    groups: ['c1: 8→6'],
  },
  {
    name: 'ConvTranspose as consumer (weight axis 0) and producer (weight axis 1)',
    build() {
      const net = new Net();
      const a = net.relu(net.conv('x', { name: 'c1', in: 3, out: 8, dead: [0, 3] }));
      const weight = net.tensor('up.w', [8, 6, 2, 2], { dead: [2, 5], axis: 1 });
      const up = net.relu(net.node('ConvTranspose', [a, weight, net.tensor('up.b', [6], { dead: [2, 5] })], { strides: [2, 2] }, 1, 'up'));
      return net.model([x], [net.conv(up, { name: 'c2', in: 6, out: 4, kernel: 1 })]);
    },
    sparsity: 0.3,
    opTypes: ['Conv', 'ConvTranspose'],
    dims: { 'c1.w': [6, 3, 3, 3], 'up.w': [6, 4, 2, 2], 'up.b': [4], 'c2.w': [4, 4, 1, 1] },
    groups: ['c1: 8→6', 'up: 6→4'],
  },
  ...([true, false] as const).map((transB): ChannelCase => ({
    name: `MLP of Gemms, transB=${transB ? 1 : 0}`,
    build() {
      const net = new Net();
      const w1 = transB ? net.tensor('w1', [32, 16], { dead: [0, 5, 9, 30] }) : net.tensor('w1', [16, 32], { dead: [0, 5, 9, 30], axis: 1 });
      const h = net.relu(net.node('Gemm', ['v', w1, net.tensor('b1', [32], { dead: [0, 5, 9, 30] })], { transB: transB ? 1 : 0 }, 1, 'fc1'));
      const w2 = transB ? net.tensor('w2', [8, 32]) : net.tensor('w2', [32, 8]);
      const y = net.node('Gemm', [h, w2, net.tensor('b2', [8])], { transB: transB ? 1 : 0 }, 1, 'fc2');
      return net.model([floatInput('v', [2, 16])], [y]);
    },
    sparsity: 0.125,
    dims: transB ? { w1: [28, 16], b1: [28], w2: [8, 28] } : { w1: [16, 28], b1: [28], w2: [28, 8] },
    groups: ['fc1: 32→28'],
  })),
  {
    name: 'MLP of MatMuls on a 3-D input, bias as Add',
    build() {
      const net = new Net();
      const m1 = net.node('MatMul', ['v', net.tensor('w1', [16, 24], { dead: [2, 3, 11], axis: 1 })], {}, 1, 'mm1');
      const h = net.relu(net.node('Add', [m1, net.tensor('b1', [24], { dead: [2, 3, 11] })]));
      const y = net.node('MatMul', [h, net.tensor('w2', [24, 8])], {}, 1, 'mm2');
      return net.model([floatInput('v', [2, 5, 16])], [y]);
    },
    sparsity: 0.125,
    dims: { w1: [16, 21], b1: [21], w2: [21, 8] },
    groups: ['mm1: 24→21'],
  },
  ...(['Flatten', 'Reshape [1,96]', 'Reshape [1,-1]'] as const).map((head): ChannelCase => ({
    name: `${head} → Gemm head: each channel owns its H×W rows`,
    build() {
      const net = new Net();
      const a = net.relu(net.conv('x', { name: 'c1', in: 3, out: 6, stride: 2, dead: [1, 4] }));
      const flat = head === 'Flatten'
        ? net.node('Flatten', [a], { axis: 1 })
        : net.node('Reshape', [a, net.int64('target', head === 'Reshape [1,96]' ? [1, 96] : [1, -1])], {}, 1, 'reshape');
      const y = net.node('Gemm', [flat, net.tensor('fc.w', [10, 96]), net.tensor('fc.b', [10])], { transB: 1 }, 1, 'fc');
      return net.model([x], [y]);
    },
    sparsity: 0.34,
    dims: { 'c1.w': [4, 3, 3, 3], 'fc.w': [10, 64] },
    ...(head === 'Reshape [1,96]' ? { int64: { target: [1, 64] } } : head === 'Reshape [1,-1]' ? { int64: { target: [1, -1] } } : {}),
    groups: ['c1: 6→4'],
  })),
];

describe('channel pruning keeps outputs exact when it removes dead channels', () => {
  for (const testCase of cases) {
    it(testCase.name, async () => {
      const options = { method: 'channels', sparsity: testCase.sparsity, ...(testCase.opTypes === undefined ? {} : { opTypes: testCase.opTypes }) } as const;
      const { model, report, agreement } = await pruneAndRun(testCase.build(), options,
        testCase.shapeOverrides === undefined ? {} : { shapeOverrides: testCase.shapeOverrides });
      for (const [name, dims] of Object.entries(testCase.dims)) expect(initializerDims(model, name), name).toEqual(dims);
      for (const [name, dims] of Object.entries(testCase.constantDims ?? {})) {
        const node = model.graph!.node.find((n) => n.opType === 'Constant' && n.output[0] === name);
        expect(node?.attribute[0]?.t?.dims.map(Number), name).toEqual(dims);
      }
      for (const [key, value] of Object.entries(testCase.attributes ?? {})) {
        const [node, attribute] = key.split('.') as [string, string];
        expect(nodeAttribute(model, node, attribute), key).toBe(value);
      }
      for (const [name, values] of Object.entries(testCase.int64 ?? {})) {
        const tensor = model.graph!.initializer.find((t) => t.name === name)!;
        expect(Array.from(tensorData(tensor) as BigInt64Array, Number), name).toEqual(values);
      }
      const pruned = report.groups
        .flatMap((group) => group.channels)
        .filter((c) => c.after < c.before)
        .map((c) => `${c.node}: ${c.before}→${c.after}`);
      expect(pruned.sort()).toEqual([...testCase.groups].sort());
      expect(agreement.maxAbsError).toBeLessThan(1e-4);
      expect(report.parametersAfter).toBeLessThan(report.parametersBefore);
    });
  }
});
