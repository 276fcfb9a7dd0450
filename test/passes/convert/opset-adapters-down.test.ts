/**
 * Converting down, where an operator's semantics allow it: constant inputs
 * back to attributes, explicit forms for what older opsets expressed
 * differently, and refusals for what they cannot express. Outputs are
 * compared with the original's in onnxruntime.
 */
import { describe, expect, it } from 'vitest';
import { makeNode, makeTensorValueInfo } from '../../../src/onnx/builder.js';
import { createTensor } from '../../../src/onnx/tensor.js';
import { DataType } from '../../../src/onnx/types.js';
import { convertOpset } from '../../../src/passes/convert/opset/index.js';
import {
  attributeNames,
  attributeOf,
  constantValues,
  convertAndCompare,
  f32,
  floats,
  modelOf,
  onlyNode,
  opTypes,
  refusalReasons,
} from './helpers/models.js';

const timeout = { timeout: 20_000 };
const int64 = (name: string, values: readonly number[], dims: number[] = [values.length]) =>
  createTensor(name, DataType.INT64, dims, values.map(BigInt));

describe('inputs back to attributes', () => {
  it('turns constant Squeeze axes into the attribute at 12 and removes the orphaned initializer', timeout, async () => {
    const node = makeNode('Squeeze', ['x', 'axes'], ['y']);
    const { model, report } = await convertAndCompare(modelOf(13, [node], [f32('x', [2, 1, 3])], [f32('y')], [int64('axes', [1])]), 12, { x: floats([2, 1, 3]) });
    const squeeze = onlyNode(model.graph, 'Squeeze');
    expect(squeeze.input).toEqual(['x']);
    expect(attributeOf(squeeze, 'axes')?.ints).toEqual([1n]);
    expect(model.graph?.initializer).toEqual([]);
    expect(report.notes).toContain('1 constant no longer read after the conversion removed');
  });

  it('refuses axes that are not constant', () => {
    const node = makeNode('Unsqueeze', ['x', 'axes'], ['y']);
    const model = modelOf(13, [node], [f32('x', [2]), makeTensorValueInfo('axes', DataType.INT64, [1])], [f32('y')]);
    expect(refusalReasons(model, 12)).toEqual(["its axes input 'axes' is not a constant, but opset 12 needs axes as an attribute"]);
  });

  it('turns ReduceMean-18 with no axes and noop_with_empty_axes=1 into Identity at 17', timeout, async () => {
    const node = makeNode('ReduceMean', ['x'], ['y'], { noop_with_empty_axes: 1 });
    const { model } = await convertAndCompare(modelOf(18, [node], [f32('x', [2, 3])], [f32('y')]), 17, { x: floats([2, 3]) });
    expect(opTypes(model.graph)).toEqual(['Identity']);
  });

  it('turns Split-18 num_outputs into an equal split, and a split input into the attribute', timeout, async () => {
    const equal = makeNode('Split', ['x'], ['a', 'b'], { axis: 0, num_outputs: 2 });
    const { model, report } = await convertAndCompare(modelOf(18, [equal], [f32('x', [4, 2])], [f32('a'), f32('b')]), 12, { x: floats([4, 2]) });
    expect(attributeNames(onlyNode(model.graph, 'Split'))).toEqual(['axis']);
    expect(report.adapters.flatMap((record) => record.notes)).toContain(
      'an equal split before opset 18 needs the axis size to be divisible by the number of outputs (opset 18 let the last part be smaller)',
    );
    const sized = makeNode('Split', ['x', 'split'], ['a', 'b'], { axis: 1 });
    const converted = await convertAndCompare(modelOf(13, [sized], [f32('x', [2, 5])], [f32('a'), f32('b')], [int64('split', [2, 3])]), 12, { x: floats([2, 5]) });
    expect(attributeOf(onlyNode(converted.model.graph, 'Split'), 'split')?.ints).toEqual([2n, 3n]);
  });

  it('turns Slice inputs into attributes at 9, refusing steps other than 1', timeout, async () => {
    const inits = [int64('starts', [1, 0]), int64('ends', [3, 2]), int64('axes', [0, 1])];
    const node = makeNode('Slice', ['x', 'starts', 'ends', 'axes'], ['y']);
    const { model } = await convertAndCompare(modelOf(13, [node], [f32('x', [4, 3])], [f32('y')], inits), 9, { x: floats([4, 3]) });
    expect(attributeNames(onlyNode(model.graph, 'Slice'))).toEqual(['axes', 'ends', 'starts']);
    const stepped = makeNode('Slice', ['x', 'starts', 'ends', 'axes', 'steps'], ['y']);
    expect(refusalReasons(modelOf(13, [stepped], [f32('x', [4, 3])], [f32('y')], [...inits, int64('steps', [2, 1])]), 9)).toEqual([
      'it slices with steps [2, 1], and Slice before opset 10 has no steps',
    ]);
  });

  it('turns TopK K, Clip min/max and Pad pads/value back into attributes', timeout, async () => {
    const nodes = [
      makeNode('Clip', ['x', 'lo', 'hi'], ['c']),
      makeNode('Pad', ['c', 'pads', 'value'], ['p']),
      makeNode('TopK', ['p', 'k'], ['values', 'indices'], { axis: 1 }),
    ];
    const inits = [
      createTensor('lo', DataType.FLOAT, [], [-1]),
      createTensor('hi', DataType.FLOAT, [], [2]),
      int64('pads', [0, 1, 0, 2]),
      createTensor('value', DataType.FLOAT, [], [0.5]),
      int64('k', [3]),
    ];
    const outputs = [f32('values'), makeTensorValueInfo('indices', DataType.INT64)];
    const { model } = await convertAndCompare(modelOf(11, nodes, [f32('x', [2, 4])], outputs, inits), 9, { x: floats([2, 4]) });
    expect(attributeNames(onlyNode(model.graph, 'Clip'))).toEqual(['max', 'min']);
    expect(attributeOf(onlyNode(model.graph, 'Pad'), 'value')?.f).toBe(0.5);
    expect(attributeOf(onlyNode(model.graph, 'TopK'), 'k')?.i).toBe(3n);
    expect(model.graph?.initializer).toEqual([]);
  });

  it('turns a Dropout-12 ratio into the attribute and makes a read mask explicitly all true at 11', timeout, async () => {
    const node = makeNode('Dropout', ['x', 'ratio'], ['y', 'mask']);
    const outputs = [f32('y'), makeTensorValueInfo('mask', DataType.BOOL)];
    const { model } = await convertAndCompare(modelOf(13, [node], [f32('x', [3])], outputs, [createTensor('ratio', DataType.FLOAT, [], [0.2])]), 11, { x: floats([3]) });
    expect(opTypes(model.graph)).toEqual(['Dropout', 'Shape', 'ConstantOfShape']);
    expect(attributeOf(onlyNode(model.graph, 'Dropout'), 'ratio')?.f).toBeCloseTo(0.2);
  });
});

