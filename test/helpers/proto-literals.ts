/**
 * Plain ONNX message literals for tests that build models by hand, with every
 * repeated field present as the codec decodes them.
 */
import {
  AttributeType,
  DataLocation,
  DataType,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type SparseTensorProto,
  type TensorProto,
  type ValueInfoProto,
} from '../../src/onnx/types.js';

/** A TensorProto with the given fields and empty repeated fields otherwise. */
export function tensorLiteral(fields: Partial<TensorProto>): TensorProto {
  return {
    dims: [],
    floatData: [],
    int32Data: [],
    stringData: [],
    int64Data: [],
    externalData: [],
    doubleData: [],
    uint64Data: [],
    metadataProps: [],
    ...fields,
  };
}

/** The little-endian bytes of float32 values. */
export function float32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** A float32 tensor holding `values` in raw_data. */
export function floatTensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  return tensorLiteral({ name, dims: dims.map(BigInt), dataType: DataType.FLOAT, rawData: float32Bytes(values) });
}

/** A float32 tensor whose data is external, with the given entries in order. */
export function externalFloatTensor(name: string, dims: readonly number[], entries: Record<string, string>): TensorProto {
  return tensorLiteral({
    name,
    dims: dims.map(BigInt),
    dataType: DataType.FLOAT,
    externalData: Object.entries(entries).map(([key, value]) => ({ key, value })),
    dataLocation: DataLocation.EXTERNAL,
  });
}

/** `count` float32 values 0.5, 1, 1.5, … scaled by `scale`. */
export function ramp(count: number, scale = 1): number[] {
  return Array.from({ length: count }, (_, i) => ((i % 97) + 1) * 0.5 * scale);
}

/** An AttributeProto with the given fields. */
export function attributeLiteral(name: string, type: number, fields: Partial<AttributeProto>): AttributeProto {
  return { name, type, floats: [], ints: [], strings: [], tensors: [], graphs: [], sparseTensors: [], typeProtos: [], ...fields };
}

/** A NodeProto. */
export function nodeLiteral(opType: string, input: string[], output: string[], attribute: AttributeProto[] = [], name?: string): NodeProto {
  return { input, output, opType, attribute, metadataProps: [], deviceConfigurations: [], ...(name === undefined ? {} : { name }) };
}

/** A Constant node whose `value` is `tensor`. */
export function constantNode(output: string, tensor: TensorProto, name?: string): NodeProto {
  return nodeLiteral('Constant', [], [output], [attributeLiteral('value', AttributeType.TENSOR, { t: tensor })], name);
}

/** A float32 tensor value info of a fixed shape. */
export function floatValueInfo(name: string, dims: readonly number[]): ValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: BigInt(d) })) } } },
    metadataProps: [],
  };
}

/** A GraphProto. */
export function graphLiteral(fields: Partial<GraphProto> & { name: string }): GraphProto {
  return {
    node: [],
    initializer: [],
    sparseInitializer: [],
    input: [],
    output: [],
    valueInfo: [],
    quantizationAnnotation: [],
    metadataProps: [],
    ...fields,
  };
}

/** A SparseTensorProto. */
export function sparseLiteral(values: TensorProto, indices: TensorProto, dims: readonly number[]): SparseTensorProto {
  return { values, indices, dims: dims.map(BigInt) };
}

/** A ModelProto at IR version 8 importing opset 13 of the default domain. */
export function modelLiteral(graph: GraphProto, fields: Partial<ModelProto> = {}): ModelProto {
  return {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 13n }],
    graph,
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
    ...fields,
  };
}
