/**
 * What channel pruning leaves alone, and says why; and the bookkeeping
 * around the rewrite: value_info kept consistent, constants shared by
 * several nodes copied rather than changed under them, options checked.
 */
import { describe, expect, it } from 'vitest';
import { makeAttribute, makeTensorValueInfo } from '../../../src/onnx/builder.js';
import { DataType } from '../../../src/onnx/types.js';
import { pruneModel } from '../../../src/passes/prune/index.js';
import { floatInput, initializerDims, Net, pruneAndRun } from './helpers.js';

const x = floatInput('x', [1, 3, 8, 8]);

interface SkipCase {
  name: string;
  build(): ReturnType<Net['model']>;
  /** The node reported as left alone, and a pattern its reason must match. */
  node: string;
  reason: RegExp;
}

const skipCases: SkipCase[] = [
  {
    name: 'a Conv whose output is a graph output',
    build() {
      const net = new Net();
      return net.model([x], [net.conv(net.relu(net.conv('x', { name: 'c1', in: 3, out: 8 })), { name: 'c2', in: 8, out: 8 })]);
    },
    node: 'c2',
    reason: /output channels left unpruned: they reach the graph output 'c2.out'/,
  },
  {
    name: 'channels read by an operator without a rule (Split)',
    build() {
      const net = new Net();
      const c1 = net.conv('x', { name: 'c1', in: 3, out: 8 });
      net.nodes.push({ ...net.nodes[0]!, opType: 'Split', name: 'split', input: [c1], output: ['s0', 's1'], attribute: [makeAttribute('axis', 1)] });
      return net.model([x], ['s0', 's1']);
    },
    node: 'c1',
    reason: /Split 'split' is an operator mlctl cannot follow channels through/,
  },
  {
    name: 'a residual Add with the graph input',
    build() {
      const net = new Net();
      const sum = net.node('Add', ['x', net.conv('x', { name: 'c1', in: 3, out: 3 })]);
      return net.model([x], [net.conv(sum, { name: 'c2', in: 3, out: 4 })]);
    },
    node: 'c1',
    reason: /Add '.*' combines the channels with 'x', whose channels cannot be pruned/,
  },
  {
    name: 'a Reshape whose target is computed at run time',
    build() {
      const net = new Net();
      const c1 = net.relu(net.conv('x', { name: 'c1', in: 3, out: 8 }));
      const shape = net.node('Shape', [c1]);
      const flat = net.node('Reshape', [c1, shape]);
      return net.model([x], [net.conv(flat, { name: 'c2', in: 8, out: 4 })]);
    },
    node: 'c1',
    reason: /is computed at run time, so mlctl cannot prove it still fits/,
  },
  {
    name: 'a Conv whose weight is a graph input',
    build() {
      const net = new Net();
      const c1 = net.relu(net.conv('x', { name: 'c1', in: 3, out: 8 }));
      const c2 = net.node('Conv', [c1, 'w'], { kernel_shape: [1, 1] }, 1, 'c2');
      return net.model([x, floatInput('w', [4, 8, 1, 1])], [c2]);
    },
    node: 'c2',
    reason: /the weight 'w' of Conv 'c2' is computed at run time/,
  },
  {
    name: 'a Softmax over the channel axis',
    build() {
      const net = new Net();
      const soft = net.node('Softmax', [net.conv('x', { name: 'c1', in: 3, out: 8 })], { axis: 1 });
      return net.model([x], [net.conv(soft, { name: 'c2', in: 8, out: 4 })]);
    },
    node: 'c1',
    reason: /Softmax '.*' normalizes over the channel axis/,
  },
];

