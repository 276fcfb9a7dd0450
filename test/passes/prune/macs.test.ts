/**
 * MAC counting of Conv, ConvTranspose, Gemm and MatMul from measured shapes.
 */
import { describe, expect, it } from 'vitest';
import { measureMacs } from '../../../src/verify/prune-run.js';
import { floatInput, Net } from './helpers.js';

describe('measureMacs', () => {
  it('counts output elements × contracted size per node, with shapes from one run', async () => {
    const net = new Net();
    const conv = net.conv('x', { name: 'conv', in: 3, out: 8 });
    const grouped = net.conv(conv, { name: 'grouped', in: 8, out: 8, group: 4, stride: 2 });
    const up = net.node('ConvTranspose', [grouped, net.tensor('up.w', [8, 2, 2, 2])], { strides: [2, 2] }, 1, 'up');
    const gemm = net.node('Gemm', ['v', net.tensor('g.w', [32, 16])], { transB: 1 }, 1, 'gemm');
    const matmul = net.node('MatMul', ['t', net.tensor('m.w', [16, 24])], {}, 1, 'matmul');
    const model = net.model([floatInput('x', ['n', 3, 8, 8]), floatInput('v', [2, 16]), floatInput('t', [2, 5, 16])], [up, gemm, matmul]);
    const report = await measureMacs(model, { shapeOverrides: { x: [1, 3, 8, 8] } });
    expect(report.nodes).toEqual([
      { node: 'conv', opType: 'Conv', macs: 8 * 8 * 8 * 3 * 9 },
      { node: 'grouped', opType: 'Conv', macs: 8 * 4 * 4 * 2 * 9 },
      { node: 'up', opType: 'ConvTranspose', macs: 8 * 4 * 4 * 2 * 4 },
      { node: 'gemm', opType: 'Gemm', macs: 2 * 32 * 16 },
      { node: 'matmul', opType: 'MatMul', macs: 2 * 5 * 24 * 16 },
    ]);
    expect(report.total).toBe(report.nodes.reduce((sum, n) => sum + n.macs, 0));
    expect(report.uncounted).toEqual([]);
  });
});
