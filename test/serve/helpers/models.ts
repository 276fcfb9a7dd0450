/**
 * Small models built for the serve tests (into a temporary model
 * repository), so every V2 datatype and layout case has a model to hit.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo, type DimSpec } from '../../../src/onnx/builder.js';
import { saveModel, serializeModel } from '../../../src/onnx/model-io.js';
import { createTensor } from '../../../src/onnx/tensor-create.js';
import { DataType } from '../../../src/onnx/types.js';
import type { ModelProto } from '../../../src/onnx/types.js';

/** V2 datatype → ONNX element type, for the identity models. */
export const identityTypes: Record<string, number> = {
  BOOL: DataType.BOOL,
  UINT8: DataType.UINT8,
  UINT16: DataType.UINT16,
  UINT32: DataType.UINT32,
  UINT64: DataType.UINT64,
  INT8: DataType.INT8,
  INT16: DataType.INT16,
  INT32: DataType.INT32,
  INT64: DataType.INT64,
  FP16: DataType.FLOAT16,
  FP32: DataType.FLOAT,
  FP64: DataType.DOUBLE,
  BYTES: DataType.STRING,
};

/** output = Identity(input), of `elemType` with shape ['n']; the tensors are named x and y unless given. */
export function identityModel(elemType: number, shape: DimSpec[] = ['n'], names: [input: string, output: string] = ['x', 'y']): ModelProto {
  return makeModel({
    graph: makeGraph({
      name: 'identity',
      nodes: [makeNode('Identity', [names[0]], [names[1]])],
      inputs: [makeTensorValueInfo(names[0], elemType, shape)],
      outputs: [makeTensorValueInfo(names[1], elemType, shape)],
    }),
    opsets: { '': 13 },
  });
}

/** sum = a + b and diff = a − b, float32 [2, 3] fixed. */
export function addSubModel(): ModelProto {
  return makeModel({
    graph: makeGraph({
      name: 'add_sub',
      nodes: [makeNode('Add', ['a', 'b'], ['sum']), makeNode('Sub', ['a', 'b'], ['diff'])],
      inputs: [makeTensorValueInfo('a', DataType.FLOAT, [2, 3]), makeTensorValueInfo('b', DataType.FLOAT, [2, 3])],
      outputs: [makeTensorValueInfo('sum', DataType.FLOAT, [2, 3]), makeTensorValueInfo('diff', DataType.FLOAT, [2, 3])],
    }),
    opsets: { '': 13 },
  });
}

/** y = x · factor, float32 ['batch', 4]: versions tell themselves apart by the factor. */
export function scaleModel(factor: number): ModelProto {
  return makeModel({
    graph: makeGraph({
      name: 'scale',
      nodes: [makeNode('Mul', ['x', 'factor'], ['y'])],
      inputs: [makeTensorValueInfo('x', DataType.FLOAT, ['batch', 4])],
      outputs: [makeTensorValueInfo('y', DataType.FLOAT, ['batch', 4])],
      initializers: [createTensor('factor', DataType.FLOAT, [], [factor])],
    }),
    opsets: { '': 13 },
  });
}

/** y = x·x·x for x [n, n] (dynamic): the client picks how long a run takes. */
export function cubeModel(shape: DimSpec[] = ['n', 'n']): ModelProto {
  return makeModel({
    graph: makeGraph({
      name: 'cube',
      nodes: [makeNode('MatMul', ['x', 'x'], ['x2']), makeNode('MatMul', ['x2', 'x'], ['y'])],
      inputs: [makeTensorValueInfo('x', DataType.FLOAT, shape)],
      outputs: [makeTensorValueInfo('y', DataType.FLOAT, shape)],
    }),
    opsets: { '': 13 },
  });
}

/** y = Gather(table[rows, 2], ids): an id outside 0..rows−1 makes the runtime fail on the request's values. */
export function gatherModel(rows = 10): ModelProto {
  return makeModel({
    graph: makeGraph({
      name: 'gather',
      nodes: [makeNode('Gather', ['table', 'ids'], ['y'])],
      inputs: [makeTensorValueInfo('ids', DataType.INT64, ['batch'])],
      outputs: [makeTensorValueInfo('y', DataType.FLOAT, ['batch', 2])],
      initializers: [createTensor('table', DataType.FLOAT, [rows, 2], Array.from({ length: rows * 2 }, (_, i) => i))],
    }),
    opsets: { '': 13 },
  });
}

/** Writes `model` as `<root>/<name>/<version>/model.onnx`. */
export async function addToRepository(root: string, name: string, version: number, model: ModelProto): Promise<string> {
  const folder = path.join(root, name, String(version));
  await mkdir(folder, { recursive: true });
  const file = path.join(folder, 'model.onnx');
  await saveModel(model, file, { force: true });
  return file;
}

/** The model's bytes. */
export function modelBytes(model: ModelProto): Uint8Array {
  return serializeModel(model);
}
