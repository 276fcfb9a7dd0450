/**
 * Each opset adapter converting up, on small built models: the converted
 * node structure, and the same outputs as the original in onnxruntime
 * (which runs opsets 7 to 26).
 */
import { describe, expect, it } from 'vitest';
import { attrFloat, attrFloats, attrInts, makeGraph, makeNode, makeTensorValueInfo } from '../../../src/onnx/builder.js';
import { createTensor, tensorData } from '../../../src/onnx/tensor.js';
import { DataType } from '../../../src/onnx/types.js';
import { convertOpset } from '../../../src/passes/convert/opset/index.js';
import { reduceOpsAt18 } from '../../../src/passes/convert/opset/adapters/attribute-inputs.js';
import {
  attributeNames,
  attributeOf,
  constantDims,
  constantValues,
  convertAndCompare,
  f32,
  floats,
  modelOf,
  onlyNode,
  opTypes,
  refusalReasons,
} from './helpers/models.js';
import { runModel } from './helpers/run-model.js';

const timeout = { timeout: 20_000 };

describe('axes attribute → input (Squeeze, Unsqueeze, ReduceSum at 13; other Reduce ops at 18)', () => {
  it.each([
    ['Squeeze', 11, [1, 3], [0], f32('y', [3])],
    ['Squeeze', 11, [2, 1, 4, 1], [-1, 1], f32('y', [2, 4])],
    ['Unsqueeze', 11, [2, 4], [0, -1], f32('y', [1, 2, 4, 1])],
    ['ReduceSum', 12, [2, 3, 4], [1], f32('y', [2, 1, 4])],
  ] as const)('%s-%i of %j with axes %j', timeout, async (op, opset, inputDims, axes, output) => {
    const node = makeNode(op, ['x'], ['y'], { axes: attrInts(axes) });
    const { model } = await convertAndCompare(modelOf(opset, [node], [f32('x', inputDims)], [output]), 13, { x: floats(inputDims) });
    const converted = onlyNode(model.graph, op);
    expect(attributeNames(converted)).not.toContain('axes');
    expect(converted.input).toHaveLength(2);
    expect(constantValues(model.graph, converted.input[1] ?? '')).toEqual(axes);
    expect(constantDims(model.graph, converted.input[1] ?? '')).toEqual([axes.length]);
  });

  it('leaves a ReduceSum without axes (reduce all) with one input', timeout, async () => {
    const node = makeNode('ReduceSum', ['x'], ['y'], { keepdims: 0 });
    const { model } = await convertAndCompare(modelOf(12, [node], [f32('x', [2, 3])], [f32('y', [])]), 13, { x: floats([2, 3]) });
    expect(onlyNode(model.graph, 'ReduceSum').input).toEqual(['x']);
  });

  it.each(reduceOpsAt18)('%s-13 → 18 moves axes to an input', timeout, async (op) => {
    const node = makeNode(op, ['x'], ['y'], { axes: attrInts([0, 2]), keepdims: 0 });
    const { model } = await convertAndCompare(modelOf(17, [node], [f32('x', [2, 3, 4])], [f32('y', [3])]), 18, {
      x: { ...floats([2, 3, 4]), data: floats([2, 3, 4]).data.map((v) => Math.abs(v) + 0.5) },
    }, 1e-5);
    const converted = onlyNode(model.graph, op);
    expect(constantValues(model.graph, converted.input[1] ?? '')).toEqual([0, 2]);
  });
});

describe('Split', () => {
  it('moves split to an input at 13', timeout, async () => {
    const node = makeNode('Split', ['x'], ['a', 'b'], { axis: 1, split: attrInts([1, 3]) });
    const { model } = await convertAndCompare(modelOf(11, [node], [f32('x', [2, 4])], [f32('a', [2, 1]), f32('b', [2, 3])]), 13, { x: floats([2, 4]) });
    const split = onlyNode(model.graph, 'Split');
    expect(constantValues(model.graph, split.input[1] ?? '')).toEqual([1, 3]);
  });

  it('writes an equal split as num_outputs at 18', timeout, async () => {
    const node = makeNode('Split', ['x'], ['a', 'b', 'c'], { axis: 0 });
    const { model } = await convertAndCompare(modelOf(13, [node], [f32('x', [6, 2])], [f32('a'), f32('b'), f32('c')]), 18, { x: floats([6, 2]) });
    expect(attributeOf(onlyNode(model.graph, 'Split'), 'num_outputs')?.i).toBe(3n);
  });
});

