/**
 * Builders for ONNX messages, for fixture scripts and tests that assemble
 * models by hand. Every object they return has all repeated fields present as
 * arrays and leaves optional fields absent unless the caller gave them, so the
 * results look exactly like what the codec decodes.
 */
import { minIrVersionForDomainOpset } from './opset.js';
import {
  AttributeType,
  type AttributeProto,
  type FunctionProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type OperatorSetIdProto,
  type SparseTensorProto,
  type StringStringEntryProto,
  type TensorProto,
  type TensorShapeDimension,
  type ValueInfoProto,
} from './types.js';

/** An attribute's payload with its ONNX type stated rather than inferred. */
export type TypedAttrFields = Partial<Omit<AttributeProto, 'name' | 'type'>>;

/**
 * An attribute value whose type is given explicitly (see {@link attrFloat},
 * {@link attrInts}, …), for the cases inference gets wrong or cannot decide.
 */
export class TypedAttr {
  /**
   * @param type - an {@link AttributeType} value.
   * @param fields - the payload fields (`f`, `ints`, `refAttrName`, …).
   */
  constructor(
    readonly type: AttributeType,
    readonly fields: TypedAttrFields,
  ) {}
}

/**
 * A value `makeNode` turns into an attribute. Types are inferred: an integral
 * number or a bigint → INT; other numbers → FLOAT; string or Uint8Array →
 * STRING (strings as UTF-8); TensorProto → TENSOR; GraphProto → GRAPH; arrays
 * → INTS (all integral), FLOATS, STRINGS, TENSORS or GRAPHS. Use a
 * {@link TypedAttr} helper for integral floats and empty lists.
 */
export type AttrValue =
  | number
  | bigint
  | string
  | Uint8Array
  | TensorProto
  | GraphProto
  | readonly (number | bigint)[]
  | readonly (string | Uint8Array)[]
  | readonly TensorProto[]
  | readonly GraphProto[]
  | TypedAttr;

const utf8 = new TextEncoder();

function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? utf8.encode(value) : value;
}

function toBigInt(value: number | bigint, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) {
    throw new TypeError(`${what} ${String(value)} is not a safe integer; pass a bigint instead.`);
  }
  return BigInt(value);
}

/** FLOAT attribute, also for integral values such as `attrFloat(1)`. */
export function attrFloat(value: number): TypedAttr {
  return new TypedAttr(AttributeType.FLOAT, { f: value });
}

/** FLOATS attribute, also for integral or empty lists. */
export function attrFloats(values: readonly number[]): TypedAttr {
  return new TypedAttr(AttributeType.FLOATS, { floats: [...values] });
}

/** INT attribute. @throws TypeError for a number that is not a safe integer. */
export function attrInt(value: number | bigint): TypedAttr {
  return new TypedAttr(AttributeType.INT, { i: toBigInt(value, 'INT attribute') });
}

/** INTS attribute, also for empty lists. @throws TypeError for a non-integer. */
export function attrInts(values: readonly (number | bigint)[]): TypedAttr {
  return new TypedAttr(AttributeType.INTS, {
    ints: values.map((value) => toBigInt(value, 'INTS attribute element')),
  });
}

/** STRING attribute (strings are stored as UTF-8). */
export function attrString(value: string | Uint8Array): TypedAttr {
  return new TypedAttr(AttributeType.STRING, { s: toBytes(value) });
}

/** STRINGS attribute, also for empty lists. */
export function attrStrings(values: readonly (string | Uint8Array)[]): TypedAttr {
  return new TypedAttr(AttributeType.STRINGS, { strings: values.map(toBytes) });
}

/** SPARSE_TENSOR attribute. */
export function attrSparseTensor(value: SparseTensorProto): TypedAttr {
  return new TypedAttr(AttributeType.SPARSE_TENSOR, { sparseTensor: value });
}

/**
 * An attribute of a node inside a function body that takes its value from the
 * calling node's attribute `refAttrName`.
 */
export function attrRef(refAttrName: string, type: AttributeType): TypedAttr {
  return new TypedAttr(type, { refAttrName });
}

function isTensorProto(value: object): value is TensorProto {
  return 'dims' in value && Array.isArray(value.dims);
}

function isGraphProto(value: object): value is GraphProto {
  return 'node' in value && Array.isArray(value.node);
}

