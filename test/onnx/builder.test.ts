import { describe, expect, it } from 'vitest';
import { MlctlError } from '../../src/common/errors.js';
import {
  attrFloat,
  attrFloats,
  attrInt,
  attrInts,
  attrRef,
  attrString,
  attrStrings,
  makeAttribute,
  makeFunction,
  makeGraph,
  makeModel,
  makeNode,
  makeOpset,
  makeTensorValueInfo,
  minIrVersionForOpsets,
  type AttrValue,
  type OpsetMap,
} from '../../src/onnx/builder.js';
import { decodeModel, serializeModel } from '../../src/onnx/model-io.js';
import { AttributeType, DataType, type AttributeProto, type GraphProto } from '../../src/onnx/types.js';
import { floatTensor, nestedModel, shapeProblems } from './model-fixtures.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const weight = floatTensor('w', [2], [1, 2]);
const branch: GraphProto = makeGraph({ name: 'branch', nodes: [], inputs: [], outputs: [] });

describe('makeAttribute type inference', () => {
  const cases: Array<[string, AttrValue, number, Partial<AttributeProto>]> = [
    ['integral number', 3, AttributeType.INT, { i: 3n }],
    ['negative integral number', -1, AttributeType.INT, { i: -1n }],
    ['bigint', 9007199254740993n, AttributeType.INT, { i: 9007199254740993n }],
    ['fractional number', 0.5, AttributeType.FLOAT, { f: 0.5 }],
    ['attrFloat of an integral value', attrFloat(1), AttributeType.FLOAT, { f: 1 }],
    ['attrInt', attrInt(7), AttributeType.INT, { i: 7n }],
    ['string', 'NOTSET', AttributeType.STRING, { s: bytes('NOTSET') }],
    ['non-ASCII string as UTF-8', 'é', AttributeType.STRING, { s: new Uint8Array([0xc3, 0xa9]) }],
    ['Uint8Array', new Uint8Array([0, 255]), AttributeType.STRING, { s: new Uint8Array([0, 255]) }],
    ['attrString', attrString('x'), AttributeType.STRING, { s: bytes('x') }],
    ['integral number list', [1, 2, -3], AttributeType.INTS, { ints: [1n, 2n, -3n] }],
    ['bigint list', [1n, 2n], AttributeType.INTS, { ints: [1n, 2n] }],
    ['mixed number and bigint list', [1, 2n], AttributeType.INTS, { ints: [1n, 2n] }],
    ['list with a fraction', [1, 0.5], AttributeType.FLOATS, { floats: [1, 0.5] }],
    ['attrFloats of integral values', attrFloats([1, 2]), AttributeType.FLOATS, { floats: [1, 2] }],
    ['attrInts of an empty list', attrInts([]), AttributeType.INTS, {}],
    ['attrFloats of an empty list', attrFloats([]), AttributeType.FLOATS, {}],
    ['string list', ['a', 'b'], AttributeType.STRINGS, { strings: [bytes('a'), bytes('b')] }],
    ['attrStrings of an empty list', attrStrings([]), AttributeType.STRINGS, {}],
    ['tensor', weight, AttributeType.TENSOR, { t: weight }],
    ['graph', branch, AttributeType.GRAPH, { g: branch }],
    ['tensor list', [weight, weight], AttributeType.TENSORS, { tensors: [weight, weight] }],
    ['graph list', [branch], AttributeType.GRAPHS, { graphs: [branch] }],
    ['reference to a function attribute', attrRef('alpha', AttributeType.FLOAT), AttributeType.FLOAT, { refAttrName: 'alpha' }],
  ];

  it.each(cases)('%s', (_label, value, type, payload) => {
    const attribute = makeAttribute('a', value);
    expect(attribute).toEqual({
      name: 'a',
      type,
      floats: [],
      ints: [],
      strings: [],
      tensors: [],
      graphs: [],
      sparseTensors: [],
      typeProtos: [],
      ...payload,
    });
    expect(shapeProblems(attribute, 'AttributeProto')).toEqual([]);
  });

  const errors: Array<[string, AttrValue, RegExp]> = [
    ['an empty list', [], /^Attribute 'a' is an empty list, whose type cannot be inferred; use attrInts/],
    // The type already rules this out; the runtime check is for untyped callers.
    ['a list mixing numbers and strings', [1, 'x'] as unknown as AttrValue, /^Attribute 'a' mixes element types/],
    ['an unsafe integer', 2 ** 60, /INT attribute 1152921504606847000 is not a safe integer; pass a bigint instead/],
  ];
  it.each(errors)('rejects %s', (_label, value, message) => {
    expect(() => makeAttribute('a', value)).toThrow(TypeError);
    expect(() => makeAttribute('a', value)).toThrow(message);
  });
});