describe('Slice and TopK at 10', () => {
  it.each([
    ['without axes', { starts: attrInts([1]), ends: attrInts([3]) }, [4, 5]],
    ['with axes and negative starts', { starts: attrInts([-3, 0]), ends: attrInts([1000, 2]), axes: attrInts([1, 0]) }, [4, 5]],
  ])('moves starts/ends/axes to inputs (%s)', timeout, async (_label, attributes, dims) => {
    const node = makeNode('Slice', ['x'], ['y'], attributes);
    const { model } = await convertAndCompare(modelOf(9, [node], [f32('x', dims)], [f32('y')]), 10, { x: floats(dims) });
    const slice = onlyNode(model.graph, 'Slice');
    expect(slice.input.length).toBe('axes' in attributes ? 4 : 3);
    expect(attributeNames(slice)).toEqual([]);
  });

  it('moves k to a 1-element K input', timeout, async () => {
    const node = makeNode('TopK', ['x'], ['values', 'indices'], { k: 2, axis: 1 });
    const output = [f32('values'), makeTensorValueInfo('indices', DataType.INT64)];
    const { model } = await convertAndCompare(modelOf(9, [node], [f32('x', [3, 5])], output), 10, { x: floats([3, 5]) });
    const topK = onlyNode(model.graph, 'TopK');
    expect(constantValues(model.graph, topK.input[1] ?? '')).toEqual([2]);
    expect(constantDims(model.graph, topK.input[1] ?? '')).toEqual([1]);
  });
});

describe('Clip and Pad at 11', () => {
  it.each([
    ['min and max', { min: attrFloat(-1), max: attrFloat(0.5) }, ['x', 'y_min', 'y_max']],
    ['max only', { max: attrFloat(1.25) }, ['x', '', 'y_max']],
  ] as const)('Clip with %s gets scalar inputs of the data type', timeout, async (_label, attributes, inputs) => {
    const node = makeNode('Clip', ['x'], ['y'], attributes);
    const { model } = await convertAndCompare(modelOf(10, [node], [f32('x', [2, 3])], [f32('y')]), 11, { x: floats([2, 3]) });
    const clip = onlyNode(model.graph, 'Clip');
    expect(attributeNames(clip)).toEqual([]);
    expect(clip.input).toEqual(inputs);
    for (const name of clip.input.slice(1).filter((n) => n !== '')) {
      expect(model.graph?.initializer.find((t) => t.name === name)?.dataType).toBe(DataType.FLOAT);
      expect(constantDims(model.graph, name)).toEqual([]);
    }
  });

  it('writes Clip bounds of a double input as double scalars', () => {
    const node = makeNode('Clip', ['x'], ['y'], { min: attrFloat(-0.25) });
    const model = modelOf(10, [node], [makeTensorValueInfo('x', DataType.DOUBLE, [3])], [makeTensorValueInfo('y', DataType.DOUBLE)]);
    const converted = convertOpset(model, 11).model;
    const min = onlyNode(converted.graph, 'Clip').input[1] ?? '';
    expect(converted.graph?.initializer.find((t) => t.name === min)?.dataType).toBe(DataType.DOUBLE);
    expect(constantValues(converted.graph, min)).toEqual([-0.25]);
  });

  it('finds the element type through Cast and arithmetic when no value_info says it', timeout, async () => {
    const nodes = [
      makeNode('Cast', ['x'], ['f'], { to: DataType.FLOAT }),
      makeNode('Mul', ['f', 'f'], ['m']),
      makeNode('Clip', ['m'], ['y'], { min: attrFloat(0.5), max: attrFloat(4) }),
    ];
    const model = modelOf(10, nodes, [makeTensorValueInfo('x', DataType.INT32, [5])], [f32('y')]);
    const { model: converted } = await convertAndCompare(model, 11, { x: { dtype: 'int32', dims: [5], data: Int32Array.from([-3, -1, 0, 1, 3]) } });
    const clip = onlyNode(converted.graph, 'Clip');
    expect(converted.graph?.initializer.find((t) => t.name === clip.input[1])?.dataType).toBe(DataType.FLOAT);
  });

  it('refuses a Clip whose element type cannot be known', () => {
    const node = makeNode('Clip', ['x'], ['y'], { min: attrFloat(0) });
    const model = modelOf(10, [node], [{ name: 'x', metadataProps: [] }], [f32('y')]);
    expect(refusalReasons(model, 11)).toEqual([
      "the element type of input 'x' is not known, and the min value must be written as a constant of that type; declare it in value_info or as a graph input",
    ]);
  });

  it.each([
    ['constant', 1.5],
    ['reflect', 0],
    ['edge', 0],
  ])('Pad mode %s moves pads (and a value of %d) to inputs', timeout, async (mode, value) => {
    const node = makeNode('Pad', ['x'], ['y'], { mode, pads: attrInts([0, 1, 1, 2]), ...(value === 0 ? {} : { value: attrFloat(value) }) });
    const { model } = await convertAndCompare(modelOf(10, [node], [f32('x', [2, 3])], [f32('y')]), 11, { x: floats([2, 3]) });
    const pad = onlyNode(model.graph, 'Pad');
    expect(constantValues(model.graph, pad.input[1] ?? '')).toEqual([0, 1, 1, 2]);
    expect(pad.input.length).toBe(value === 0 ? 2 : 3);
  });
});

