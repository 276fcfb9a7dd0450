/**
 * Each simplify rewrite on a small model built for it, with the rest of the
 * pass running too: what changes, what must not, and that onnxruntime gives
 * the same outputs before and after.
 */
import { describe, expect, it } from 'vitest';
import { attrFloat, makeGraph, makeNode, makeTensorValueInfo } from '../../../../src/onnx/builder.js';
import { createTensor } from '../../../../src/onnx/tensor.js';
import { DataType, type ModelProto } from '../../../../src/onnx/types.js';
import { simplifyModel, type ConstantEvaluator } from '../../../../src/passes/convert/simplify/index.js';
import { ortConstantEvaluator } from '../../../../src/convert-runtime/ort-evaluator.js';
import { expectClose, input, model, opCounts, run, weight } from './helpers.js';

const F = DataType.FLOAT;
const I64 = DataType.INT64;
const evaluate = ortConstantEvaluator();

async function expectSameOutputs(before: ModelProto, after: ModelProto, feeds: Parameters<typeof run>[1], rtol = 1e-5, atol = 1e-5): Promise<void> {
  const [expected, actual] = [await run(before, feeds), await run(after, feeds)];
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const name of Object.keys(expected)) expectClose(actual[name]!, expected[name]!, rtol, atol);
}