/** Infers the attribute type and payload of a list value. */
function listAttr(name: string, values: readonly unknown[]): TypedAttr {
  if (values.length === 0) {
    throw new TypeError(
      `Attribute '${name}' is an empty list, whose type cannot be inferred; use attrInts, attrFloats or attrStrings.`,
    );
  }
  if (values.every((v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)))) {
    return attrInts(values as readonly (number | bigint)[]);
  }
  if (values.every((v) => typeof v === 'number')) return attrFloats(values as readonly number[]);
  if (values.every((v) => typeof v === 'string' || v instanceof Uint8Array)) {
    return attrStrings(values as readonly (string | Uint8Array)[]);
  }
  if (values.every((v) => typeof v === 'object' && v !== null && isTensorProto(v))) {
    return new TypedAttr(AttributeType.TENSORS, { tensors: [...(values as readonly TensorProto[])] });
  }
  if (values.every((v) => typeof v === 'object' && v !== null && isGraphProto(v))) {
    return new TypedAttr(AttributeType.GRAPHS, { graphs: [...(values as readonly GraphProto[])] });
  }
  throw new TypeError(`Attribute '${name}' mixes element types; use one of the attr* helpers.`);
}

function inferAttr(name: string, value: AttrValue): TypedAttr {
  if (value instanceof TypedAttr) return value;
  if (typeof value === 'bigint') return attrInt(value);
  if (typeof value === 'number') {
    return Number.isInteger(value) ? attrInt(value) : attrFloat(value);
  }
  if (typeof value === 'string' || value instanceof Uint8Array) return attrString(value);
  if (Array.isArray(value)) return listAttr(name, value as readonly unknown[]);
  if (isTensorProto(value)) return new TypedAttr(AttributeType.TENSOR, { t: value });
  if (isGraphProto(value)) return new TypedAttr(AttributeType.GRAPH, { g: value });
  throw new TypeError(`Attribute '${name}' has a value whose ONNX type cannot be inferred.`);
}

/**
 * Builds one AttributeProto.
 * @throws TypeError when the type cannot be inferred (empty or mixed lists).
 */
export function makeAttribute(name: string, value: AttrValue): AttributeProto {
  const typed = inferAttr(name, value);
  return {
    name,
    type: typed.type,
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
    sparseTensors: [],
    typeProtos: [],
    ...typed.fields,
  };
}

/** Optional NodeProto fields for {@link makeNode}. */
export interface NodeOptions {
  name?: string;
  /** Operator domain; leave out for the default domain. */
  domain?: string;
  overload?: string;
  docString?: string;
}

/**
 * Builds a NodeProto. Attributes keep the key order of `attributes`; use `''`
 * in `inputs` for an omitted optional input.
 */
export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Readonly<Record<string, AttrValue>> = {},
  options: NodeOptions = {},
): NodeProto {
  const node: NodeProto = {
    input: [...inputs],
    output: [...outputs],
    opType,
    attribute: Object.entries(attributes).map(([name, value]) => makeAttribute(name, value)),
    metadataProps: [],
    deviceConfigurations: [],
  };
  if (options.name !== undefined) node.name = options.name;
  if (options.domain !== undefined) node.domain = options.domain;
  if (options.overload !== undefined) node.overload = options.overload;
  if (options.docString !== undefined) node.docString = options.docString;
  return node;
}

/** One dimension for {@link makeTensorValueInfo}: size, symbolic name, or unknown (`null`). */
export type DimSpec = number | bigint | string | null;

/**
 * Builds a ValueInfoProto for a tensor.
 * @param elemType - a {@link DataType} value.
 * @param shape - one entry per axis; leave out for a tensor of unknown rank.
 */
export function makeTensorValueInfo(
  name: string,
  elemType: number,
  shape?: readonly DimSpec[],
): ValueInfoProto {
  const tensorType: { elemType: number; shape?: { dim: TensorShapeDimension[] } } = { elemType };
  if (shape !== undefined) {
    tensorType.shape = {
      dim: shape.map((dim): TensorShapeDimension => {
        if (dim === null) return {};
        if (typeof dim === 'string') return { dimParam: dim };
        return { dimValue: toBigInt(dim, `Dimension of '${name}'`) };
      }),
    };
  }
  return { name, type: { tensorType }, metadataProps: [] };
}

/** Builds an OperatorSetIdProto. */
export function makeOpset(domain: string, version: number | bigint): OperatorSetIdProto {
  return { domain, version: toBigInt(version, 'Opset version') };
}

/** Opset imports as `{ domain: version }`, e.g. `{ '': 13, 'com.microsoft': 1 }`. */
export type OpsetMap = Readonly<Record<string, number | bigint>>;

function makeOpsets(opsets: OpsetMap): OperatorSetIdProto[] {
  return Object.entries(opsets).map(([domain, version]) => makeOpset(domain, version));
}