describe('Dropout', () => {
  it('moves ratio to a float scalar input at 12', timeout, async () => {
    const node = makeNode('Dropout', ['x'], ['y'], { ratio: attrFloat(0.3) });
    const { model } = await convertAndCompare(modelOf(11, [node], [f32('x', [4])], [f32('y')]), 12, { x: floats([4]) });
    const dropout = onlyNode(model.graph, 'Dropout');
    expect(constantValues(model.graph, dropout.input[1] ?? '')[0]).toBeCloseTo(0.3);
  });

  it('drops an unused mask and casts a used one back to the data type at 10', () => {
    const unused = modelOf(9, [makeNode('Dropout', ['x'], ['y', 'mask'])], [f32('x', [4])], [f32('y')]);
    expect(onlyNode(convertOpset(unused, 10).model.graph, 'Dropout').output).toEqual(['y']);
    const used = modelOf(9, [makeNode('Dropout', ['x'], ['y', 'mask'])], [f32('x', [4])], [f32('y'), f32('mask')]);
    const converted = convertOpset(used, 10).model;
    expect(opTypes(converted.graph)).toEqual(['Dropout', 'Cast']);
    const cast = onlyNode(converted.graph, 'Cast');
    expect(cast.output).toEqual(['mask']);
    expect(attributeOf(cast, 'to')?.i).toBe(BigInt(DataType.FLOAT));
  });
});