describe('simplifyModel rewrites', () => {
  it('removes Identity chains, inference Dropout and dead nodes; keeps the output names', async () => {
    const m = model({
      nodes: [
        makeNode('Identity', ['x'], ['i1']),
        makeNode('Relu', ['i1'], ['r']),
        makeNode('Dropout', ['r'], ['d'], { ratio: attrFloat(0.5) }),
        makeNode('Identity', ['d'], ['i2']),
        makeNode('Identity', ['i2'], ['y']),
        makeNode('Sigmoid', ['x'], ['unused']),
      ],
      inputs: [makeTensorValueInfo('x', F, [2, 3])],
      outputs: [makeTensorValueInfo('y', F, [2, 3])],
    }, 10);
    const { model: simple, report } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual({ Relu: 1 });
    expect(simple.graph!.node[0]!.output).toEqual(['y']);
    expect(report.changes).toMatchObject({ 'remove-identity': 3, 'remove-dropout': 1, 'dead-code': 1 });
    await expectSameOutputs(m, simple, { x: input([2, 3], 1) });
  });

  it('keeps a Dropout whose mask is read, and an Identity that passes a graph input to an output', async () => {
    const m = model({
      nodes: [makeNode('Dropout', ['x'], ['d', 'mask']), makeNode('Identity', ['x'], ['copy'])],
      inputs: [makeTensorValueInfo('x', F, [3])],
      outputs: [makeTensorValueInfo('d', F, [3]), makeTensorValueInfo('mask', DataType.BOOL, [3]), makeTensorValueInfo('copy', F, [3])],
    });
    const { model: simple } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual({ Dropout: 1, Identity: 1 });
  });

  it('lifts Constants, merges duplicate initializers and removes unused ones', async () => {
    const m = model({
      nodes: [
        makeNode('Constant', [], ['c'], { value: createTensor('', F, [3], [1, 2, 3]) }),
        makeNode('Add', ['x', 'a'], ['s']),
        makeNode('Mul', ['s', 'b'], ['t']),
        makeNode('Sub', ['t', 'c'], ['y']),
      ],
      inputs: [makeTensorValueInfo('x', F, [3])],
      outputs: [makeTensorValueInfo('y', F, [3])],
      initializers: [createTensor('a', F, [3], [1, 2, 3]), createTensor('b', F, [3], [1, 2, 3]), createTensor('unused', F, [2], [0, 0])],
    });
    const { model: simple, report } = await simplifyModel(m, { evaluate });
    expect(simple.graph!.initializer.map((t) => t.name)).toEqual(['a']);
    expect(opCounts(simple)).toEqual({ Add: 1, Mul: 1, Sub: 1 });
    expect(report.changes).toMatchObject({ 'lift-constants': 1, 'dedupe-initializers': 2 });
    expect(report.before).toMatchObject({ nodes: 4, initializers: 3 });
    expect(report.after).toMatchObject({ nodes: 3, initializers: 1 });
    await expectSameOutputs(m, simple, { x: input([3], 2) });
  });

  it('folds constant subgraphs with the evaluator, and Shape of a static input without it', async () => {
    const m = model({
      nodes: [
        makeNode('Transpose', ['w'], ['wt'], { perm: [1, 0] }),
        makeNode('Mul', ['wt', 'two'], ['w2']),
        makeNode('MatMul', ['x', 'w2'], ['mm']),
        makeNode('Shape', ['x'], ['shape']),
        makeNode('Reshape', ['mm', 'shape2'], ['y']),
        makeNode('Concat', ['shape', 'one'], ['shape2'], { axis: 0 }),
      ],
      inputs: [makeTensorValueInfo('x', F, [2, 4])],
      outputs: [makeTensorValueInfo('y', F, [2, 4, 1])],
      initializers: [weight('w', [4, 4], 3), createTensor('two', F, [], [2]), createTensor('one', I64, [1], [1])],
    });
    const { model: simple, report } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual({ MatMul: 1, Reshape: 1 });
    expect(report.foldedFromShapes).toBe(1);
    expect(report.foldedByEvaluator).toBe(3);
    await expectSameOutputs(m, simple, { x: input([2, 4], 3) });

    const noEvaluator = await simplifyModel(m);
    expect(noEvaluator.report.foldedFromShapes).toBe(1);
    expect(noEvaluator.report.foldedByEvaluator).toBe(0);
    expect(noEvaluator.report.notes).toContain('no constant evaluator was given: only Shape and Size of static shapes were folded');
  });

  it('never folds a small constant into a large tensor, and reports why', async () => {
    const m = model({
      nodes: [makeNode('ConstantOfShape', ['shape'], ['big'], { value: createTensor('', F, [1], [0.5]) }), makeNode('Add', ['x', 'big'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [512, 512])],
      outputs: [makeTensorValueInfo('y', F, [512, 512])],
      initializers: [createTensor('shape', I64, [2], [512, 512])],
    });
    const { model: simple, report } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual({ ConstantOfShape: 1, Add: 1 });
    expect(report.after.sizeBytes).toBeLessThan(1024);
    expect(report.foldSkipped).toEqual([{
      node: 'ConstantOfShape → big',
      opType: 'ConstantOfShape',
      reason: 'its result (1048576 bytes) would grow the model by 1048560 bytes, more than the 65536 bytes left of the 65536-byte growth limit',
    }]);
    const raised = await simplifyModel(m, { evaluate, foldGrowthLimitBytes: 2 * 1024 * 1024 });
    expect(opCounts(raised.model)).toEqual({ Add: 1 });
  });

  it('does not fold DequantizeLinear (quantized weights stay quantized) or random operators', async () => {
    const m = model({
      nodes: [
        makeNode('DequantizeLinear', ['q', 'scale'], ['w']),
        makeNode('RandomUniform', [], ['noise'], { shape: [4] }),
        makeNode('Add', ['x', 'w'], ['a']),
        makeNode('Add', ['a', 'noise'], ['y']),
      ],
      inputs: [makeTensorValueInfo('x', F, [4])],
      outputs: [makeTensorValueInfo('y', F, [4])],
      initializers: [createTensor('q', DataType.INT8, [4], [1, 2, 3, 4]), createTensor('scale', F, [], [0.5])],
    });
    const { model: simple } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual({ DequantizeLinear: 1, RandomUniform: 1, Add: 2 });
  });

  it('retries node by node when the evaluator fails on a batch, skipping only what fails', async () => {
    const failing: ConstantEvaluator = async (request) => {
      if (request.model.graph!.node.some((n) => n.opType === 'Neg')) throw new Error('Neg is not supported here');
      return evaluate(request);
    };
    const m = model({
      nodes: [makeNode('Neg', ['a'], ['na']), makeNode('Abs', ['b'], ['ab']), makeNode('Add', ['x', 'na'], ['s']), makeNode('Add', ['s', 'ab'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [2])],
      outputs: [makeTensorValueInfo('y', F, [2])],
      initializers: [createTensor('a', F, [2], [1, 2]), createTensor('b', F, [2], [-3, 4])],
    });
    const { model: simple, report } = await simplifyModel(m, { evaluate: failing });
    expect(opCounts(simple)).toEqual({ Neg: 1, Add: 2 });
    expect(report.foldSkipped).toEqual([{ node: 'Neg → na', opType: 'Neg', reason: 'evaluation failed: Neg is not supported here' }]);
  });

  it('folds BatchNormalization into Conv and ConvTranspose (grouped too)', async () => {
    const bn = (x: string, y: string, channels: number, seed: number) => ({
      node: makeNode('BatchNormalization', [x, `s${seed}`, `b${seed}`, `m${seed}`, `v${seed}`], [y], { epsilon: attrFloat(1e-3) }),
      tensors: [weight(`s${seed}`, [channels], seed, 1), weight(`b${seed}`, [channels], seed + 1), weight(`m${seed}`, [channels], seed + 2),
        createTensor(`v${seed}`, F, [channels], Array.from({ length: channels }, (_, i) => 0.5 + i / channels))],
    });
    const bn1 = bn('c', 'n', 6, 10);
    const bn2 = bn('t', 'y', 4, 20);
    const m = model({
      nodes: [
        makeNode('Conv', ['x', 'w', 'cb'], ['c'], { group: 3, pads: [1, 1, 1, 1] }),
        bn1.node,
        makeNode('ConvTranspose', ['n', 'wt'], ['t'], { group: 2, strides: [2, 2] }),
        bn2.node,
      ],
      inputs: [makeTensorValueInfo('x', F, [1, 3, 5, 5])],
      outputs: [makeTensorValueInfo('y', F, [1, 4, 11, 11])],
      initializers: [weight('w', [6, 1, 3, 3], 1), weight('cb', [6], 2), weight('wt', [6, 2, 3, 3], 3), ...bn1.tensors, ...bn2.tensors],
    });
    const { model: simple, report } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual({ Conv: 1, ConvTranspose: 1 });
    expect(report.changes['fuse-conv-bn']).toBe(2);
    await expectSameOutputs(m, simple, { x: input([1, 3, 5, 5], 4) }, 1e-4, 1e-5);
  });

  it('does not fold a training-mode BatchNormalization or one after a Conv read elsewhere', async () => {
    const m = model({
      nodes: [
        makeNode('Conv', ['x', 'w'], ['c']),
        makeNode('BatchNormalization', ['c', 's', 'b', 'm', 'v'], ['n']),
        makeNode('Add', ['n', 'c'], ['y']),
      ],
      inputs: [makeTensorValueInfo('x', F, [1, 2, 4, 4])],
      outputs: [makeTensorValueInfo('y', F, [1, 2, 4, 4])],
      initializers: [weight('w', [2, 2, 1, 1], 1), weight('s', [2], 2), weight('b', [2], 3), weight('m', [2], 4), createTensor('v', F, [2], [1, 2])],
    });
    const { model: simple } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual({ Conv: 1, BatchNormalization: 1, Add: 1 });
  });

  it.each([
    { name: 'a [N] bias', a: [3, 8], bias: [5], fused: true },
    { name: 'a [1, N] bias on either side of the Add', a: ['m', 8], bias: [1, 5], fused: true, swap: true },
    { name: 'a 3-D A (Gemm takes 2-D only)', a: [2, 3, 8], bias: [5], fused: false },
    { name: 'a bias that would grow the result', a: [3, 8], bias: [2, 3, 5], fused: false },
  ])('fuses MatMul + Add into Gemm only where legal: $name', async ({ a, bias, fused, swap }) => {
    const out = [...a.slice(0, -1), 5].map((d) => (typeof d === 'string' ? d : d));
    const outDims = bias.length === 3 ? [2, 3, 5] : out;
    const m = model({
      nodes: [makeNode('MatMul', ['a', 'w'], ['mm']), makeNode('Add', swap === true ? ['c', 'mm'] : ['mm', 'c'], ['y'])],
      inputs: [makeTensorValueInfo('a', F, a)],
      outputs: [makeTensorValueInfo('y', F, outDims)],
      initializers: [weight('w', [8, 5], 1), weight('c', bias, 2)],
    });
    const { model: simple } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual(fused ? { Gemm: 1 } : { MatMul: 1, Add: 1 });
    const dims = a.map((d) => (typeof d === 'string' ? 3 : d));
    await expectSameOutputs(m, simple, { a: input(dims, 5) });
  });

  it('simplifies inside If branches, reading constants of the enclosing graph', async () => {
    const branch = (name: string, op: string) => makeGraph({
      name,
      nodes: [
        makeNode('Identity', ['k'], [`${name}_k`]),
        makeNode('Neg', [`${name}_k`], [`${name}_nk`]),
        makeNode(op, ['x', `${name}_nk`], [`${name}_out`]),
      ],
      inputs: [],
      outputs: [makeTensorValueInfo(`${name}_out`, F, [2])],
    });
    const m = model({
      nodes: [makeNode('If', ['cond'], ['y'], { then_branch: branch('then', 'Add'), else_branch: branch('else', 'Mul') })],
      inputs: [makeTensorValueInfo('cond', DataType.BOOL, []), makeTensorValueInfo('x', F, [2])],
      outputs: [makeTensorValueInfo('y', F, [2])],
      initializers: [createTensor('k', F, [2], [1, -2])],
    });
    const { model: simple } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual({ If: 1, Add: 1, Mul: 1 });
    for (const flag of [0, 1]) {
      await expectSameOutputs(m, simple, { cond: { dtype: 'bool', dims: [], data: Uint8Array.from([flag]) }, x: input([2], 6) });
    }
  });

  it('leaves out the rewrites named in skip', async () => {
    const m = model({
      nodes: [makeNode('Identity', ['x'], ['i']), makeNode('Dropout', ['i'], ['d']), makeNode('Relu', ['d'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [2])],
      outputs: [makeTensorValueInfo('y', F, [2])],
    });
    const identityKept = await simplifyModel(m, { evaluate, skip: ['remove-identity'] });
    expect(opCounts(identityKept.model)).toEqual({ Identity: 1, Relu: 1 });
    const dropoutKept = await simplifyModel(m, { evaluate, skip: ['remove-dropout'] });
    expect(opCounts(dropoutKept.model)).toEqual({ Dropout: 1, Relu: 1 });
  });

  it('does not widen float16 weights into float32 ones by folding their Cast', async () => {
    const m = model({
      nodes: [makeNode('Cast', ['w16'], ['w'], { to: F }), makeNode('MatMul', ['x', 'w'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [1, 256])],
      outputs: [makeTensorValueInfo('y', F, [1, 256])],
      initializers: [createTensor('w16', DataType.FLOAT16, [256, 256], new Uint16Array(256 * 256).fill(0x3c00))],
    });
    const { model: simple, report } = await simplifyModel(m, { evaluate });
    expect(opCounts(simple)).toEqual({ Cast: 1, MatMul: 1 });
    expect(report.foldSkippedByReason).toEqual({ "its result (N bytes) would grow the model by N bytes, more than the N bytes left of the N-byte growth limit": 1 });
  });

  it('keeps IR 3 models valid: new constants become Constant nodes, not initializers without inputs', async () => {
    const m = { ...model({
      nodes: [makeNode('Neg', ['a'], ['na']), makeNode('Add', ['x', 'na'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [2]), makeTensorValueInfo('a', F, [2])],
      outputs: [makeTensorValueInfo('y', F, [2])],
      initializers: [createTensor('a', F, [2], [1, 2])],
    }, 8), irVersion: 3n };
    const { model: simple } = await simplifyModel(m, { evaluate });
    const inputs = new Set(simple.graph!.input.map((info) => info.name));
    expect(simple.graph!.initializer.every((t) => inputs.has(t.name))).toBe(true);
    expect(opCounts(simple)).toEqual({ Constant: 1, Add: 1 });
  });
});
