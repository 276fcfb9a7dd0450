/**
 * The inline-if rewrite of simplify: an If whose condition is constant (or
 * becomes constant once its inputs' shapes are fixed) is replaced by the
 * branch it takes; Ifs it cannot prove or move safely stay, with a note.
 */
import { describe, expect, it } from 'vitest';
import { makeGraph, makeNode, makeTensorValueInfo } from '../../../../src/onnx/builder.js';
import { createTensor } from '../../../../src/onnx/tensor.js';
import { DataType, type GraphProto, type ModelProto } from '../../../../src/onnx/types.js';
import { ortConstantEvaluator } from '../../../../src/convert-runtime/ort-evaluator.js';
import { simplifyModel } from '../../../../src/passes/convert/simplify/index.js';
import { expectClose, input, model, opCounts, run } from './helpers.js';

const F = DataType.FLOAT;
const evaluate = ortConstantEvaluator();

/** then: y = Relu(x) · scale (scale a branch initializer); else: y = Neg(x). */
function branches(prefix = ''): { then: GraphProto; else: GraphProto } {
  return {
    then: makeGraph({
      name: 'then',
      nodes: [makeNode('Relu', ['x'], [`${prefix}r`]), makeNode('Mul', [`${prefix}r`, `${prefix}scale`], [`${prefix}t_out`])],
      inputs: [],
      outputs: [makeTensorValueInfo(`${prefix}t_out`, F, [2, 3])],
      initializers: [createTensor(`${prefix}scale`, F, [], [3])],
    }),
    else: makeGraph({
      name: 'else',
      nodes: [makeNode('Neg', ['x'], [`${prefix}e_out`])],
      inputs: [],
      outputs: [makeTensorValueInfo(`${prefix}e_out`, F, [2, 3])],
    }),
  };
}

function ifModel(condition: boolean | 'input', options: { clash?: boolean; ir?: number } = {}): ModelProto {
  const { then, else: otherwise } = branches();
  const nodes = [
    makeNode('If', ['cond'], ['y'], { then_branch: then, else_branch: otherwise }, { name: 'choose' }),
    makeNode('Add', ['y', 'x'], ['z']),
  ];
  // A value named like one the then-branch defines: moving the branch would clash with it.
  if (options.clash === true) nodes.push(makeNode('Sigmoid', ['x'], ['r']), makeNode('Add', ['z', 'r'], ['w']));
  const m = model({
    nodes,
    inputs: [makeTensorValueInfo('x', F, [2, 3]), ...(condition === 'input' ? [makeTensorValueInfo('cond', DataType.BOOL, [])] : [])],
    outputs: [makeTensorValueInfo(options.clash === true ? 'w' : 'z', F, [2, 3])],
    initializers: condition === 'input' ? [] : [createTensor('cond', DataType.BOOL, [], [condition ? 1 : 0])],
  });
  return options.ir === undefined ? m : { ...m, irVersion: BigInt(options.ir) };
}