describe('Upsample → Resize', () => {
  it('moves scales to an input at 9', timeout, async () => {
    const node = makeNode('Upsample', ['x'], ['y'], { scales: attrFloats([1, 1, 2, 2]) });
    const { model } = await convertAndCompare(modelOf(8, [node], [f32('x', [1, 1, 2, 3])], [f32('y')]), 9, { x: floats([1, 1, 2, 3]) });
    expect(constantValues(model.graph, onlyNode(model.graph, 'Upsample').input[1] ?? '')).toEqual([1, 1, 2, 2]);
  });

  it.each([
    ['nearest', [1, 1, 2, 3], 'floor'],
    ['linear', [1, 1, 2, 2], undefined],
  ] as const)('Upsample %s %j becomes an asymmetric Resize that computes the same', timeout, async (mode, scales, nearestMode) => {
    const node = makeNode('Upsample', ['x'], ['y'], { mode, scales: attrFloats(scales) });
    const { model, report } = await convertAndCompare(modelOf(7, [node], [f32('x', [1, 2, 3, 4])], [f32('y')]), 13, { x: floats([1, 2, 3, 4]) });
    const resize = onlyNode(model.graph, 'Resize');
    expect(resize.input).toHaveLength(3);
    expect(new TextDecoder().decode(attributeOf(resize, 'coordinate_transformation_mode')?.s)).toBe('asymmetric');
    expect(attributeOf(resize, 'nearest_mode')?.s === undefined ? undefined : new TextDecoder().decode(attributeOf(resize, 'nearest_mode')?.s)).toBe(nearestMode);
    expect(report.adapters.map((record) => `${record.opType} ${record.fromVersion}→${record.toVersion}`)).toEqual([
      'Upsample 7→9',
      'Upsample 9→10',
      'Resize 10→11',
    ]);
  });

  it('maps a shrinking Resize-10 to nearest_mode=ceil, as onnxruntime runs Resize-10', timeout, async () => {
    const scales = createTensor('scales', DataType.FLOAT, [4], [1, 1, 0.5, 0.6]);
    const node = makeNode('Resize', ['x', 'scales'], ['y'], { mode: 'nearest' });
    const { model } = await convertAndCompare(modelOf(10, [node], [f32('x', [1, 1, 6, 5])], [f32('y')], [scales]), 11, { x: floats([1, 1, 6, 5]) });
    expect(new TextDecoder().decode(attributeOf(onlyNode(model.graph, 'Resize'), 'nearest_mode')?.s)).toBe('ceil');
  });

  it('refuses a Resize-10 that enlarges one axis and shrinks another', () => {
    const scales = createTensor('scales', DataType.FLOAT, [4], [1, 1, 2, 0.5]);
    const model = modelOf(10, [makeNode('Resize', ['x', 'scales'], ['y'])], [f32('x', [1, 1, 2, 4])], [f32('y')], [scales]);
    expect(refusalReasons(model, 11)).toEqual(['it enlarges some axes and shrinks others (scales [1, 1, 2, 0.5]), which one nearest_mode cannot express']);
  });

  it.each([
    ['floor', 'round_prefer_ceil'],
    ['round_prefer_floor', 'ceil'],
  ])('rewrites tf_half_pixel_for_nn with nearest_mode=%s as half_pixel with %s at 13', timeout, async (before, after) => {
    const scales = createTensor('scales', DataType.FLOAT, [4], [1, 1, 1.7, 2.5]);
    const roi = createTensor('roi', DataType.FLOAT, [0], []);
    const node = makeNode('Resize', ['x', 'roi', 'scales'], ['y'], { coordinate_transformation_mode: 'tf_half_pixel_for_nn', nearest_mode: before });
    const { model } = await convertAndCompare(modelOf(12, [node], [f32('x', [1, 1, 3, 4])], [f32('y')], [roi, scales]), 13, { x: floats([1, 1, 3, 4]) });
    const resize = onlyNode(model.graph, 'Resize');
    expect(new TextDecoder().decode(attributeOf(resize, 'coordinate_transformation_mode')?.s)).toBe('half_pixel');
    expect(new TextDecoder().decode(attributeOf(resize, 'nearest_mode')?.s)).toBe(after);
  });

  it('refuses tf_half_pixel_for_nn with linear mode at 13', () => {
    const scales = createTensor('scales', DataType.FLOAT, [4], [1, 1, 2, 2]);
    const roi = createTensor('roi', DataType.FLOAT, [0], []);
    const node = makeNode('Resize', ['x', 'roi', 'scales'], ['y'], { mode: 'linear', coordinate_transformation_mode: 'tf_half_pixel_for_nn' });
    expect(refusalReasons(modelOf(12, [node], [f32('x', [1, 1, 2, 2])], [f32('y')], [roi, scales]), 13)).toEqual([
      "coordinate_transformation_mode='tf_half_pixel_for_nn' with mode='linear' and nearest_mode='round_prefer_floor' has no equivalent from opset 13 on",
    ]);
  });
});