describe('semantics written out for older opsets', () => {
  it('moves a Softmax-13 axis that is not the last one there with Transpose at 12', timeout, async () => {
    const node = makeNode('Softmax', ['x'], ['y'], { axis: 1 });
    const { model } = await convertAndCompare(modelOf(13, [node], [f32('x', [2, 3, 4])], [f32('y')]), 12, { x: floats([2, 3, 4]) });
    expect(opTypes(model.graph)).toEqual(['Transpose', 'Softmax', 'Transpose']);
    expect(attributeOf(model.graph?.node[0] ?? onlyNode(model.graph, 'Softmax'), 'perm')?.ints).toEqual([0n, 2n, 1n]);
  });

  it('refuses a Softmax-13 over a non-last axis of unknown rank', () => {
    const model = modelOf(13, [makeNode('Softmax', ['x'], ['y'], { axis: 0 })], [makeTensorValueInfo('x', DataType.FLOAT)], [f32('y')]);
    expect(refusalReasons(model, 12)).toEqual([
      'it normalizes along axis 0 of an input whose rank is unknown, which opset 12 can express only along the last axis',
    ]);
  });

  it('writes Shape-15 start/end as a Slice of the whole shape at 14', timeout, async () => {
    const node = makeNode('Shape', ['x'], ['y'], { start: 1, end: -1 });
    const { model } = await convertAndCompare(
      modelOf(15, [node], [f32('x', [2, 3, 4, 5])], [makeTensorValueInfo('y', DataType.INT64)]),
      14,
      { x: floats([2, 3, 4, 5]) },
    );
    expect(opTypes(model.graph)).toEqual(['Shape', 'Slice']);
  });

  it('writes Resize-11 asymmetric/floor back as Resize-10 and Upsample-9', timeout, async () => {
    const roi = createTensor('roi', DataType.FLOAT, [0], []);
    const scales = createTensor('scales', DataType.FLOAT, [4], [1, 1, 2, 3]);
    const node = makeNode('Resize', ['x', 'roi', 'scales'], ['y'], { coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    const model = modelOf(13, [node], [f32('x', [1, 1, 2, 2])], [f32('y')], [roi, scales]);
    const { model: at10 } = await convertAndCompare(model, 10, { x: floats([1, 1, 2, 2]) });
    expect(onlyNode(at10.graph, 'Resize').input).toEqual(['x', 'scales']);
    const { model: at9 } = await convertAndCompare(model, 9, { x: floats([1, 1, 2, 2]) });
    expect(opTypes(at9.graph)).toEqual(['Upsample']);
  });

  it('refuses a half_pixel Resize before opset 11', () => {
    const roi = createTensor('roi', DataType.FLOAT, [0], []);
    const scales = createTensor('scales', DataType.FLOAT, [4], [1, 1, 2, 2]);
    const model = modelOf(13, [makeNode('Resize', ['x', 'roi', 'scales'], ['y'])], [f32('x', [1, 1, 2, 2])], [f32('y')], [roi, scales]);
    expect(refusalReasons(model, 10)).toEqual(["coordinate_transformation_mode='half_pixel' has no equivalent before opset 11 (only 'asymmetric')"]);
  });

  it('turns BatchNormalization-15 training_mode=1 into the five outputs of opset 9 to 13', () => {
    const weights = ['s', 'b', 'm', 'v'].map((name) => createTensor(name, DataType.FLOAT, [3], [1, 2, 3]));
    const node = makeNode('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y', 'rm', 'rv'], { training_mode: 1 });
    const bn = onlyNode(convertOpset(modelOf(15, [node], [f32('x', [2, 3])], [f32('y'), f32('rm'), f32('rv')], weights), 13).model.graph, 'BatchNormalization');
    expect(bn.output.slice(0, 3)).toEqual(['y', 'rm', 'rv']);
    expect(bn.output).toHaveLength(5);
    expect(attributeNames(bn)).toEqual([]);
  });

  it('writes GroupNormalization-21 per-channel constants per group when each group is uniform', timeout, async () => {
    const scale = createTensor('scale', DataType.FLOAT, [4], [1.5, 1.5, -2, -2]);
    const bias = createTensor('bias', DataType.FLOAT, [4], [0.25, 0.25, 1, 1]);
    const node = makeNode('GroupNormalization', ['x', 'scale', 'bias'], ['y'], { num_groups: 2 });
    const { model } = await convertAndCompare(modelOf(21, [node], [f32('x', [1, 4, 3])], [f32('y')], [scale, bias]), 18, { x: floats([1, 4, 3]) }, 1e-5);
    const gn = onlyNode(model.graph, 'GroupNormalization');
    expect(constantValues(model.graph, gn.input[1] ?? '')).toEqual([1.5, -2]);
    const mixed = createTensor('scale', DataType.FLOAT, [4], [1, 2, 3, 4]);
    expect(refusalReasons(modelOf(21, [node], [f32('x', [1, 4, 3])], [f32('y')], [mixed, bias]), 20)).toEqual([
      "its input 'scale' differs between channels of one group, which opset 20 cannot express",
    ]);
  });
});

describe('refusals', () => {
  it('refuses operators that do not exist in the target opset', () => {
    const model = modelOf(17, [makeNode('LayerNormalization', ['x', 's'], ['y'])], [f32('x', [2, 3]), f32('s', [3])], [f32('y')]);
    expect(refusalReasons(model, 16)).toEqual(['LayerNormalization does not exist before opset 17']);
  });

  it('refuses element types the older schema does not accept, when they are known', () => {
    const u8 = (name: string) => makeTensorValueInfo(name, DataType.UINT8, [3]);
    const model = modelOf(14, [makeNode('Add', ['a', 'b'], ['c'])], [u8('a'), u8('b')], [u8('c')]);
    expect(refusalReasons(model, 13)).toEqual(["its input 'a' is uint8, which Add accepts only from opset 14 on"]);
  });

  it('refuses attribute values older opsets do not have', () => {
    const node = makeNode('Pad', ['x', 'pads'], ['y'], { mode: 'wrap' });
    expect(refusalReasons(modelOf(19, [node], [f32('x', [3])], [f32('y')], [int64('pads', [1, 1])]), 18)).toEqual([
      "mode='wrap' did not exist before opset 19",
    ]);
    const select = makeNode('ArgMax', ['x'], ['y'], { select_last_index: 1 });
    expect(refusalReasons(modelOf(13, [select], [f32('x', [3])], [makeTensorValueInfo('y', DataType.INT64)]), 11)).toEqual([
      'select_last_index=1 did not exist before opset 12',
    ]);
  });

  it('makes negative axes positive before opset 11 when the rank is known, and refuses otherwise', () => {
    const known = modelOf(11, [makeNode('Concat', ['a', 'b'], ['y'], { axis: -1 })], [f32('a', [2, 3]), f32('b', [2, 3])], [f32('y')]);
    expect(attributeOf(onlyNode(convertOpset(known, 10).model.graph, 'Concat'), 'axis')?.i).toBe(1n);
    const unknown = modelOf(11, [makeNode('Concat', ['a', 'b'], ['y'], { axis: -1 })], [f32('a'), f32('b')], [f32('y')]);
    expect(refusalReasons(unknown, 10)).toEqual([
      'axis [-1] counts from the back of an input whose rank is unknown; opset 10 needs non-negative axes',
    ]);
  });
});