describe('message builders', () => {
  it('makeNode sets only the given optional fields and keeps attribute order', () => {
    const node = makeNode('Conv', ['x', 'w', ''], ['y'], { strides: [1, 1], group: 1, auto_pad: 'SAME_UPPER' });
    expect(node).toStrictEqual({
      input: ['x', 'w', ''],
      output: ['y'],
      opType: 'Conv',
      attribute: [makeAttribute('strides', [1, 1]), makeAttribute('group', 1), makeAttribute('auto_pad', 'SAME_UPPER')],
      metadataProps: [],
      deviceConfigurations: [],
    });
    const named = makeNode('Gelu', ['x'], ['y'], {}, { name: 'gelu', domain: 'com.microsoft' });
    expect(named.name).toBe('gelu');
    expect(named.domain).toBe('com.microsoft');
    expect('overload' in named).toBe(false);
  });

  it('makeNode copies its input arrays', () => {
    const inputs = ['x'];
    const node = makeNode('Relu', inputs, ['y']);
    inputs.push('z');
    expect(node.input).toEqual(['x']);
  });

  const dims: Array<[string, Parameters<typeof makeTensorValueInfo>[2], unknown]> = [
    ['fixed dims', [2, 3], { dim: [{ dimValue: 2n }, { dimValue: 3n }] }],
    ['symbolic, unknown and bigint dims', ['batch', null, 4n], { dim: [{ dimParam: 'batch' }, {}, { dimValue: 4n }] }],
    ['a scalar', [], { dim: [] }],
    ['unknown rank', undefined, undefined],
  ];
  it.each(dims)('makeTensorValueInfo with %s', (_label, shape, expected) => {
    const info = makeTensorValueInfo('x', DataType.FLOAT16, shape);
    expect(info).toStrictEqual({
      name: 'x',
      type: { tensorType: expected === undefined ? { elemType: DataType.FLOAT16 } : { elemType: DataType.FLOAT16, shape: expected } },
      metadataProps: [],
    });
    expect(shapeProblems(info, 'ValueInfoProto')).toEqual([]);
  });

  it('makeOpset stores the version as a bigint', () => {
    expect(makeOpset('com.microsoft', 1)).toStrictEqual({ domain: 'com.microsoft', version: 1n });
  });

  it('makeGraph fills every repeated field', () => {
    const graph = makeGraph({ name: 'g', nodes: [], inputs: [], outputs: [] });
    expect(graph).toStrictEqual({
      node: [],
      name: 'g',
      initializer: [],
      sparseInitializer: [],
      input: [],
      output: [],
      valueInfo: [],
      quantizationAnnotation: [],
      metadataProps: [],
    });
  });

  it('makeFunction builds a FunctionProto with defaults as attributes', () => {
    const fn = makeFunction({
      name: 'Scale',
      domain: 'local',
      inputs: ['x'],
      outputs: ['y'],
      opsets: { '': 18 },
      attributes: ['axis'],
      attributeDefaults: { alpha: attrFloat(2) },
      nodes: [makeNode('Mul', ['x', 'x'], ['y'])],
    });
    expect(fn.opsetImport).toEqual([{ domain: '', version: 18n }]);
    expect(fn.attribute).toEqual(['axis']);
    expect(fn.attributeProto).toEqual([makeAttribute('alpha', attrFloat(2))]);
    expect(shapeProblems(fn, 'FunctionProto')).toEqual([]);
  });

  it('every object of a model with nested graphs and functions has the codec shape', () => {
    expect(shapeProblems(nestedModel(), 'ModelProto')).toEqual([]);
  });

  it('a built model survives a codec round trip unchanged', () => {
    const model = makeModel({
      graph: nestedModel().graph as GraphProto,
      opsets: { '': 17, local: 1 },
      producerName: 'mlctl-test',
      modelVersion: 2,
      metadata: { author: 'me' },
      functions: nestedModel().functions,
    });
    expect(decodeModel(serializeModel(model))).toEqual(model);
  });
});

describe('makeModel IR version', () => {
  const cases: Array<[OpsetMap, number]> = [
    [{ '': 1 }, 3],
    [{ '': 9 }, 4],
    [{ '': 13 }, 7],
    [{ 'ai.onnx': 17 }, 8],
    [{ '': 21 }, 10],
    [{ '': 25 }, 13],
    [{ '': 13, 'com.microsoft': 1 }, 7],
    [{ '': 13, 'ai.onnx.ml': 5 }, 10],
    [{ 'com.microsoft': 1 }, 3],
  ];
  it.each(cases)('defaults to the IR version %o needs (%i)', (opsets, irVersion) => {
    expect(minIrVersionForOpsets(opsets)).toBe(irVersion);
    expect(makeModel({ graph: branch, opsets }).irVersion).toBe(BigInt(irVersion));
  });

  it('keeps an explicit IR version and leaves unset fields absent', () => {
    const model = makeModel({ graph: branch, opsets: { '': 13 }, irVersion: 9 });
    expect(model).toStrictEqual({
      irVersion: 9n,
      opsetImport: [{ domain: '', version: 13n }],
      graph: branch,
      metadataProps: [],
      trainingInfo: [],
      functions: [],
      configuration: [],
    });
  });

  it('refuses to guess the IR version of an unreleased opset', () => {
    expect(() => makeModel({ graph: branch, opsets: { '': 99 } })).toThrow(MlctlError);
    expect(() => makeModel({ graph: branch, opsets: { '': 99 } })).toThrow(
      "Opset 99 of domain 'ai.onnx' is newer than any released ONNX (the newest is ONNX 1.22.0).",
    );
    expect(makeModel({ graph: branch, opsets: { '': 99 }, irVersion: 13 }).irVersion).toBe(13n);
  });
});
