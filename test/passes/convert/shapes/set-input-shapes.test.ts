/**
 * `--shape`: fixing input dims, binding symbolic dims, propagating shapes
 * into value_info and outputs, and the errors for requests that do not fit.
 */
import { describe, expect, it } from 'vitest';
import { makeNode, makeTensorValueInfo } from '../../../../src/onnx/builder.js';
import { loadModel } from '../../../../src/onnx/model-io.js';
import { createTensor } from '../../../../src/onnx/tensor.js';
import { DataType } from '../../../../src/onnx/types.js';
import { declaredType, setInputShapes } from '../../../../src/passes/convert/shapes/index.js';
import { ppOcrRecModel } from '../../../helpers/paths.js';
import { input, model, run, weight } from '../simplify/helpers.js';

const F = DataType.FLOAT;

function mlp() {
  return model({
    nodes: [makeNode('MatMul', ['x', 'w'], ['h']), makeNode('Relu', ['h'], ['y'])],
    inputs: [makeTensorValueInfo('x', F, ['batch', 8])],
    outputs: [makeTensorValueInfo('y', F, ['batch', 4])],
    initializers: [weight('w', [8, 4], 1)],
    valueInfo: [makeTensorValueInfo('h', F, ['batch', 4])],
  });
}

describe('setInputShapes', () => {
  it('fixes the input, binds the symbol everywhere and writes static value_info', async () => {
    const { model: result, report } = setInputShapes(mlp(), { x: [3, 8] });
    const graph = result.graph!;
    expect(declaredType(graph.input[0])?.dims).toEqual([3, 8]);
    expect(declaredType(graph.output[0])?.dims).toEqual([3, 4]);
    expect(graph.valueInfo.map((info) => [info.name, declaredType(info)?.dims])).toEqual([['h', [3, 4]]]);
    expect(report.boundSymbols).toEqual({ batch: 3 });
    expect(report.valueInfo).toEqual({ entries: 1, static: 1, dropped: 0 });
    expect(report.outputs).toEqual([{ name: 'y', before: ['batch', 4], after: [3, 4] }]);
    const outputs = await run(result, { x: input([3, 8], 1) });
    expect(outputs['y']!.dims).toEqual([3, 4]);
  });

  it('keeps only the rank of value_info shapes it cannot re-derive when a fixed dim changes', () => {
    const base = model({
      nodes: [makeNode('Mystery', ['x'], ['m'], {}, { domain: 'com.example' }), makeNode('Relu', ['m'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [1, 224])],
      outputs: [makeTensorValueInfo('y', F, [1, 224])],
      valueInfo: [makeTensorValueInfo('m', F, [1, 224])],
    });
    const { model: result, report } = setInputShapes(base, { x: [1, 320] });
    expect(report.changedFixedDims).toEqual([{ input: 'x', axis: 1, before: 224, after: 320 }]);
    const m = result.graph!.valueInfo.find((info) => info.name === 'm');
    expect(m?.type?.tensorType?.elemType).toBe(F);
    expect(declaredType(m)?.dims).toEqual([null, null]);
    expect(report.notes.join(' ')).toContain('axis 1: 224 → 320');
  });

  it.each([
    [{ z: [1, 8] }, "--shape 'z': the model has no input 'z'; its inputs are 'x'"],
    [{ w: [8, 4] }, "--shape 'w': 'w' is an initializer (a weight), not an input the caller feeds"],
    [{ x: [1, 2, 8] }, "--shape 'x=1,2,8' has rank 3, but input 'x' has rank 2 ([batch,8])"],
  ])('refuses %j', (shapes, message) => {
    expect(() => setInputShapes(mlp(), shapes)).toThrow(message);
  });

  it('refuses two sizes for one named dim', () => {
    const two = model({
      nodes: [makeNode('Add', ['a', 'b'], ['y'])],
      inputs: [makeTensorValueInfo('a', F, ['n', 2]), makeTensorValueInfo('b', F, ['n', 2])],
      outputs: [makeTensorValueInfo('y', F, ['n', 2])],
    });
    expect(() => setInputShapes(two, { a: [1, 2], b: [2, 2] })).toThrow("--shape sets dim 'n' to 1 for input 'a' and to 2 for input 'b'; a named dim has one size");
  });

  it('does not change the input model', () => {
    const base = mlp();
    const before = JSON.stringify(base, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    setInputShapes(base, { x: [2, 8] });
    expect(JSON.stringify(base, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(before);
  });

  it('makes every value of PP-OCR rec static for x=1,3,48,320, and the model still runs', { timeout: 30_000 }, async () => {
    const { model: rec } = await loadModel(ppOcrRecModel);
    const { model: result, report } = setInputShapes(rec, { x: [1, 3, 48, 320] });
    expect(report.outputs).toEqual([{ name: 'softmax_11.tmp_0', before: ['p2o.DynamicDimension.2', 'p2o.DynamicDimension.3', 6625], after: [1, 40, 6625] }]);
    expect(report.valueInfo.static).toBe(report.valueInfo.entries);
    expect(report.valueInfo.entries).toBeGreaterThan(400);
    const outputs = await run(result, { x: input([1, 3, 48, 320], 3) });
    expect(outputs['softmax_11.tmp_0']!.dims).toEqual([1, 40, 6625]);
  });

  it('keeps a scalar-shaped initializer input untouched', () => {
    const base = model({
      nodes: [makeNode('Add', ['x', 'b'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, ['n'])],
      outputs: [makeTensorValueInfo('y', F, ['n'])],
      initializers: [createTensor('b', F, [], [1])],
    });
    const { model: result } = setInputShapes(base, { x: [5] });
    expect(result.graph!.initializer).toEqual(base.graph!.initializer);
    expect(declaredType(result.graph!.output[0])?.dims).toEqual([5]);
  });
});
