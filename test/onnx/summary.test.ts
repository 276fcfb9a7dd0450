import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/common/errors.js';
import {
  attrFloats,
  attrInts,
  attrString,
  makeFunction,
  makeGraph,
  makeModel,
  makeNode,
  makeTensorValueInfo,
} from '../../src/onnx/builder.js';
import type { LoadedModel } from '../../src/onnx/model-io.js';
import { summarizeModel } from '../../src/onnx/summary.js';
import { createTensor } from '../../src/onnx/tensor.js';
import { DataLocation, DataType, type ModelProto, type TensorProto, type ValueInfoProto } from '../../src/onnx/types.js';

function loaded(model: ModelProto): LoadedModel {
  return { model, path: undefined, dir: undefined, sizeBytes: 1234, bytes: new Uint8Array(0) };
}

function externalTensor(name: string, dims: number[], entries: Record<string, string>): TensorProto {
  const tensor = createTensor(name, DataType.FLOAT, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)));
  delete tensor.rawData;
  tensor.dataLocation = DataLocation.EXTERNAL;
  tensor.externalData = Object.entries(entries).map(([key, value]) => ({ key, value }));
  return tensor;
}

function sequenceInput(name: string): ValueInfoProto {
  return { name, type: { sequenceType: { elemType: { tensorType: { elemType: DataType.INT64 } } } }, metadataProps: [] };
}

/** A model touching every field of the summary. */
function richModel(): ModelProto {
  const branch = (name: string) =>
    makeGraph({
      name,
      nodes: [makeNode('Add', ['x', 'k'], ['z'])],
      inputs: [],
      outputs: [makeTensorValueInfo('z', DataType.FLOAT)],
      initializers: [createTensor('k', DataType.FLOAT, [2], [1, 2])],
    });
  const graph = makeGraph({
    name: 'main',
    nodes: [
      makeNode('Conv', ['x', 'w'], ['c']),
      makeNode('FusedConv', ['c', 'w'], ['f'], {}, { domain: 'com.microsoft' }),
      makeNode('FusedConv', ['f', 'w'], ['g'], {}, { domain: 'com.microsoft' }),
      makeNode('Relu', ['g'], ['r'], {}, { domain: 'ai.onnx' }),
      makeNode('Constant', [], ['c1'], { value: createTensor('c1', DataType.FLOAT, [2, 3], [1, 2, 3, 4, 5, 6]) }),
      makeNode('Constant', [], ['c2'], { value_floats: attrFloats([1, 2, 3]) }),
      makeNode('Constant', [], ['c3'], { value_ints: attrInts([7]) }),
      makeNode('Constant', [], ['c4'], { value_string: attrString('abc') }),
      makeNode('If', ['cond'], ['y'], { then_branch: branch('then'), else_branch: branch('else') }),
      makeNode('MyFn', ['r'], ['q'], {}, { domain: 'custom' }),
    ],
    inputs: [
      makeTensorValueInfo('x', DataType.FLOAT, ['batch', 3, null]),
      // IR 3 style: an initializer listed as an input is not a runtime input.
      makeTensorValueInfo('w', DataType.FLOAT16, [4]),
      sequenceInput('tokens'),
    ],
    outputs: [makeTensorValueInfo('y', DataType.FLOAT), makeTensorValueInfo('q', DataType.BOOL, [])],
    initializers: [
      createTensor('w', DataType.FLOAT16, [4], new Uint16Array(4)),
      createTensor('packed', DataType.INT4, [3], [1, 2, 3]),
      externalTensor('e1', [10], { location: 'weights.bin', offset: '0', length: '40' }),
      externalTensor('e2', [5], { location: 'weights.bin', offset: '40' }),
      externalTensor('e3', [2], { location: 'more/extra.bin' }),
    ],
    sparseInitializers: [
      {
        values: createTensor('s', DataType.FLOAT, [2], [1, 2]),
        indices: createTensor('s_indices', DataType.INT64, [2], [0n, 5n]),
        dims: [10n],
      },
    ],
  });
  const fn = makeFunction({
    name: 'MyFn',
    domain: 'custom',
    inputs: ['a'],
    outputs: ['b'],
    nodes: [
      makeNode('Constant', [], ['one'], { value: createTensor('one', DataType.FLOAT, [], [1]) }),
      makeNode('Mul', ['a', 'one'], ['b']),
    ],
    opsets: { '': 13 },
  });
  return makeModel({
    graph,
    opsets: { '': 13, 'com.microsoft': 1, custom: 1 },
    irVersion: 8,
    producerName: 'unit-test',
    producerVersion: '1.0',
    domain: 'org.example',
    modelVersion: 7,
    functions: [fn],
    metadata: { author: 'me', license: 'MIT' },
  });
}

