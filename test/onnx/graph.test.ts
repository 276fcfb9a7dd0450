import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/common/errors.js';
import { makeFunction, makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../src/onnx/builder.js';
import {
  GraphIndex,
  UniqueNameGenerator,
  forEachGraph,
  forEachGraphIn,
  forEachNode,
  graphRuntimeInputs,
  outerScopeReferences,
  opsetVersion,
  type NodeLocation,
} from '../../src/onnx/graph.js';
import { DataType, type GraphProto } from '../../src/onnx/types.js';
import { floatTensor, nestedModel } from './model-fixtures.js';

const float = DataType.FLOAT;

/** x → Mul(x, x) → sq; Add(sq, b) → y; Constant → c; If(cond) whose branch reads `sq` and outer `outer_v`. */
function indexedGraph(): GraphProto {
  const branch = makeGraph({
    name: 'branch',
    nodes: [makeNode('Add', ['sq', 'outer_v'], ['branch_out'])],
    inputs: [],
    outputs: [makeTensorValueInfo('branch_out', float)],
  });
  return makeGraph({
    name: 'g',
    nodes: [
      makeNode('Mul', ['x', 'x'], ['sq'], {}, { name: 'square' }),
      makeNode('Add', ['sq', 'b'], ['y'], {}, { name: 'bias' }),
      makeNode('Constant', [], ['c'], { value: floatTensor('', [1], [0]) }, { name: 'const' }),
      makeNode('If', ['cond'], ['z'], { then_branch: branch, else_branch: branch }, { name: 'branchy' }),
      makeNode('Clip', ['y', '', 'c'], ['unused'], {}, { name: 'clip' }),
    ],
    inputs: [makeTensorValueInfo('x', float, [2]), makeTensorValueInfo('cond', DataType.BOOL, [])],
    outputs: [makeTensorValueInfo('y', float, [2]), makeTensorValueInfo('z', float, [2])],
    initializers: [floatTensor('b', [2], [1, 1])],
    valueInfo: [makeTensorValueInfo('sq', float, [2])],
  });
}

describe('GraphIndex', () => {
  const graph = indexedGraph();
  const index = new GraphIndex(graph);

  it('finds the producer of each node output', () => {
    expect(index.producer('y')).toMatchObject({ nodeIndex: 1, outputIndex: 0 });
    expect(index.producer('y')?.node).toBe(graph.node[1]);
    expect(index.producer('x')).toBeUndefined();
    expect(index.producer('b')).toBeUndefined();
  });

  it('lists every consuming input, also a value read twice by one node', () => {
    expect(index.consumers('x').map((c) => [c.nodeIndex, c.inputIndex])).toEqual([[0, 0], [0, 1]]);
    expect(index.consumers('sq').map((c) => [c.nodeIndex, c.inputIndex])).toEqual([[1, 0]]);
    expect(index.consumers('c').map((c) => [c.nodeIndex, c.inputIndex])).toEqual([[4, 2]]);
    expect(index.consumers('')).toEqual([]);
    expect(index.consumers('nothing')).toEqual([]);
  });

  it('lists nodes whose subgraphs read a value, once per node', () => {
    expect(index.subgraphUsers('sq').map((u) => u.nodeIndex)).toEqual([3]);
    expect(index.subgraphUsers('outer_v').map((u) => u.node.name)).toEqual(['branchy']);
    expect(index.subgraphUsers('x')).toEqual([]);
  });

  const predicates: Array<[string, { weight: boolean; constant: boolean; runtimeInput: boolean; output: boolean; outer: boolean; used: boolean }]> = [
    ['x', { weight: false, constant: false, runtimeInput: true, output: false, outer: false, used: true }],
    ['b', { weight: true, constant: true, runtimeInput: false, output: false, outer: false, used: true }],
    ['c', { weight: false, constant: true, runtimeInput: false, output: false, outer: false, used: true }],
    ['sq', { weight: false, constant: false, runtimeInput: false, output: false, outer: false, used: true }],
    ['y', { weight: false, constant: false, runtimeInput: false, output: true, outer: false, used: true }],
    ['unused', { weight: false, constant: false, runtimeInput: false, output: false, outer: false, used: false }],
    ['outer_v', { weight: false, constant: false, runtimeInput: false, output: false, outer: true, used: true }],
  ];
  it.each(predicates)('classifies %s', (name, expected) => {
    expect({
      weight: index.isWeight(name),
      constant: index.isConstant(name),
      runtimeInput: index.isRuntimeInput(name),
      output: index.isGraphOutput(name),
      outer: index.isOuterScope(name),
      used: index.isUsed(name),
    }).toEqual(expected);
  });

  it('looks up initializers and declared types', () => {
    expect(index.initializer('b')).toBe(graph.initializer[0]);
    expect(index.initializer('x')).toBeUndefined();
    expect(index.valueInfo('sq')?.type?.tensorType?.elemType).toBe(float);
    expect(index.valueInfo('x')).toBe(graph.input[0]);
  });

  it('rejects a value with two producers, naming both nodes', () => {
    const bad = makeGraph({
      name: 'dup',
      nodes: [makeNode('Relu', ['x'], ['y'], {}, { name: 'first' }), makeNode('Neg', ['x'], ['y'])],
      inputs: [],
      outputs: [],
    });
    expect(() => new GraphIndex(bad)).toThrow(ModelFormatError);
    expect(() => new GraphIndex(bad)).toThrow(
      "Value 'y' in graph 'dup' is produced by both node 'first' (Relu) and node #1 (Neg); each value must have exactly one producer.",
    );
  });

  it('ignores omitted optional outputs when looking for duplicates', () => {
    const graph2 = makeGraph({
      name: 'drop',
      nodes: [makeNode('Dropout', ['x'], ['a', '']), makeNode('Dropout', ['a'], ['b', ''])],
      inputs: [],
      outputs: [],
    });
    expect(new GraphIndex(graph2).producer('b')?.nodeIndex).toBe(1);
  });
});

describe('graph inputs that are also initializers (IR < 4 style)', () => {
  const ir3 = makeGraph({
    name: 'ir3',
    nodes: [makeNode('Gemm', ['x', 'w', 'bias'], ['y'])],
    inputs: [makeTensorValueInfo('x', float, [1, 2]), makeTensorValueInfo('w', float, [2, 2]), makeTensorValueInfo('bias', float, [2])],
    outputs: [makeTensorValueInfo('y', float, [1, 2])],
    initializers: [floatTensor('w', [2, 2], [1, 0, 0, 1]), floatTensor('bias', [2], [0, 0])],
  });

  it('graphRuntimeInputs leaves out initializers', () => {
    expect(graphRuntimeInputs(ir3)).toEqual([ir3.input[0]]);
  });

  it('GraphIndex counts them as weights, not runtime inputs', () => {
    const index = new GraphIndex(ir3);
    expect([...index.inputNames]).toEqual(['x', 'w', 'bias']);
    expect([...index.runtimeInputNames]).toEqual(['x']);
    expect(index.isWeight('w') && !index.isRuntimeInput('w') && !index.isOuterScope('w')).toBe(true);
  });

  it('an IR 4+ graph without duplicated inputs gives the same runtime inputs', () => {
    expect(graphRuntimeInputs({ ...ir3, input: [ir3.input[0]!] })).toEqual([ir3.input[0]]);
  });
});

describe('outerScopeReferences', () => {
  it('collects names nested subgraphs read from outside, minus what the graph defines', () => {
    const body = nestedModel().graph?.node[1]?.attribute[0]?.g as GraphProto;
    // `then` reads `acc` (a body input) and `w` (a main-graph initializer).
    expect([...outerScopeReferences(body)]).toEqual(['w']);
  });

  it('counts a graph output naming an outer value', () => {
    const passThrough = makeGraph({ name: 'p', nodes: [], inputs: [], outputs: [makeTensorValueInfo('outer', float)] });
    expect([...outerScopeReferences(passThrough)]).toEqual(['outer']);
  });
});

describe('traversal', () => {
  it('forEachGraph visits every graph depth first with its path and depth', () => {
    const seen: Array<[string | undefined, number, string | undefined, string | undefined]> = [];
    forEachGraph(nestedModel(), (graph, location) => {
      seen.push([graph.name, location.depth, location.attributeName, location.function?.name]);
    });
    expect(seen).toEqual([
      ['main', 0, undefined, undefined],
      ['loop_body', 1, 'body', undefined],
      ['then', 2, 'then_branch', undefined],
      ['else', 2, 'else_branch', undefined],
      ['algo', 0, undefined, undefined],
      ['fn_then', 1, 'then_branch', 'AddOne'],
      ['fn_else', 1, 'else_branch', 'AddOne'],
    ]);
  });

  it('forEachGraph paths name the nodes and attributes on the way', () => {
    const paths: string[] = [];
    forEachGraph(nestedModel(), (_graph, location) => paths.push(location.path));
    expect(paths[2]).toBe("graph 'main' > node 'loop' (Loop).body > node 'body_if' (If).then_branch");
    expect(paths[4]).toBe('trainingInfo[0].algorithm');
    expect(paths[5]).toBe("function 'local.AddOne' > node 'fn_if' (If).then_branch");
  });

  it('forEachGraph follows GRAPHS attributes with their index', () => {
    const inner = makeGraph({ name: 'inner', nodes: [], inputs: [], outputs: [] });
    const holder = makeGraph({
      name: 'holder',
      nodes: [makeNode('Custom', [], ['o'], { branches: [inner, inner] }, { domain: 'x' })],
      inputs: [],
      outputs: [],
    });
    const paths: string[] = [];
    forEachGraphIn(holder, (_graph, location) => paths.push(location.path));
    expect(paths).toEqual([
      "graph 'holder'",
      "graph 'holder' > node #0 (Custom).branches[0]",
      "graph 'holder' > node #0 (Custom).branches[1]",
    ]);
  });

  it('forEachNode visits all 14 nodes, function bodies included, with depth and owner', () => {
    const seen: Array<[string | undefined, number, string | undefined, string | undefined]> = [];
    forEachNode(nestedModel(), (node, location: NodeLocation) => {
      seen.push([node.name, location.depth, location.graph?.name, location.function?.name]);
    });
    expect(seen).toEqual([
      ['mul', 0, 'main', undefined],
      ['loop', 0, 'main', undefined],
      ['body_cond', 1, 'loop_body', undefined],
      ['body_if', 1, 'loop_body', undefined],
      ['then_add', 2, 'then', undefined],
      ['else_id', 2, 'else', undefined],
      ['call', 0, 'main', undefined],
      ['algo_step', 0, 'algo', undefined],
      ['fn_one', 0, undefined, 'AddOne'],
      ['fn_flag', 0, undefined, 'AddOne'],
      ['fn_add', 0, undefined, 'AddOne'],
      ['fn_if', 0, undefined, 'AddOne'],
      ['fn_then_node', 1, 'fn_then', 'AddOne'],
      ['fn_else_node', 1, 'fn_else', 'AddOne'],
    ]);
  });

  it('forEachNode reports each node’s index in its own list', () => {
    const indices: number[] = [];
    forEachNode(nestedModel(), (_node, location) => indices.push(location.nodeIndex));
    expect(indices).toEqual([0, 1, 0, 1, 0, 0, 2, 0, 0, 1, 2, 3, 0, 0]);
  });
});

describe('UniqueNameGenerator', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['a free name is returned as is', ['fresh'], ['fresh']],
    ['repeated requests count up', ['fresh', 'fresh', 'fresh'], ['fresh', 'fresh_1', 'fresh_2']],
    ['a main-graph value', ['xw'], ['xw_1']],
    ['an initializer', ['w'], ['w_1']],
    ['a graph input', ['trip'], ['trip_1']],
    ['a node name', ['loop'], ['loop_1']],
    ['a value inside a nested If branch', ['then_out'], ['then_out_1']],
    ['a subgraph input', ['acc'], ['acc_1']],
    ['a training-graph value', ['w_next'], ['w_next_1']],
    ['a function input', ['a'], ['a_1']],
    ['a function node name', ['fn_add'], ['fn_add_1']],
    ['a value in a function subgraph', ['fn_else_out'], ['fn_else_out_1']],
  ];
  it.each(cases)('%s', (_label, requests, expected) => {
    const names = UniqueNameGenerator.fromModel(nestedModel());
    expect(requests.map((base) => names.next(base))).toEqual(expected);
  });

  it('skips suffixed names already taken and reserves what it returns', () => {
    const names = new UniqueNameGenerator(['x', 'x_1', 'x_3']);
    expect([names.next('x'), names.next('x'), names.next('x')]).toEqual(['x_2', 'x_4', 'x_5']);
    expect(names.has('x_4')).toBe(true);
    names.reserve('y');
    expect(names.next('y')).toBe('y_1');
  });
});

describe('opsetVersion', () => {
  const model = makeModel({
    graph: makeGraph({ name: 'g', nodes: [], inputs: [], outputs: [] }),
    opsets: { '': 13, 'com.microsoft': 1 },
  });
  const aliased = makeModel({ graph: model.graph as GraphProto, opsets: { 'ai.onnx': 17 } });
  const fn = makeFunction({ name: 'f', domain: 'local', inputs: [], outputs: [], nodes: [], opsets: { 'ai.onnx.ml': 3 } });
  const cases: Array<[string, Parameters<typeof opsetVersion>[0], string, number | undefined]> = [
    ["'' in a model importing ''", model, '', 13],
    ["'ai.onnx' in a model importing ''", model, 'ai.onnx', 13],
    ["'' in a model importing 'ai.onnx'", aliased, '', 17],
    ['a vendor domain', model, 'com.microsoft', 1],
    ['a domain not imported', model, 'ai.onnx.ml', undefined],
    ['a function import', fn, 'ai.onnx.ml', 3],
    ['the default domain in a function without it', fn, '', undefined],
  ];
  it.each(cases)('%s', (_label, owner, domain, expected) => {
    expect(opsetVersion(owner, domain)).toBe(expected);
  });
});
