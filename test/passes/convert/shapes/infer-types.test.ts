/**
 * Shape and type inference, operator by operator (table-driven), plus the
 * value tracking that resolves exported shape arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { attrInts, makeGraph, makeNode, makeTensorValueInfo, type AttrValue } from '../../../../src/onnx/builder.js';
import { createTensor } from '../../../../src/onnx/tensor.js';
import { DataType, type NodeProto, type TensorProto } from '../../../../src/onnx/types.js';
import { inferGraphTypes, type Dim } from '../../../../src/passes/convert/shapes/index.js';

const F = DataType.FLOAT;
const I64 = DataType.INT64;

function i64(name: string, values: number[], dims = [values.length]): TensorProto {
  return createTensor(name, I64, dims, values);
}

function infer(nodes: NodeProto[], inputs: Record<string, Dim[]>, initializers: TensorProto[] = [], opset = 13) {
  const graph = makeGraph({
    name: 'g',
    nodes,
    inputs: Object.entries(inputs).map(([name, dims]) => makeTensorValueInfo(name, F, dims)),
    outputs: [],
    initializers,
  });
  return inferGraphTypes(graph, { opset });
}

const node = (op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = ['y']): NodeProto => makeNode(op, inputs, outputs, attrs);

interface Case {
  name: string;
  nodes: NodeProto[];
  inputs: Record<string, Dim[]>;
  initializers?: TensorProto[];
  expected: Dim[] | undefined;
  elemType?: number;
  output?: string;
}

const cases: Case[] = [
  { name: 'Relu keeps the shape', nodes: [node('Relu', ['x'])], inputs: { x: ['n', 3] }, expected: ['n', 3] },
  { name: 'Add broadcasts', nodes: [node('Add', ['x', 'b'])], inputs: { x: ['n', 1, 5], b: [4, 1] }, expected: ['n', 4, 5] },
  { name: 'Equal is bool', nodes: [node('Equal', ['x', 'b'])], inputs: { x: [2, 3], b: [3] }, expected: [2, 3], elemType: DataType.BOOL },
  { name: 'Cast takes its type from to', nodes: [node('Cast', ['x'], { to: DataType.INT32 })], inputs: { x: [2] }, expected: [2], elemType: DataType.INT32 },
  { name: 'Conv with pads and strides', nodes: [node('Conv', ['x', 'w'], { pads: [1, 1, 1, 1], strides: [2, 2] })], inputs: { x: [1, 3, 32, 31] }, initializers: [createTensor('w', F, [8, 3, 3, 3], new Float32Array(216))], expected: [1, 8, 16, 16] },
  { name: 'Conv with SAME_UPPER', nodes: [node('Conv', ['x', 'w'], { auto_pad: 'SAME_UPPER', strides: [2, 2] })], inputs: { x: [1, 3, 15, 15] }, initializers: [createTensor('w', F, [4, 3, 3, 3], new Float32Array(108))], expected: [1, 4, 8, 8] },
  { name: 'ConvTranspose doubles with stride 2', nodes: [node('ConvTranspose', ['x', 'w'], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] })], inputs: { x: [1, 4, 8, 8] }, initializers: [createTensor('w', F, [4, 2, 3, 3], new Float32Array(72))], expected: [1, 2, 16, 16] },
  { name: 'MaxPool with ceil_mode', nodes: [node('MaxPool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 })], inputs: { x: [1, 2, 6, 6] }, expected: [1, 2, 3, 3] },
  { name: 'GlobalAveragePool', nodes: [node('GlobalAveragePool', ['x'])], inputs: { x: ['n', 2, 7, 7] }, expected: ['n', 2, 1, 1] },
  { name: 'MatMul broadcasts batch dims', nodes: [node('MatMul', ['a', 'b'])], inputs: { a: ['n', 1, 4, 8], b: [3, 8, 5] }, expected: ['n', 3, 4, 5] },
  { name: 'MatMul with a vector', nodes: [node('MatMul', ['a', 'b'])], inputs: { a: [2, 4, 8], b: [8] }, expected: [2, 4] },
  { name: 'Gemm with transB', nodes: [node('Gemm', ['a', 'b'], { transB: 1 })], inputs: { a: ['m', 8], b: [5, 8] }, expected: ['m', 5] },
  { name: 'Reshape with 0 and -1', nodes: [node('Reshape', ['x', 's'])], inputs: { x: ['n', 4, 6] }, initializers: [i64('s', [0, -1, 2])], expected: ['n', 12, 2] },
  { name: 'Flatten', nodes: [node('Flatten', ['x'], { axis: 2 })], inputs: { x: [2, 3, 4, 5] }, expected: [6, 20] },
  { name: 'Transpose with perm', nodes: [node('Transpose', ['x'], { perm: [0, 2, 1] })], inputs: { x: ['n', 3, 4] }, expected: ['n', 4, 3] },
  { name: 'Concat adds the axis', nodes: [node('Concat', ['a', 'b'], { axis: 1 })], inputs: { a: ['n', 3], b: ['n', 5] }, expected: ['n', 8] },
  { name: 'Split evenly (second output)', nodes: [node('Split', ['x'], { axis: 1 }, ['y0', 'y1'])], inputs: { x: [2, 6] }, expected: [2, 3], output: 'y1' },
  { name: 'Split with sizes as input', nodes: [node('Split', ['x', 's'], { axis: 0 }, ['y0', 'y1'])], inputs: { x: [5, 2] }, initializers: [i64('s', [2, 3])], expected: [3, 2], output: 'y1' },
  { name: 'Slice with negative ends and steps', nodes: [node('Slice', ['x', 's', 'e', 'a', 't'])], inputs: { x: [10, 8] }, initializers: [i64('s', [1, -1]), i64('e', [-1, 0]), i64('a', [0, 1]), i64('t', [2, -2])], expected: [4, 4] },
  { name: 'Slice before opset 10 (attributes)', nodes: [node('Slice', ['x'], { starts: [1], ends: [1000], axes: [1] })], inputs: { x: [2, 8] }, expected: [2, 7] },
  { name: 'Squeeze with axes input', nodes: [node('Squeeze', ['x', 'a'])], inputs: { x: [1, 3, 1] }, initializers: [i64('a', [0, 2])], expected: [3] },
  { name: 'Unsqueeze with axes attribute (opset 11)', nodes: [node('Unsqueeze', ['x'], { axes: [0, -1] })], inputs: { x: [3, 4] }, expected: [1, 3, 4, 1] },
  { name: 'Gather with a matrix of indices', nodes: [node('Gather', ['x', 'i'], { axis: 1 })], inputs: { x: [2, 10, 3] }, initializers: [i64('i', [0, 1, 2, 3, 4, 5], [2, 3])], expected: [2, 2, 3, 3] },
  { name: 'ReduceMean without keepdims', nodes: [node('ReduceMean', ['x'], { axes: [1, 2], keepdims: 0 })], inputs: { x: ['n', 4, 5, 6] }, expected: ['n', 6] },
  { name: 'ReduceSum with axes input (opset 13)', nodes: [node('ReduceSum', ['x', 'a'])], inputs: { x: [2, 3, 4] }, initializers: [i64('a', [-1])], expected: [2, 3, 1] },
  { name: 'ArgMax is int64', nodes: [node('ArgMax', ['x'], { axis: 1, keepdims: 0 })], inputs: { x: [2, 5] }, expected: [2], elemType: I64 },
  { name: 'Pad with a pads input', nodes: [node('Pad', ['x', 'p'])], inputs: { x: [1, 3, 4, 4] }, initializers: [i64('p', [0, 0, 1, 2, 0, 0, 3, 4])], expected: [1, 3, 8, 10] },
  { name: 'Resize by scales', nodes: [node('Resize', ['x', '', 's'])], inputs: { x: [1, 3, 5, 7] }, initializers: [createTensor('s', F, [4], [1, 1, 2, 2])], expected: [1, 3, 10, 14] },
  { name: 'Resize by sizes', nodes: [node('Resize', ['x', '', '', 's'])], inputs: { x: [1, 3, 5, 7] }, initializers: [i64('s', [1, 3, 9, 9])], expected: [1, 3, 9, 9] },
  { name: 'Expand broadcasts to the target', nodes: [node('Expand', ['x', 's'])], inputs: { x: [3, 1] }, initializers: [i64('s', [2, 1, 4])], expected: [2, 3, 4] },
  { name: 'Tile multiplies', nodes: [node('Tile', ['x', 'r'])], inputs: { x: [2, 3] }, initializers: [i64('r', [2, 1])], expected: [4, 3] },
  { name: 'ConstantOfShape from a constant shape', nodes: [node('ConstantOfShape', ['s'])], inputs: {}, initializers: [i64('s', [2, 5])], expected: [2, 5] },
  { name: 'Shape with start and end (opset 15)', nodes: [node('Shape', ['x'], { start: 1, end: -1 })], inputs: { x: [2, 3, 4, 5] }, expected: [2], elemType: I64 },
  { name: 'TopK with k as input', nodes: [node('TopK', ['x', 'k'], {}, ['v', 'i'])], inputs: { x: [2, 9] }, initializers: [i64('k', [4])], expected: [2, 4], elemType: I64, output: 'i' },
  { name: 'an unknown operator gives nothing', nodes: [makeNode('Mystery', ['x'], ['y'], {}, { domain: 'com.example' })], inputs: { x: [2] }, expected: undefined },
  { name: 'LSTM outputs', nodes: [node('LSTM', ['x', 'w', 'r'], { hidden_size: 16, direction: 'bidirectional' }, ['y', 'h', 'c'])], inputs: { x: [7, 2, 8], w: [2, 64, 8], r: [2, 64, 16] }, expected: [7, 2, 2, 16] },
];

describe('shape inference', () => {
  it.each(cases)('$name', ({ nodes, inputs, initializers, expected, elemType, output }) => {
    const types = infer(nodes, inputs, initializers);
    const type = types.type(output ?? 'y');
    expect(type?.dims).toEqual(expected);
    if (elemType !== undefined) expect(type?.elemType).toBe(elemType);
  });

  it('resolves Shape → Gather → Unsqueeze → Concat → Reshape to a static shape', () => {
    const nodes = [
      node('Shape', ['x'], {}, ['shape']),
      node('Gather', ['shape', 'zero'], { axis: 0 }, ['batch']),
      node('Unsqueeze', ['batch', 'axes'], {}, ['batch1']),
      node('Concat', ['batch1', 'minus1'], { axis: 0 }, ['target']),
      node('Reshape', ['x', 'target'], {}, ['y']),
    ];
    const types = infer(nodes, { x: [2, 3, 4] }, [i64('zero', [0], []), i64('axes', [0]), i64('minus1', [-1])]);
    expect(types.value('target')?.values).toEqual([2, -1]);
    expect(types.type('y')?.dims).toEqual([2, 12]);
  });

  it('works out integer arithmetic on shape values (Div truncates, Mul, Cast)', () => {
    const nodes = [
      node('Shape', ['x'], {}, ['shape']),
      node('Div', ['shape', 'two'], {}, ['half']),
      node('Cast', ['half'], { to: DataType.FLOAT }, ['halfF']),
      node('Mul', ['halfF', 'scale'], {}, ['y']),
    ];
    const types = infer(nodes, { x: [5, 8] }, [i64('two', [2], []), createTensor('scale', F, [], [1.5])]);
    expect(types.value('half')?.values).toEqual([2, 4]);
    expect(types.value('y')?.values).toEqual([3, 6]);
  });

  it('types If outputs from both branches and keeps only the dims they agree on', () => {
    const branch = (dims: number[]): ReturnType<typeof makeGraph> => makeGraph({
      name: 'b',
      nodes: [makeNode('Relu', ['x'], ['r'])],
      inputs: [],
      outputs: [makeTensorValueInfo('r', F, dims)],
    });
    const types = infer([makeNode('If', ['c'], ['y'], { then_branch: branch([2, 3]), else_branch: branch([2, 3]) })], { x: [2, 3], c: [] });
    expect(types.type('y')).toEqual({ elemType: F, dims: [2, 3] });
  });

  it('falls back on declared value_info for unknown operators', () => {
    const graph = makeGraph({
      name: 'g',
      nodes: [makeNode('Mystery', ['x'], ['m'], {}, { domain: 'com.example' }), makeNode('Relu', ['m'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [2])],
      outputs: [],
      valueInfo: [makeTensorValueInfo('m', F, ['k', 4])],
    });
    expect(inferGraphTypes(graph, { opset: 13 }).type('y')).toEqual({ elemType: F, dims: ['k', 4] });
  });

  it('does not read overridable initializers (IR 4+ initializers listed as inputs) as known values', () => {
    const graph = makeGraph({
      name: 'g',
      nodes: [node('Reshape', ['x', 's'])],
      inputs: [makeTensorValueInfo('x', F, [2, 6]), makeTensorValueInfo('s', I64, [2])],
      outputs: [],
      initializers: [i64('s', [3, 4])],
    });
    expect(inferGraphTypes(graph, { opset: 13 }).type('y')?.dims).toEqual([null, null]);
    expect(inferGraphTypes(graph, { opset: 13, overridableInitializers: false }).type('y')?.dims).toEqual([3, 4]);
  });

  it('never throws on a malformed node', () => {
    const types = infer([node('Transpose', ['x'], { perm: attrInts([5, 7]) })], { x: [2, 3] });
    expect(types.type('y')?.dims).toEqual([null, null]);
  });
});