describe('Softmax, LogSoftmax and Hardmax at 13', () => {
  it.each(['Softmax', 'LogSoftmax', 'Hardmax'])('%s over the last axis of a known rank keeps its form', timeout, async (op) => {
    const node = makeNode(op, ['x'], ['y'], { axis: 2 });
    const { model, report } = await convertAndCompare(modelOf(12, [node], [f32('x', [2, 3, 4])], [f32('y')]), 13, { x: floats([2, 3, 4]) });
    expect(opTypes(model.graph)).toEqual([op]);
    expect(report.adapters[0]?.nodesChanged).toBe(0);
    expect(report.adapters[0]?.notes).toEqual(['where the axis is the last one, both versions mean the same: the node keeps its form']);
  });

  it('writes out the default axis 1 of a 2-D input', timeout, async () => {
    const { model } = await convertAndCompare(modelOf(11, [makeNode('Softmax', ['x'], ['y'])], [f32('x', [3, 5])], [f32('y')]), 13, { x: floats([3, 5]) });
    expect(attributeOf(onlyNode(model.graph, 'Softmax'), 'axis')?.i).toBe(1n);
  });

  it.each(['Softmax', 'LogSoftmax', 'Hardmax'])('%s over axis 1 of a 4-D input keeps the 2-D view: Shape, Flatten, op, Reshape', timeout, async (op) => {
    const node = makeNode(op, ['x'], ['y'], { axis: 1 });
    const { model } = await convertAndCompare(modelOf(11, [node], [f32('x', [2, 3, 2, 2])], [f32('y')]), 13, { x: floats([2, 3, 2, 2]) });
    expect(opTypes(model.graph)).toEqual(['Shape', 'Flatten', op, 'Reshape']);
    expect(attributeOf(onlyNode(model.graph, op), 'axis')?.i).toBe(-1n);
    expect(attributeOf(onlyNode(model.graph, 'Flatten'), 'axis')?.i).toBe(1n);
    expect(onlyNode(model.graph, 'Reshape').output).toEqual(['y']);
  });

  it('needs no shape: an input of unknown rank gets the 2-D view', timeout, async () => {
    // The shape comes in at run time, so nothing tells the converter the rank of 'r'.
    const nodes = [makeNode('Reshape', ['x', 'shape'], ['r']), makeNode('Softmax', ['r'], ['y'], { axis: 1 })];
    const inputs = [f32('x', [24]), makeTensorValueInfo('shape', DataType.INT64, [3])];
    const feeds = { x: floats([24]), shape: { dtype: 'int64' as const, dims: [3], data: BigInt64Array.from([2n, 3n, 4n]) } };
    const { model, report } = await convertAndCompare(modelOf(9, nodes, inputs, [f32('y')]), 13, feeds);
    expect(opTypes(model.graph)).toEqual(['Reshape', 'Shape', 'Flatten', 'Softmax', 'Reshape']);
    expect(report.adapters[0]?.notes[0]).toMatch(/rank is unknown/);
  });

  it('infers the rank through Transpose, Reshape with a constant shape and MatMul', timeout, async () => {
    const shape = createTensor('shape', DataType.INT64, [3], [2n, 3n, 4n]);
    const weight = createTensor('w', DataType.FLOAT, [4, 5], floats([4, 5]).data);
    const nodes = [
      makeNode('Reshape', ['x', 'shape'], ['r']),
      makeNode('Transpose', ['r'], ['t'], { perm: [1, 0, 2] }),
      makeNode('MatMul', ['t', 'w'], ['m']),
      makeNode('Softmax', ['m'], ['y'], { axis: 2 }),
    ];
    const { model } = await convertAndCompare(modelOf(11, nodes, [f32('x', [24])], [f32('y')], [shape, weight]), 13, { x: floats([24]) });
    expect(opTypes(model.graph)).toEqual(['Reshape', 'Transpose', 'MatMul', 'Softmax']);
  });
});