/** Fields for {@link makeGraph}. */
export interface GraphSpec {
  name: string;
  nodes: readonly NodeProto[];
  inputs: readonly ValueInfoProto[];
  outputs: readonly ValueInfoProto[];
  initializers?: readonly TensorProto[];
  sparseInitializers?: readonly SparseTensorProto[];
  valueInfo?: readonly ValueInfoProto[];
  docString?: string;
}

/** Builds a GraphProto. */
export function makeGraph(spec: GraphSpec): GraphProto {
  const graph: GraphProto = {
    node: [...spec.nodes],
    name: spec.name,
    initializer: [...(spec.initializers ?? [])],
    sparseInitializer: [...(spec.sparseInitializers ?? [])],
    input: [...spec.inputs],
    output: [...spec.outputs],
    valueInfo: [...(spec.valueInfo ?? [])],
    quantizationAnnotation: [],
    metadataProps: [],
  };
  if (spec.docString !== undefined) graph.docString = spec.docString;
  return graph;
}

/** Fields for {@link makeFunction}. */
export interface FunctionSpec {
  name: string;
  domain: string;
  inputs: readonly string[];
  outputs: readonly string[];
  nodes: readonly NodeProto[];
  opsets: OpsetMap;
  /** Names of attributes without defaults. */
  attributes?: readonly string[];
  /** Attributes with default values. */
  attributeDefaults?: Readonly<Record<string, AttrValue>>;
  valueInfo?: readonly ValueInfoProto[];
  overload?: string;
  docString?: string;
}

/** Builds a model-local FunctionProto. */
export function makeFunction(spec: FunctionSpec): FunctionProto {
  const fn: FunctionProto = {
    name: spec.name,
    input: [...spec.inputs],
    output: [...spec.outputs],
    attribute: [...(spec.attributes ?? [])],
    attributeProto: Object.entries(spec.attributeDefaults ?? {}).map(([name, value]) =>
      makeAttribute(name, value),
    ),
    node: [...spec.nodes],
    opsetImport: makeOpsets(spec.opsets),
    domain: spec.domain,
    valueInfo: [...(spec.valueInfo ?? [])],
    metadataProps: [],
  };
  if (spec.overload !== undefined) fn.overload = spec.overload;
  if (spec.docString !== undefined) fn.docString = spec.docString;
  return fn;
}

/** Fields for {@link makeModel}. */
export interface ModelSpec {
  graph: GraphProto;
  /** Opset imports, e.g. `{ '': 13, 'com.microsoft': 1 }`. */
  opsets: OpsetMap;
  /**
   * Defaults to the lowest IR version that the imported ONNX-versioned opsets
   * (`''`/`ai.onnx`, `ai.onnx.ml`, `ai.onnx.training`) need, or 3 when there
   * are none.
   */
  irVersion?: number | bigint;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number | bigint;
  docString?: string;
  functions?: readonly FunctionProto[];
  /** Model metadata as key → value. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * The lowest IR version the given opset imports need; domains ONNX does not
 * version are ignored.
 * @throws MlctlError `MLCTL_UNSUPPORTED` for an opset newer than any ONNX release.
 */
export function minIrVersionForOpsets(opsets: OpsetMap): number {
  let irVersion = 3;
  for (const [domain, version] of Object.entries(opsets)) {
    const needed = minIrVersionForDomainOpset(domain, Number(version));
    if (needed !== undefined && needed > irVersion) irVersion = needed;
  }
  return irVersion;
}

/**
 * Builds a ModelProto.
 * @throws MlctlError `MLCTL_UNSUPPORTED` when `irVersion` is left out and an
 * opset is newer than any ONNX release.
 */
export function makeModel(spec: ModelSpec): ModelProto {
  const metadataProps: StringStringEntryProto[] = Object.entries(spec.metadata ?? {}).map(
    ([key, value]) => ({ key, value }),
  );
  const model: ModelProto = {
    irVersion: toBigInt(spec.irVersion ?? minIrVersionForOpsets(spec.opsets), 'IR version'),
    opsetImport: makeOpsets(spec.opsets),
    graph: spec.graph,
    metadataProps,
    trainingInfo: [],
    functions: [...(spec.functions ?? [])],
    configuration: [],
  };
  if (spec.producerName !== undefined) model.producerName = spec.producerName;
  if (spec.producerVersion !== undefined) model.producerVersion = spec.producerVersion;
  if (spec.domain !== undefined) model.domain = spec.domain;
  if (spec.modelVersion !== undefined) model.modelVersion = toBigInt(spec.modelVersion, 'Model version');
  if (spec.docString !== undefined) model.docString = spec.docString;
  return model;
}