describe('channel pruning reports what it leaves alone', () => {
  for (const testCase of skipCases) {
    it(testCase.name, async () => {
      const { report } = await pruneAndRun(testCase.build(), { method: 'channels', sparsity: 0.5 });
      const skipped = report.skipped.find((item) => item.node === testCase.node);
      expect(skipped?.reason, JSON.stringify(report.skipped)).toMatch(testCase.reason);
      for (const group of report.groups) {
        if (group.producers.includes(testCase.node)) expect(group.channels.every((c) => c.before === c.after)).toBe(true);
      }
    });
  }

  it('--exclude and --op-types keep nodes as they are', async () => {
    const net = new Net();
    const c1 = net.relu(net.conv('x', { name: 'c1', in: 3, out: 8 }));
    const c2 = net.relu(net.conv(c1, { name: 'c2', in: 8, out: 8 }));
    const model = net.model([x], [net.conv(c2, { name: 'c3', in: 8, out: 4 })]);
    const excluded = await pruneAndRun(model, { method: 'channels', sparsity: 0.5, exclude: [/^c2$/] });
    expect(initializerDims(excluded.model, 'c2.w')).toEqual([8, 8, 3, 3]);
    expect(excluded.report.skipped).toContainEqual({ node: 'c2', reason: 'output channels left unpruned: excluded by --exclude' });
    const onlyGemm = await pruneAndRun(model, { method: 'channels', sparsity: 0.5, opTypes: ['Gemm'] });
    expect(onlyGemm.report.parametersAfter).toBe(onlyGemm.report.parametersBefore);
    expect(onlyGemm.report.skipped[0]?.reason).toMatch(/Conv is not among the --op-types to prune/);
  });

  it('without shapes, channels reaching values of unknown shape stay, and the report says so', () => {
    const net = new Net();
    const model = net.model([x], [net.conv(net.relu(net.conv('x', { name: 'c1', in: 3, out: 8 })), { name: 'c2', in: 8, out: 4 })]);
    const { report } = pruneModel(model, { method: 'channels', sparsity: 0.5 });
    expect(report.skipped.find((s) => s.node === 'c1')?.reason).toMatch(/unknown shape/);
    expect(report.notes.join(' ')).toMatch(/no value shapes were given/);
  });

  it('rejects a sparsity outside [0, 1) with the value quoted', () => {
    const model = new Net().model([x], ['x']);
    expect(() => pruneModel(model, { method: 'channels', sparsity: 1 })).toThrow("sparsity '1' is not a number in [0, 1)");
  });
});

describe('channel pruning rewrites around the channels it removes', () => {
  it('fixes value_info of resized values and drops what it cannot fix', async () => {
    const net = new Net();
    const c1 = net.relu(net.conv('x', { name: 'c1', in: 3, out: 8, dead: [0, 1] }));
    const model = net.model([x], [net.conv(c1, { name: 'c2', in: 8, out: 4 })], {
      valueInfo: [makeTensorValueInfo('c1.out', DataType.FLOAT, [1, 8, 8, 8]), makeTensorValueInfo(c1, DataType.FLOAT, [1, 7, 8, 8])],
    });
    const { model: pruned, agreement } = await pruneAndRun(model, { method: 'channels', sparsity: 0.25 });
    expect(agreement.maxAbsError).toBeLessThan(1e-4);
    const dims = pruned.graph!.valueInfo.map((info) => [info.name, info.type?.tensorType?.shape?.dim.map((d) => Number(d.dimValue))]);
    expect(dims).toEqual([['c1.out', [1, 6, 8, 8]]]);
  });

  it('copies a per-channel constant that two differently pruned layers read', async () => {
    const net = new Net();
    const scale = net.tensor('shared.scale', [1, 8, 1, 1], { amplitude: 1 });
    const a = net.relu(net.node('Mul', [net.conv('x', { name: 'ca', in: 3, out: 8, dead: [0, 1] }), scale]));
    const b = net.relu(net.node('Mul', [net.conv('x', { name: 'cb', in: 3, out: 8, dead: [6, 7] }), scale]));
    const y = net.conv(net.node('Concat', [a, b], { axis: 1 }), { name: 'c2', in: 16, out: 4, kernel: 1 });
    const { model, agreement } = await pruneAndRun(net.model([x], [y]), { method: 'channels', sparsity: 0.25 });
    expect(agreement.maxAbsError).toBeLessThan(1e-4);
    const scales = model.graph!.initializer.filter((t) => (t.name ?? '').startsWith('shared.scale')).map((t) => t.name);
    expect(scales.sort()).toEqual(['shared.scale_pruned', 'shared.scale_pruned_1']);
    expect(initializerDims(model, 'c2.w')).toEqual([4, 12, 1, 1]);
  });

  it('roundTo leaves each layer a multiple of that many channels', async () => {
    const net = new Net();
    const c1 = net.relu(net.conv('x', { name: 'c1', in: 3, out: 12 }));
    const c2 = net.relu(net.conv(c1, { name: 'c2', in: 12, out: 6 }));
    const model = net.model([x], [net.conv(c2, { name: 'c3', in: 6, out: 4 })]);
    const { report } = await pruneAndRun(model, { method: 'channels', sparsity: 0.3, roundTo: 4 });
    // 12 × 0.7 = 8.4 → 8; 6 × 0.7 = 4.2 → 4.
    expect(report.groups.map((g) => g.channels[0]!.after)).toEqual([8, 4]);
    expect(() => pruneModel(model, { method: 'channels', sparsity: 0.3, roundTo: 0 })).toThrow("channel multiple '0' is not a positive integer");
  });

  it('leaves the input model unchanged', async () => {
    const net = new Net();
    const model = net.model([x], [net.conv(net.relu(net.conv('x', { name: 'c1', in: 3, out: 8 })), { name: 'c2', in: 8, out: 4 })]);
    const before = JSON.stringify(model, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Array.from(v) : v));
    await pruneAndRun(model, { method: 'channels', sparsity: 0.5 });
    expect(JSON.stringify(model, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Array.from(v) : v))).toBe(before);
  });
});