describe('normalization', () => {
  const stats = (name: string, dims: number[], offset: number, positive = false) =>
    createTensor(name, DataType.FLOAT, dims, floats(dims, offset).data.map((v) => (positive ? Math.abs(v) + 0.1 : v)));

  it('removes spatial=1 from BatchNormalization at 9', timeout, async () => {
    const node = makeNode('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { spatial: 1, epsilon: attrFloat(1e-3) });
    const weights = [stats('s', [3], 1), stats('b', [3], 2), stats('m', [3], 3), stats('v', [3], 4, true)];
    const { model } = await convertAndCompare(modelOf(8, [node], [f32('x', [2, 3, 2, 2])], [f32('y')], weights), 9, { x: floats([2, 3, 2, 2]) }, 1e-5);
    expect(attributeNames(onlyNode(model.graph, 'BatchNormalization'))).toEqual(['epsilon']);
  });

  it('writes per-activation BatchNormalization (spatial=0) as arithmetic at 9', timeout, async () => {
    const node = makeNode('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { spatial: 0 });
    const [scale, bias, mean, variance] = [stats('s', [3, 2, 2], 1), stats('b', [3, 2, 2], 2), stats('m', [3, 2, 2], 3), stats('v', [3, 2, 2], 4, true)];
    const model = modelOf(8, [node], [f32('x', [2, 3, 2, 2])], [f32('y')], [scale, bias, mean, variance]);
    const converted = convertOpset(model, 9).model;
    expect(opTypes(converted.graph)).toEqual(['Sub', 'Add', 'Sqrt', 'Div', 'Mul', 'Add']);
    // onnxruntime has no per-activation BatchNormalization, so the result is checked against the formula.
    const x = floats([2, 3, 2, 2]);
    const y = (await runModel(converted, { x }))['y']?.data as Float32Array;
    const values = (tensor: typeof scale) => tensorData(tensor) as Float32Array;
    const expected = Array.from(x.data as Float32Array, (value, index) => {
      const at = index % 12;
      const normalized = (value - (values(mean)[at] ?? 0)) / Math.sqrt((values(variance)[at] ?? 0) + 1e-5);
      return normalized * (values(scale)[at] ?? 0) + (values(bias)[at] ?? 0);
    });
    Array.from(y).forEach((value, index) => expect(value).toBeCloseTo(expected[index] ?? NaN, 4));
  });

  it('turns the statistics outputs of BatchNormalization-9 into training_mode=1 at 14', () => {
    const node = makeNode('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y', 'mean', 'var', 'saved_mean', 'saved_var']);
    const weights = [stats('s', [3], 1), stats('b', [3], 2), stats('m', [3], 3), stats('v', [3], 4, true)];
    const model = modelOf(13, [node], [f32('x', [2, 3])], [f32('y'), f32('mean'), f32('var')], weights);
    const bn = onlyNode(convertOpset(model, 14).model.graph, 'BatchNormalization');
    expect(bn.output).toEqual(['y', 'mean', 'var']);
    expect(attributeOf(bn, 'training_mode')?.i).toBe(1n);
    const reading = modelOf(13, [node], [f32('x', [2, 3])], [f32('y'), f32('saved_mean')], weights);
    expect(refusalReasons(reading, 14)).toEqual(["its output 'saved_mean' are saved_mean/saved_var, which BatchNormalization dropped in opset 14"]);
  });

  it('repeats GroupNormalization-18 per-group scale and bias over each group\'s channels at 21', timeout, async () => {
    const node = makeNode('GroupNormalization', ['x', 'scale', 'bias'], ['y'], { num_groups: 2 });
    const weights = [stats('scale', [2], 1), stats('bias', [2], 2)];
    const { model } = await convertAndCompare(modelOf(18, [node], [f32('x', [2, 4, 3])], [f32('y')], weights), 21, { x: floats([2, 4, 3]) }, 1e-5);
    expect(opTypes(model.graph)).toEqual(['Shape', 'Div', 'Concat', 'Reshape', 'Expand', 'Reshape', 'Reshape', 'Expand', 'Reshape', 'GroupNormalization']);
  });
});

describe('other semantic changes', () => {
  it('renames Scatter to ScatterElements at 11', timeout, async () => {
    const indices = createTensor('i', DataType.INT64, [1, 2], [1n, 0n]);
    const updates = createTensor('u', DataType.FLOAT, [1, 2], [7, 8]);
    const node = makeNode('Scatter', ['x', 'i', 'u'], ['y'], { axis: 1 });
    const { model } = await convertAndCompare(modelOf(10, [node], [f32('x', [2, 3])], [f32('y')], [indices, updates]), 11, { x: floats([2, 3]) });
    expect(opTypes(model.graph)).toEqual(['ScatterElements']);
  });

  it('writes RoiAlign\'s old coordinate mapping out at 16', timeout, async () => {
    const rois = createTensor('rois', DataType.FLOAT, [1, 4], [0.5, 0.5, 3.2, 2.7]);
    const batch = createTensor('batch', DataType.INT64, [1], [0n]);
    const node = makeNode('RoiAlign', ['x', 'rois', 'batch'], ['y'], { output_height: 2, output_width: 2, sampling_ratio: 2 });
    const { model } = await convertAndCompare(modelOf(15, [node], [f32('x', [1, 1, 4, 4])], [f32('y')], [rois, batch]), 16, { x: floats([1, 1, 4, 4]) }, 1e-5);
    expect(new TextDecoder().decode(attributeOf(onlyNode(model.graph, 'RoiAlign'), 'coordinate_transformation_mode')?.s)).toBe('output_half_pixel');
  });

  it('renames GridSample bilinear to linear at 20', timeout, async () => {
    const grid = createTensor('grid', DataType.FLOAT, [1, 2, 2, 2], [-0.5, -0.2, 0.3, 0.9, 0.1, -0.7, 0.6, 0.4]);
    const node = makeNode('GridSample', ['x', 'grid'], ['y'], { mode: 'bilinear', align_corners: 1 });
    const { model } = await convertAndCompare(modelOf(19, [node], [f32('x', [1, 1, 3, 3])], [f32('y')], [grid]), 20, { x: floats([1, 1, 3, 3]) }, 1e-5);
    expect(new TextDecoder().decode(attributeOf(onlyNode(model.graph, 'GridSample'), 'mode')?.s)).toBe('linear');
  });

  it('moves DFT\'s axis (default 1, which changed to -2) to a scalar input at 20', timeout, async () => {
    const node = makeNode('DFT', ['x'], ['y']);
    const { model } = await convertAndCompare(modelOf(19, [node], [f32('x', [1, 4, 3, 1])], [f32('y')]), 20, { x: floats([1, 4, 3, 1]) }, 1e-4);
    const dft = onlyNode(model.graph, 'DFT');
    expect(dft.input[1]).toBe('');
    expect(constantValues(model.graph, dft.input[2] ?? '')).toEqual([1]);
    expect(constantDims(model.graph, dft.input[2] ?? '')).toEqual([]);
  });

  it('keeps a float16 Range computing in float16 at 27 (stash_type)', () => {
    const half = (name: string) => makeTensorValueInfo(name, DataType.FLOAT16, []);
    const model = modelOf(26, [makeNode('Range', ['a', 'b', 'c'], ['y'])], [half('a'), half('b'), half('c')], [makeTensorValueInfo('y', DataType.FLOAT16)]);
    expect(attributeOf(onlyNode(convertOpset(model, 27).model.graph, 'Range'), 'stash_type')?.i).toBe(BigInt(DataType.FLOAT16));
  });

  it('refuses Scan-8, whose batch axis Scan-9 dropped', () => {
    const body = makeGraph({ name: 'body', nodes: [makeNode('Add', ['s', 'x'], ['s2'])], inputs: [f32('s'), f32('x')], outputs: [f32('s2')] });
    const node = makeNode('Scan', ['', 'init', 'xs'], ['final'], { body, num_scan_inputs: 1 });
    expect(refusalReasons(modelOf(8, [node], [f32('init', [1, 2]), f32('xs', [1, 3, 2])], [f32('final')]), 9)).toEqual([
      'Scan-8 iterates over a leading batch axis, which Scan-9 dropped',
    ]);
  });
});

describe('before opset 7', () => {
  it('removes consumed_inputs at 6 and aligns broadcast=1 axis=1 with trailing unit axes at 7', timeout, async () => {
    const nodes = [
      makeNode('Relu', ['x'], ['r'], { consumed_inputs: attrInts([0]) }),
      makeNode('Add', ['r', 'b'], ['y'], { broadcast: 1, axis: 1 }),
    ];
    const bias = createTensor('b', DataType.FLOAT, [3], [10, 20, 30]);
    const model = modelOf(5, nodes, [f32('x', [2, 3, 2]), f32('b', [3])], [f32('y')], [bias], { irVersion: 3 });
    const converted = convertOpset(model, 7).model;
    expect(opTypes(converted.graph)).toEqual(['Relu', 'Unsqueeze', 'Add']);
    expect(attributeOf(onlyNode(converted.graph, 'Unsqueeze'), 'axes')?.ints).toEqual([1n]);
    expect(attributeNames(onlyNode(converted.graph, 'Add'))).toEqual([]);
    const y = (await runModel(converted, { x: floats([2, 3, 2]) }))['y']?.data as Float32Array;
    const x = floats([2, 3, 2]).data as Float32Array;
    Array.from(y).forEach((value, index) => expect(value).toBeCloseTo(Math.max(x[index] ?? 0, 0) + [10, 20, 30][Math.floor(index / 2) % 3]!, 5));
  });

  it('turns Upsample-1 width/height scales into NCHW scales at 7', () => {
    const node = makeNode('Upsample', ['x'], ['y'], { width_scale: attrFloat(2), height_scale: attrFloat(3), mode: 'bilinear' });
    const upsample = onlyNode(convertOpset(modelOf(6, [node], [f32('x', [1, 1, 2, 2])], [f32('y')], [], { irVersion: 3 }), 7).model.graph, 'Upsample');
    expect(attributeOf(upsample, 'scales')?.floats).toEqual([1, 1, 3, 2]);
    expect(new TextDecoder().decode(attributeOf(upsample, 'mode')?.s)).toBe('linear');
  });

  it('adds shape inputs of Reshape-1 to the graph inputs while the IR version stays below 4', () => {
    const node = makeNode('Reshape', ['x'], ['y'], { shape: attrInts([3, 2]) });
    const converted = convertOpset(modelOf(4, [node], [f32('x', [2, 3])], [f32('y')], [], { irVersion: 3 }), 5).model;
    const shapeName = onlyNode(converted.graph, 'Reshape').input[1] ?? '';
    expect(converted.irVersion).toBe(3n);
    expect(converted.graph?.input.map((info) => info.name)).toEqual(['x', shapeName]);
    expect(constantValues(converted.graph, shapeName)).toEqual([3, 2]);
  });

  it('refuses is_test=0 (training) on BatchNormalization at 7', () => {
    const node = makeNode('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], { is_test: 0 });
    expect(refusalReasons(modelOf(6, [node], [f32('x'), f32('s'), f32('b'), f32('m'), f32('v')], [f32('y')], [], { irVersion: 3 }), 7)).toEqual([
      'is_test=0 runs it in training mode, which opset 7 cannot express this way',
    ]);
  });

  it('refuses a change before 7 it has no adapter for (Tile-1)', () => {
    const node = makeNode('Tile', ['x', 'tiles', 'axis'], ['y']);
    expect(refusalReasons(modelOf(5, [node], [f32('x'), f32('tiles'), f32('axis')], [f32('y')], [], { irVersion: 3 }), 7)).toEqual([
      'Tile changed in opset 6, a change mlctl does not convert',
    ]);
  });
});
