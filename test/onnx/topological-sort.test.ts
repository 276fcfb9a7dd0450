import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/common/errors.js';
import { makeGraph, makeNode, makeTensorValueInfo } from '../../src/onnx/builder.js';
import {
  graphRuntimeInputs,
  isTopologicallySorted,
  topologicalSort,
  topologicalSortNodes,
} from '../../src/onnx/graph.js';
import { decodeModel } from '../../src/onnx/model-io.js';
import { DataType, type GraphProto, type NodeProto } from '../../src/onnx/types.js';
import { nestedModel } from './model-fixtures.js';

const float = DataType.FLOAT;

/** A node named after its output: `n('c', 'a', 'b')` reads a and b, writes c. */
function n(output: string, ...inputs: string[]): NodeProto {
  return makeNode('Op', inputs, [output], {}, { name: output, domain: 'test' });
}

function graphOf(nodes: NodeProto[], name = 'g'): GraphProto {
  return makeGraph({ name, nodes, inputs: [makeTensorValueInfo('x', float)], outputs: [] });
}

const names = (nodes: readonly NodeProto[]): Array<string | undefined> => nodes.map((node) => node.name);

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('topologicalSortNodes', () => {
  const cases: Array<[string, NodeProto[], string[]]> = [
    ['an already sorted chain', [n('a', 'x'), n('b', 'a'), n('c', 'b')], ['a', 'b', 'c']],
    ['a reversed chain', [n('c', 'b'), n('b', 'a'), n('a', 'x')], ['a', 'b', 'c']],
    ['a diamond', [n('d', 'b', 'c'), n('c', 'a'), n('b', 'a'), n('a', 'x')], ['a', 'c', 'b', 'd']],
    ['independent nodes keep their order', [n('q', 'x'), n('p', 'x'), n('r', 'x')], ['q', 'p', 'r']],
    ['a node moves only as far as it must', [n('c', 'a'), n('a', 'x'), n('b', 'x')], ['a', 'c', 'b']],
    ['outer-scope and initializer names are not dependencies', [n('b', 'a', 'w', 'outer'), n('a', 'x')], ['a', 'b']],
    ['empty optional inputs are skipped', [n('b', 'a', ''), n('a', '', 'x')], ['a', 'b']],
    ['a value read twice is one dependency', [n('b', 'a', 'a'), n('a', 'x')], ['a', 'b']],
  ];
  it.each(cases)('%s', (_label, nodes, expected) => {
    const sorted = topologicalSortNodes(nodes);
    expect(names(sorted)).toEqual(expected);
    expect(isTopologicallySorted(graphOf(sorted))).toBe(true);
  });

  it('returns the same node objects', () => {
    const nodes = [n('b', 'a'), n('a', 'x')];
    const sorted = topologicalSortNodes(nodes);
    expect(sorted[0]).toBe(nodes[1]);
    expect(sorted[1]).toBe(nodes[0]);
  });

  it.each([1, 2, 3, 4, 5])('sorts a shuffled 200-node DAG (seed %i)', (seed) => {
    const random = lcg(seed);
    const dag: NodeProto[] = [];
    for (let i = 0; i < 200; i += 1) {
      const inputs = ['x'];
      for (let k = 0; k < 3 && i > 0; k += 1) inputs.push(`v${Math.floor(random() * i)}`);
      dag.push(n(`v${i}`, ...inputs));
    }
    const mixed = shuffled(dag, random);
    expect(isTopologicallySorted(graphOf(mixed))).toBe(false);
    const sorted = topologicalSortNodes(mixed);
    expect(isTopologicallySorted(graphOf(sorted))).toBe(true);
    expect(new Set(sorted)).toEqual(new Set(dag));
    // Sorting a sorted list changes nothing.
    expect(topologicalSortNodes(sorted)).toEqual(sorted);
  });
});