describe('summarizeModel', () => {
  it('summarizes every field of a rich model', { timeout: 5_000 }, () => {
    const summary = summarizeModel(loaded(richModel()));
    expect(summary).toEqual({
      schemaVersion: 1,
      file: { path: null, sizeBytes: 1234 },
      irVersion: 8,
      producer: { name: 'unit-test', version: '1.0' },
      domain: 'org.example',
      modelVersion: 7,
      graphName: 'main',
      opsetImports: [
        { domain: '', version: 13 },
        { domain: 'com.microsoft', version: 1 },
        { domain: 'custom', version: 1 },
      ],
      inputs: [
        { name: 'x', dtype: 'float32', shape: ['batch', 3, null] },
        { name: 'tokens', dtype: 'sequence<int64>', shape: null },
      ],
      outputs: [
        { name: 'y', dtype: 'float32', shape: null },
        { name: 'q', dtype: 'bool', shape: [] },
      ],
      // 10 main-graph nodes, 1 Add in each If branch, 2 nodes in the function.
      nodeCount: 14,
      mainGraphNodeCount: 10,
      opTypeHistogram: {
        Constant: 5,
        Add: 2,
        'com.microsoft::FusedConv': 2,
        'custom::MyFn': 1,
        Conv: 1,
        If: 1,
        Mul: 1,
        Relu: 1,
      },
      subgraphCount: 2,
      functions: [{ domain: 'custom', name: 'MyFn' }],
      initializerCount: 7,
      sparseInitializerCount: 1,
      // w 4 + packed 3 + e1 10 + e2 5 + e3 2 + two branch k 2 + 2 + sparse values 2.
      initializerParameterCount: 30,
      // c1 6 + c2 3 + c3 1 + c4 1 + function's scalar 1.
      constantParameterCount: 12,
      parameterCount: 42,
      bytesByDtype: {
        // e1..e3 68, k 16, sparse values 8, c1 24, c2 12, scalar 4.
        float32: 132,
        float16: 8,
        int64: 8,
        string: 3,
        int4: 2,
      },
      externalDataFiles: [
        { location: 'more/extra.bin', tensors: 1, bytes: 8 },
        { location: 'weights.bin', tensors: 2, bytes: 60 },
      ],
      metadataProps: { author: 'me', license: 'MIT' },
    });
    // Key order is part of the stable output: by count, then by name in code-unit order.
    expect(Object.keys(summary.opTypeHistogram)).toEqual([
      'Constant',
      'Add',
      'com.microsoft::FusedConv',
      'Conv',
      'If',
      'Mul',
      'Relu',
      'custom::MyFn',
    ]);
  });

  it('survives a JSON round trip unchanged', { timeout: 5_000 }, () => {
    const summary = summarizeModel(loaded(richModel()));
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
  });

  it('reports absent fields as null', { timeout: 5_000 }, () => {
    const model = makeModel({
      graph: makeGraph({ name: '', nodes: [], inputs: [], outputs: [] }),
      opsets: { '': 13 },
    });
    delete model.graph?.name;
    const summary = summarizeModel(loaded(model));
    expect(summary.producer).toEqual({ name: null, version: null });
    expect(summary.domain).toBeNull();
    expect(summary.modelVersion).toBeNull();
    expect(summary.graphName).toBeNull();
    expect(summary.parameterCount).toBe(0);
    expect(summary.bytesByDtype).toEqual({});
  });

  it.each([
    {
      what: 'an ir_version beyond 2^53',
      edit: (model: ModelProto) => (model.irVersion = 2n ** 60n),
      message: 'ir_version is 1152921504606846976, beyond the largest integer mlctl can count exactly (2^53 - 1)',
    },
    {
      what: 'a dimension beyond 2^53',
      edit: (model: ModelProto) => {
        const dim = model.graph?.input[0]?.type?.tensorType?.shape?.dim[1];
        if (dim !== undefined) dim.dimValue = 2n ** 60n;
      },
      message: "dimension 1 of 'x' is 1152921504606846976, beyond the largest integer mlctl can count exactly (2^53 - 1)",
    },
    {
      what: 'an external data length that is not a number',
      edit: (model: ModelProto) => {
        const entry = model.graph?.initializer[2]?.externalData.find((e) => e.key === 'length');
        if (entry !== undefined) entry.value = '-4';
      },
      message: "tensor 'e1' has external data length '-4'; expected a non-negative integer",
    },
  ])('rejects $what with a ModelFormatError', { timeout: 5_000 }, ({ edit, message }) => {
    const model = richModel();
    edit(model);
    expect(() => summarizeModel(loaded(model))).toThrow(ModelFormatError);
    expect(() => summarizeModel(loaded(model))).toThrow(`'input' is not a valid ONNX model: ${message}`);
    expect(() => summarizeModel({ ...loaded(model), path: 'm.onnx' })).toThrow(`'m.onnx' is not a valid ONNX model: ${message}`);
  });
});
