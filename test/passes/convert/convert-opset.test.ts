/**
 * The opset converter's driver: its contract (input untouched, IR version,
 * opset import, report), subgraphs and functions, refusals that list every
 * offending node, and the consistency of the adapter registry.
 */
import { describe, expect, it } from 'vitest';
import { MlctlError } from '../../../src/common/errors.js';
import { attrFloat, attrInts, makeFunction, makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../../src/onnx/builder.js';
import { serializeModel } from '../../../src/onnx/model-io.js';
import { createTensor } from '../../../src/onnx/tensor.js';
import { DataType, type ModelProto } from '../../../src/onnx/types.js';
import { convertOpset, OpsetConversionError } from '../../../src/passes/convert/opset/index.js';
import { changesAt } from '../../../src/passes/convert/opset/op-versions.js';
import { registeredAdapters } from '../../../src/passes/convert/opset/registry.js';
import { f32, floats, modelOf, onlyNode, opTypes } from './helpers/models.js';
import { outputsMismatch, runModel } from './helpers/run-model.js';

const timeout = { timeout: 20_000 };

/** A model whose If branches each hold a Squeeze-11 and whose main graph holds one too. */
function modelWithSubgraphs(): ModelProto {
  const branch = (name: string, axis: number) =>
    makeGraph({
      name,
      nodes: [makeNode('Squeeze', ['x'], [`${name}_out`], { axes: attrInts([axis]) })],
      inputs: [],
      outputs: [f32(`${name}_out`)],
    });
  return makeModel({
    opsets: { '': 11 },
    graph: makeGraph({
      name: 'main',
      nodes: [
        makeNode('Squeeze', ['x'], ['s'], { axes: attrInts([0]) }),
        makeNode('If', ['cond'], ['y'], { then_branch: branch('then', 0), else_branch: branch('else', 2) }),
      ],
      inputs: [f32('x', [1, 3, 1]), makeTensorValueInfo('cond', DataType.BOOL, [])],
      outputs: [f32('s'), f32('y')],
    }),
  });
}

describe('convertOpset', () => {
  it('never changes the input model', () => {
    const model = modelWithSubgraphs();
    const before = serializeModel(model);
    convertOpset(model, 26);
    expect(serializeModel(model)).toEqual(before);
  });

  it('stamps the target opset, raises the IR version it needs, and reports both', () => {
    const model = modelOf(9, [makeNode('Relu', ['x'], ['y'])], [f32('x', [2])], [f32('y')], [], { irVersion: 3 });
    const { model: converted, report } = convertOpset(model, 13);
    expect(converted.opsetImport).toEqual([{ domain: '', version: 13n }]);
    expect(converted.irVersion).toBe(7n);
    expect(report).toMatchObject({ fromOpset: 9, toOpset: 13, irVersionFrom: 3, irVersionTo: 7, nodesBefore: 1, nodesAfter: 1, nodesCarriedOver: 1, adapters: [] });
    expect(report.notes).toEqual(['IR version raised from 3 to 7, the lowest that opset 13 allows']);
  });

  it('keeps a higher IR version, and returns an equal copy when the opset is already the target', () => {
    const model = modelOf(13, [makeNode('Relu', ['x'], ['y'])], [f32('x', [2])], [f32('y')], [], { irVersion: 9 });
    const { model: converted, report } = convertOpset(model, 13);
    expect(converted).not.toBe(model);
    expect(serializeModel(converted)).toEqual(serializeModel(model));
    expect(report.irVersionTo).toBe(9);
  });

  it('converts subgraphs with Constant nodes and the main graph with initializers, with fresh names', timeout, async () => {
    const model = modelWithSubgraphs();
    model.graph?.initializer.push(createTensor('s_axes', DataType.INT64, [1], [7n]));
    const { model: converted, report } = convertOpset(model, 13);
    const main = converted.graph;
    const squeeze = onlyNode(main, 'Squeeze');
    expect(squeeze.input).toEqual(['x', 's_axes_1']);
    expect(main?.initializer.map((t) => t.name)).toEqual(['s_axes', 's_axes_1']);
    const ifNode = onlyNode(main, 'If');
    for (const attribute of ifNode.attribute) {
      expect(opTypes(attribute.g)).toEqual(['Constant', 'Squeeze']);
      expect(attribute.g?.initializer).toEqual([]);
    }
    expect(report.adapters).toEqual([
      { opType: 'Squeeze', fromVersion: 11, toVersion: 13, adapter: 'axes attribute → input', nodesChanged: 3, notes: [] },
    ]);
    const feeds = { x: floats([1, 3, 1]), cond: { dtype: 'bool' as const, dims: [], data: Uint8Array.from([1]) } };
    for (const cond of [0, 1]) {
      feeds.cond.data = Uint8Array.from([cond]);
      expect(outputsMismatch(await runModel(converted, feeds), await runModel(model, feeds))).toBeUndefined();
    }
  });

  it('leaves other domains and model-local functions alone, and says so', () => {
    const fn = makeFunction({
      name: 'MyRelu', domain: 'local', inputs: ['a'], outputs: ['b'], opsets: { '': 11 },
      nodes: [makeNode('Squeeze', ['a'], ['b'], { axes: attrInts([0]) })],
    });
    const model = makeModel({
      opsets: { '': 11, local: 1, 'com.microsoft': 1 },
      functions: [fn],
      graph: makeGraph({
        name: 'main',
        nodes: [makeNode('MyRelu', ['x'], ['y'], {}, { domain: 'local' }), makeNode('Gelu', ['y'], ['z'], {}, { domain: 'com.microsoft' })],
        inputs: [f32('x', [1, 2])],
        outputs: [f32('z')],
      }),
    });
    const { model: converted, report } = convertOpset(model, 13);
    expect(converted.functions[0]).toBe(fn);
    expect(converted.opsetImport.map((entry) => [entry.domain, entry.version])).toEqual([['', 13n], ['local', 1n], ['com.microsoft', 1n]]);
    expect(report.notes).toContain(
      '1 model-local function left as it is (importing default-domain opset 11); function bodies keep their own opset imports and are not converted',
    );
  });

  it('lists every node without an equivalent, in one MLCTL_UNSUPPORTED error (exit 3)', () => {
    const nodes = [
      makeNode('ImageScaler', ['x'], ['a'], { scale: attrFloat(2) }, { name: 'scaler' }),
      makeNode('Clip', ['untyped'], ['b'], { min: attrFloat(0) }),
      makeNode('Add', ['a', 'b'], ['y']),
    ];
    const model = modelOf(9, nodes, [f32('x', [2]), { name: 'untyped', metadataProps: [] }], [f32('y')]);
    let error: unknown;
    try {
      convertOpset(model, 13, { label: 'tiny.onnx' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OpsetConversionError);
    const conversionError = error as OpsetConversionError;
    expect(conversionError.code).toBe('MLCTL_UNSUPPORTED');
    expect(conversionError.exitCode).toBe(3);
    expect(conversionError.failures.map((failure) => [failure.node, failure.step])).toEqual([
      ["node 'scaler' (ImageScaler)", '9 → 10'],
      ['node #1 (Clip)', '10 → 11'],
    ]);
    expect(conversionError.message).toBe(
      "cannot convert 'tiny.onnx' from opset 9 to 13: 2 nodes have no equivalent: " +
        "node 'scaler' (ImageScaler) in graph 'test' at opset 9 → 10: 'ImageScaler' is not an operator of the default ONNX domain; " +
        "node #1 (Clip) in graph 'test' at opset 10 → 11: the element type of input 'untyped' is not known, and the min value must be written as a constant of that type; declare it in value_info or as a graph input",
    );
  });

  it('collects failures from every step and graph before throwing', () => {
    const branch = (name: string) =>
      makeGraph({ name, nodes: [makeNode('Unsqueeze', ['x', 'axes'], [`${name}_out`])], inputs: [], outputs: [f32(`${name}_out`)] });
    const model = makeModel({
      opsets: { '': 17 },
      graph: makeGraph({
        name: 'main',
        nodes: [
          makeNode('LayerNormalization', ['x', 'x'], ['ln']),
          makeNode('If', ['cond'], ['y'], { then_branch: branch('then'), else_branch: branch('else') }),
        ],
        inputs: [f32('x', [3]), makeTensorValueInfo('cond', DataType.BOOL, []), makeTensorValueInfo('axes', DataType.INT64, [1])],
        outputs: [f32('ln'), f32('y')],
      }),
    });
    const failures = (() => {
      try {
        convertOpset(model, 11);
      } catch (error) {
        return (error as OpsetConversionError).failures;
      }
      return [];
    })();
    expect(failures.map((failure) => `${failure.opType} at ${failure.step} in ${failure.graphPath}`)).toEqual([
      "LayerNormalization at 17 → 16 in graph 'main'",
      "Unsqueeze at 13 → 12 in graph 'main' > node #1 (If).then_branch",
      "Unsqueeze at 13 → 12 in graph 'main' > node #1 (If).else_branch",
    ]);
  });

  it('validates the target opset and the model', () => {
    const model = modelOf(13, [], [], []);
    const codeOf = (run: () => unknown): string | undefined => {
      try {
        run();
      } catch (error) {
        return error instanceof MlctlError ? `${error.code}: ${error.message}` : String(error);
      }
      return undefined;
    };
    expect(codeOf(() => convertOpset(model, 0))).toBe("MLCTL_BAD_INPUT: target opset '0' is not valid; expected an integer from 1 to 27");
    expect(codeOf(() => convertOpset(model, 12.5))).toBe("MLCTL_BAD_INPUT: target opset '12.5' is not valid; expected an integer from 1 to 27");
    expect(codeOf(() => convertOpset(model, 28))).toBe('MLCTL_UNSUPPORTED: target opset 28 is newer than any released ONNX opset (the newest is 27)');
    const noDefault = makeModel({ opsets: { 'ai.onnx.ml': 3 }, graph: makeGraph({ name: 'g', nodes: [], inputs: [], outputs: [] }) });
    expect(codeOf(() => convertOpset(noDefault, 13, { label: 'ml.onnx' }))).toBe(
      "MLCTL_BAD_MODEL: 'ml.onnx' imports no default-domain (ai.onnx) opset, so it has no opset to convert",
    );
  });
});

describe('adapter registry', () => {
  it('registers adapters only at versions where the operator really changed', () => {
    const misplaced = registeredAdapters()
      .filter(({ opType, version }) => !changesAt(opType, version))
      .map(({ opType, version, direction }) => `${opType}@${version}:${direction}`);
    expect(misplaced).toEqual([]);
  });

});