describe('simplify: If with a constant condition', () => {
  for (const condition of [true, false]) {
    it(`inlines the ${condition ? 'then' : 'else'} branch, its initializer included; outputs unchanged`, async () => {
      const m = ifModel(condition);
      const { model: simple, report } = await simplifyModel(m, { evaluate });
      expect(report.changes['inline-if']).toBe(1);
      expect(opCounts(simple)).toEqual(condition ? { Relu: 1, Mul: 1, Add: 1 } : { Neg: 1, Add: 1 });
      expect(simple.graph!.initializer.map((t) => t.name)).toEqual(condition ? ['scale'] : []);
      const feeds = { x: input([2, 3], 4) };
      const [expected, actual] = [await run(m, feeds), await run(simple, feeds)];
      expectClose(actual.z!, expected.z!);
    });
  }

  it('puts branch initializers in Constant nodes in an IR 3 model, whose initializers must be inputs', async () => {
    const m = ifModel(true, { ir: 3 });
    const { model: simple, report } = await simplifyModel(m, { evaluate, skip: ['lift-constants'] });
    expect(report.changes['inline-if']).toBe(1);
    expect(simple.graph!.initializer.map((t) => t.name)).not.toContain('scale');
    expect(simple.graph!.node.some((n) => n.opType === 'Constant' && n.output[0] === 'scale')).toBe(true);
  });

  it('inlines an If whose condition is computed from a static shape', async () => {
    const { then, else: otherwise } = branches();
    const m = model({
      nodes: [
        makeNode('Shape', ['x'], ['shape']),
        makeNode('Gather', ['shape', 'zero'], ['batch'], { axis: 0 }),
        makeNode('Equal', ['batch', 'two'], ['cond']),
        makeNode('If', ['cond'], ['y'], { then_branch: then, else_branch: otherwise }),
      ],
      inputs: [makeTensorValueInfo('x', F, [2, 3])],
      outputs: [makeTensorValueInfo('y', F, [2, 3])],
      initializers: [createTensor('zero', DataType.INT64, [], [0n]), createTensor('two', DataType.INT64, [], [2n])],
    });
    const { model: simple, report } = await simplifyModel(m, { evaluate });
    expect(report.changes['inline-if']).toBe(1);
    // The If output was the graph output: the branch's last node now writes it.
    expect(opCounts(simple)).toEqual({ Relu: 1, Mul: 1 });
    expect(simple.graph!.output.map((o) => o.name)).toEqual(['y']);
    const feeds = { x: input([2, 3], 5) };
    expectClose((await run(simple, feeds)).y!, (await run(m, feeds)).y!);
  });

  it('leaves an If whose condition is an input', async () => {
    const { model: simple, report } = await simplifyModel(ifModel('input'), { evaluate });
    expect(report.changes['inline-if']).toBe(0);
    expect(opCounts(simple).If).toBe(1);
  });

  it('leaves an If whose branch defines a name used elsewhere, and says why', async () => {
    const m = ifModel(true, { clash: true });
    const { model: simple, report } = await simplifyModel(m, { evaluate });
    expect(report.changes['inline-if']).toBe(0);
    expect(opCounts(simple).If).toBe(1);
    expect(report.notes).toContain("If 'choose' has a constant condition but was not inlined: its branch defines 'r', a name used elsewhere in the model");
  });

  it('inlines nested Ifs (the inner one first), with a branch that passes an outer value through; outputs unchanged', async () => {
    const inner = branches('in_');
    const outerThen = makeGraph({
      name: 'outer_then',
      nodes: [makeNode('If', ['cond2'], ['o_y'], { then_branch: inner.then, else_branch: inner.else }, { name: 'inner' }), makeNode('Identity', ['x'], ['o_pass'])],
      inputs: [],
      outputs: [makeTensorValueInfo('o_y', F, [2, 3]), makeTensorValueInfo('o_pass', F, [2, 3])],
    });
    const outerElse = makeGraph({
      name: 'outer_else',
      nodes: [makeNode('Neg', ['x'], ['n1']), makeNode('Neg', ['x'], ['n2'])],
      inputs: [],
      outputs: [makeTensorValueInfo('n1', F, [2, 3]), makeTensorValueInfo('n2', F, [2, 3])],
    });
    const m = model({
      nodes: [makeNode('If', ['cond'], ['a', 'b'], { then_branch: outerThen, else_branch: outerElse }, { name: 'outer' }), makeNode('Sub', ['a', 'b'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [2, 3])],
      outputs: [makeTensorValueInfo('y', F, [2, 3])],
      initializers: [createTensor('cond', DataType.BOOL, [], [1]), createTensor('cond2', DataType.BOOL, [], [0])],
    });
    const { model: simple, report } = await simplifyModel(m, { evaluate });
    expect(report.changes['inline-if']).toBe(2);
    // Inner else (Neg), and the pass-through Identity removed: y = Neg(x) − x.
    expect(opCounts(simple)).toEqual({ Neg: 1, Sub: 1 });
    const feeds = { x: input([2, 3], 6) };
    expectClose((await run(simple, feeds)).y!, (await run(m, feeds)).y!);
  });
});