describe('cycles', () => {
  const cases: Array<[string, NodeProto[], string]> = [
    ['a two-node cycle', [n('a', 'b'), n('b', 'a')], "node 'a' (Op) -> node 'b' (Op) -> node 'a' (Op)"],
    ['a self-loop', [n('a', 'x'), n('s', 's')], "node 's' (Op) -> node 's' (Op)"],
    [
      'a cycle behind a valid prefix',
      [n('a', 'x'), n('b', 'a', 'd'), n('c', 'b'), n('d', 'c')],
      "node 'b' (Op) -> node 'c' (Op) -> node 'd' (Op) -> node 'b' (Op)",
    ],
    [
      'unnamed nodes by index',
      [makeNode('Relu', ['q'], ['p']), makeNode('Neg', ['p'], ['q'])],
      'node #0 (Relu) -> node #1 (Neg) -> node #0 (Relu)',
    ],
  ];
  it.each(cases)('%s is reported with the nodes in it', (_label, nodes, cycle) => {
    const graph = graphOf(nodes, 'cyclic');
    expect(() => topologicalSort(graph)).toThrow(ModelFormatError);
    expect(() => topologicalSort(graph)).toThrow(
      `Graph 'cyclic' has a cycle: ${cycle}; a graph's nodes must not depend on their own outputs.`,
    );
    expect(isTopologicallySorted(graph)).toBe(false);
  });

  it('a cycle through a subgraph’s outer-scope read is found', () => {
    const branch = graphOf([n('inner', 'late')], 'branch');
    const graph = graphOf([makeNode('If', ['x'], ['early'], { then_branch: branch, else_branch: branch }, { name: 'if' }), n('late', 'early')]);
    expect(() => topologicalSort(graph)).toThrow("node 'if' (If) -> node 'late' (Op) -> node 'if' (If)");
  });

  it('two producers of one value are an error, not a cycle', () => {
    expect(() => topologicalSortNodes([n('a', 'x'), n('a', 'x')], "graph 'dup'")).toThrow(
      "Value 'a' in graph 'dup' is produced by both node 'a' (Op) and node 'a' (Op); each value must have exactly one producer.",
    );
  });
});

describe('subgraphs', () => {
  /** If (index 0) whose branch reads `h`, produced by node index 1 of the outer graph. */
  function outerRefGraph(): GraphProto {
    const branch = makeGraph({
      name: 'branch',
      nodes: [n('second', 'first'), n('first', 'h', 'x')],
      inputs: [],
      outputs: [makeTensorValueInfo('second', float)],
    });
    return graphOf([makeNode('If', ['cond'], ['out'], { then_branch: branch, else_branch: branch }, { name: 'if' }), n('h', 'x')]);
  }

  it('a node waits for values its subgraphs read from the outer scope', () => {
    const graph = outerRefGraph();
    expect(isTopologicallySorted(graph)).toBe(false);
    const sorted = topologicalSort(graph);
    expect(names(sorted.node)).toEqual(['h', 'if']);
    expect(isTopologicallySorted(sorted)).toBe(true);
  });

  it('subgraph nodes are sorted too, without touching the input', () => {
    const graph = outerRefGraph();
    const before = structuredClone(graph);
    const sorted = topologicalSort(graph);
    const branch = sorted.node[1]?.attribute[0]?.g as GraphProto;
    expect(names(branch.node)).toEqual(['first', 'second']);
    expect(graph).toEqual(before);
  });

  it('an unsorted subgraph makes the whole graph unsorted', () => {
    const branch = graphOf([n('b', 'a'), n('a', 'x')], 'branch');
    const graph = graphOf([makeNode('If', ['x'], ['o'], { then_branch: branch, else_branch: branch })]);
    expect(isTopologicallySorted(graph)).toBe(false);
    expect(isTopologicallySorted(topologicalSort(graph))).toBe(true);
  });

  it('a subgraph reading only enclosing inputs needs no reordering', () => {
    const graph = nestedModel().graph as GraphProto;
    expect(isTopologicallySorted(graph)).toBe(true);
    expect(topologicalSort(graph)).toEqual(graph);
  });
});

describe('real models (onnx-light corpus, IR 3)', () => {
  const dir = new URL('../../../shared/corpus/onnx-light/', import.meta.url);
  const files = readdirSync(dir).filter((file) => file.endsWith('.onnx')).sort();

  it('has the 9 models', () => {
    expect(files).toHaveLength(9);
  });

  it.each(files)('%s is sorted, has one runtime input, and survives a reverse-and-sort', (file) => {
    const model = decodeModel(readFileSync(new URL(file, dir)), file);
    const graph = model.graph as GraphProto;
    expect(isTopologicallySorted(graph)).toBe(true);
    expect(graphRuntimeInputs(graph)).toHaveLength(1);
    // IR 3 lists every initializer as an input too.
    expect(graph.input.length).toBe(graph.initializer.length + 1);
    const reversed = { ...graph, node: [...graph.node].reverse() };
    const sorted = topologicalSort(reversed);
    expect(isTopologicallySorted(sorted)).toBe(true);
    expect(sorted.node).toHaveLength(graph.node.length);
  });
});
