/**
 * Models and samples the static job tests share: one whose accuracy hinges
 * on a single node, which the accuracy-driven search must keep in float.
 */
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../../src/onnx/builder.js';
import { createTensor } from '../../../src/onnx/tensor.js';
import { DataType, type ModelProto } from '../../../src/onnx/types.js';
import type { HostTensor } from '../../../src/runtime/types.js';
import { seeded } from '../../passes/quantize/helpers.js';
import { floatTensor } from '../../passes/quantize/static/static-helpers.js';

/**
 * x[1,16] → MatMul mm1 → Relu → MatMul mm2 → y. Row 15 of mm1's weight is
 * 100 everywhere while x[15] is always 0 (see {@link outlierSample}): it
 * changes nothing in float, but it sets every column's int8 scale to
 * 100/127, which rounds the other weights (|w| ≤ 0.5) to 0 or ±0.79. mm1 is
 * the one node to keep in float.
 */
export function outlierWeightModel(): ModelProto {
  const w1 = seeded(256, 7, 0.5);
  for (let column = 0; column < 16; column++) w1[15 * 16 + column] = 100;
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'outlier',
      nodes: [
        makeNode('MatMul', ['x', 'w1'], ['h'], {}, { name: 'mm1' }),
        makeNode('Relu', ['h'], ['r'], {}, { name: 'relu' }),
        makeNode('MatMul', ['r', 'w2'], ['y'], {}, { name: 'mm2' }),
      ],
      inputs: [makeTensorValueInfo('x', DataType.FLOAT, [1, 16])],
      outputs: [makeTensorValueInfo('y', DataType.FLOAT, [1, 8])],
      initializers: [createTensor('w1', DataType.FLOAT, [16, 16], w1), createTensor('w2', DataType.FLOAT, [16, 8], seeded(128, 8, 0.5))],
    }),
  });
}

/** A sample for {@link outlierWeightModel}: seeded values, x[15] = 0. */
export function outlierSample(seed: number): HostTensor {
  const tensor = floatTensor([1, 16], seed);
  (tensor.data as Float32Array)[15] = 0;
  return tensor;
}
