/**
 * Shared helpers for the model-layer tests: a tiny float tensor builder, a
 * check that an object has exactly the shape the codec produces, and a model
 * with nested subgraphs, a training graph and a local function.
 */
import { attrFloat, makeFunction, makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../src/onnx/builder.js';
import { messageDescriptor } from '../../src/onnx/schema.js';
import { DataType, type ModelProto, type TensorProto } from '../../src/onnx/types.js';

/** A FLOAT initializer with little-endian raw data. */
export function floatTensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  const rawData = new Uint8Array(values.length * 4);
  const view = new DataView(rawData.buffer);
  values.forEach((value, index) => view.setFloat32(index * 4, value, true));
  return {
    dims: dims.map((dim) => BigInt(dim)),
    dataType: DataType.FLOAT,
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    name,
    rawData,
    externalData: [],
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
  };
}

/**
 * Problems with `value` as an instance of ONNX message `typeName`: unknown
 * keys, repeated fields that are not arrays, keys present with value
 * undefined; recursing into message fields. Empty when it conforms.
 */
export function shapeProblems(value: object, typeName: string, path = typeName): string[] {
  const descriptor = messageDescriptor(typeName);
  const problems: string[] = [];
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const field = descriptor.fields.find((candidate) => candidate.name === key);
    if (field === undefined) problems.push(`${path}.${key}: not a field of ${typeName}`);
    else if (record[key] === undefined) problems.push(`${path}.${key}: present but undefined`);
  }
  for (const field of descriptor.fields) {
    const fieldValue = record[field.name];
    if (field.repeated && !Array.isArray(fieldValue)) {
      problems.push(`${path}.${field.name}: repeated field is not an array`);
      continue;
    }
    if (field.message === undefined || fieldValue === undefined) continue;
    const items: unknown[] = field.repeated ? (fieldValue as unknown[]) : [fieldValue];
    items.forEach((item, index) => {
      const itemPath = field.repeated ? `${path}.${field.name}[${index}]` : `${path}.${field.name}`;
      problems.push(...shapeProblems(item as object, field.message?.name ?? '', itemPath));
    });
  }
  return problems;
}

const float = DataType.FLOAT;

/**
 * A model exercising every place graphs and nodes hide:
 *
 * - main graph `main` (3 nodes): `mul`, `loop` (Loop), `call` (local.AddOne);
 * - `loop`'s body `loop_body` (2 nodes): `body_cond`, `body_if` (If), whose
 *   branches `then` (reads outer `acc` and `w`) and `else` have 1 node each;
 * - a training algorithm graph `algo` (1 node);
 * - function `local.AddOne` (4 nodes) whose `fn_if` has branches `fn_then`
 *   and `fn_else` (1 node each).
 *
 * 7 graphs and 14 nodes in all.
 */
export function nestedModel(): ModelProto {
  const thenBranch = makeGraph({
    name: 'then',
    nodes: [makeNode('Add', ['acc', 'w'], ['then_out'], {}, { name: 'then_add' })],
    inputs: [],
    outputs: [makeTensorValueInfo('then_out', float)],
  });
  const elseBranch = makeGraph({
    name: 'else',
    nodes: [makeNode('Identity', ['acc'], ['else_out'], {}, { name: 'else_id' })],
    inputs: [],
    outputs: [makeTensorValueInfo('else_out', float)],
  });
  const loopBody = makeGraph({
    name: 'loop_body',
    nodes: [
      makeNode('Identity', ['cond_in'], ['cond_out'], {}, { name: 'body_cond' }),
      makeNode('If', ['cond_in'], ['acc_out'], { then_branch: thenBranch, else_branch: elseBranch }, { name: 'body_if' }),
    ],
    inputs: [
      makeTensorValueInfo('iter', DataType.INT64, []),
      makeTensorValueInfo('cond_in', DataType.BOOL, []),
      makeTensorValueInfo('acc', float, ['N', 4]),
    ],
    outputs: [makeTensorValueInfo('cond_out', DataType.BOOL, []), makeTensorValueInfo('acc_out', float, ['N', 4])],
  });
  const main = makeGraph({
    name: 'main',
    nodes: [
      makeNode('Mul', ['x', 'w'], ['xw'], {}, { name: 'mul' }),
      makeNode('Loop', ['trip', 'cond', 'xw'], ['loop_out'], { body: loopBody }, { name: 'loop' }),
      makeNode('AddOne', ['loop_out'], ['y'], {}, { name: 'call', domain: 'local' }),
    ],
    inputs: [
      makeTensorValueInfo('x', float, ['N', 4]),
      makeTensorValueInfo('trip', DataType.INT64, []),
      makeTensorValueInfo('cond', DataType.BOOL, []),
    ],
    outputs: [makeTensorValueInfo('y', float, ['N', 4])],
    initializers: [floatTensor('w', [4], [1, 2, 3, 4])],
  });
  const fnBranch = (name: string, opType: string): ReturnType<typeof makeGraph> =>
    makeGraph({
      name,
      nodes: [makeNode(opType, ['b0'], [`${name}_out`], {}, { name: `${name}_node` })],
      inputs: [],
      outputs: [makeTensorValueInfo(`${name}_out`, float)],
    });
  const addOne = makeFunction({
    name: 'AddOne',
    domain: 'local',
    inputs: ['a'],
    outputs: ['b'],
    opsets: { '': 17 },
    nodes: [
      makeNode('Constant', [], ['one'], { value_float: attrFloat(1) }, { name: 'fn_one' }),
      makeNode('Constant', [], ['flag'], { value_int: 1 }, { name: 'fn_flag' }),
      makeNode('Add', ['a', 'one'], ['b0'], {}, { name: 'fn_add' }),
      makeNode(
        'If',
        ['flag'],
        ['b'],
        { then_branch: fnBranch('fn_then', 'Identity'), else_branch: fnBranch('fn_else', 'Neg') },
        { name: 'fn_if' },
      ),
    ],
  });
  const model = makeModel({ graph: main, opsets: { '': 17, local: 1 }, functions: [addOne] });
  const algorithm = makeGraph({
    name: 'algo',
    nodes: [makeNode('Identity', ['w'], ['w_next'], {}, { name: 'algo_step' })],
    inputs: [],
    outputs: [makeTensorValueInfo('w_next', float, [4])],
  });
  return { ...model, trainingInfo: [{ algorithm, initializationBinding: [], updateBinding: [] }] };
}
