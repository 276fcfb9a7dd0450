/**
 * A stable, JSON-able summary of a loaded model: what `mlctl inspect` shows.
 * Reads only the decoded model (never external data files).
 */
import { ModelFormatError } from '../common/errors.js';
import { byteSizeOf, dataTypeName, isKnownDataType, dataTypeInfo } from './dtypes.js';
import { forEachGraph, forEachNode, graphRuntimeInputs } from './graph.js';
import type { LoadedModel } from './model-io.js';
import { isDefaultDomain, normalizeDomain } from './opset.js';
import { checkTensorStorage, tensorElementCount } from './tensor.js';
import {
  DataLocation,
  DataType,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type SparseTensorProto,
  type TensorProto,
  type TypeProto,
  type ValueInfoProto,
} from './types.js';

/** One graph input or output. */
export interface ValueSummary {
  name: string;
  /**
   * Element type of a tensor (`float32`, see `dataTypeName`); for other types
   * a description such as `sequence<float32>`, `map<int64,float32>`,
   * `optional<float32>`, `sparse<float32>`; null when the type is missing.
   */
  dtype: string | null;
  /**
   * Dimensions of a tensor: a number for a fixed size, a string for a
   * symbolic one (`batch`), null for an unknown one. null when the rank is
   * unknown or the value is not a (sparse) tensor.
   */
  shape: (number | string | null)[] | null;
}

/** Tensors stored in one external data file. */
export interface ExternalDataFileSummary {
  /** The `location` entry as written in the model, relative to the model's folder. */
  location: string;
  /** How many tensors refer to this file. */
  tensors: number;
  /** Sum of their `length` entries, or of their computed sizes where `length` is absent. */
  bytes: number;
}

/**
 * The `mlctl inspect --json` document, schema version 1. Fields (absent
 * protobuf fields are `null`, never omitted):
 *
 * - `schemaVersion`: always 1; bumped when a field changes meaning or is removed.
 * - `file`: `{ path, sizeBytes }`, `path` as given to `loadModel`, null when loaded from bytes.
 * - `irVersion`, `modelVersion`: numbers or null.
 * - `producer`: `{ name, version }`, strings or null; `domain`: string or null.
 * - `graphName`: name of the main graph, or null.
 * - `opsetImports`: `[{ domain, version }]` in file order; `domain` as written (`''` is the default domain).
 * - `inputs`, `outputs`: {@link ValueSummary}s of the main graph; inputs are the
 *   runtime inputs only (IR < 4 initializer-backed inputs are excluded).
 * - `nodeCount`: all nodes, including those of subgraphs, training graphs and
 *   model-local functions; `mainGraphNodeCount`: nodes directly in the main graph.
 * - `opTypeHistogram`: `{ opType: count }` over all nodes, sorted by count
 *   (descending) then name; ops of non-default domains are keyed `domain::opType`
 *   (e.g. `com.microsoft::FusedConv`).
 * - `subgraphCount`: graphs held by node attributes (If/Loop/Scan bodies), at any depth.
 * - `functions`: `[{ domain, name }]` of model-local functions.
 * - `initializerCount`, `sparseInitializerCount`: over all graphs.
 * - `parameterCount` = `initializerParameterCount` + `constantParameterCount`:
 *   element counts of initializers (sparse ones count their stored values) and of
 *   the values of `Constant` nodes (many exporters keep all weights there).
 * - `bytesByDtype`: `{ dtypeName: bytes }` of those same tensors, by decoded
 *   element size (strings: their UTF-8 bytes), sorted by bytes descending.
 * - `externalDataFiles`: {@link ExternalDataFileSummary}s, sorted by location.
 * - `metadataProps`: `{ key: value }` of the model's metadata_props.
 */
export interface ModelSummary {
  schemaVersion: 1;
  file: { path: string | null; sizeBytes: number };
  irVersion: number | null;
  producer: { name: string | null; version: string | null };
  domain: string | null;
  modelVersion: number | null;
  graphName: string | null;
  opsetImports: { domain: string; version: number | null }[];
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  nodeCount: number;
  mainGraphNodeCount: number;
  opTypeHistogram: Record<string, number>;
  subgraphCount: number;
  functions: { domain: string; name: string }[];
  initializerCount: number;
  sparseInitializerCount: number;
  parameterCount: number;
  initializerParameterCount: number;
  constantParameterCount: number;
  bytesByDtype: Record<string, number>;
  externalDataFiles: ExternalDataFileSummary[];
  metadataProps: Record<string, string>;
}

/**
 * Summarizes a loaded model. Pure: reads the decoded model only.
 *
 * @throws ModelFormatError naming the file when a count or version in the
 *   model does not fit a safe JavaScript integer (2^53 - 1), or a tensor's
 *   dims are invalid.
 */
export function summarizeModel(loaded: LoadedModel): ModelSummary {
  try {
    return summarize(loaded);
  } catch (error) {
    if (!(error instanceof ModelFormatError)) throw error;
    throw new ModelFormatError(`'${loaded.path ?? 'input'}' is not a valid ONNX model: ${error.message}`, {
      cause: error,
      hint: error.hint,
    });
  }
}

function summarize(loaded: LoadedModel): ModelSummary {
  const { model } = loaded;
  const graph = model.graph;
  const tally = tallyParameters(model);

  return {
    schemaVersion: 1,
    file: { path: loaded.path ?? null, sizeBytes: loaded.sizeBytes },
    irVersion: optionalSafeNumber(model.irVersion, 'ir_version'),
    producer: { name: model.producerName ?? null, version: model.producerVersion ?? null },
    domain: model.domain ?? null,
    modelVersion: optionalSafeNumber(model.modelVersion, 'model_version'),
    graphName: graph?.name ?? null,
    opsetImports: model.opsetImport.map((entry) => ({
      domain: entry.domain ?? '',
      version: optionalSafeNumber(entry.version, `opset_import version of domain '${entry.domain ?? ''}'`),
    })),
    inputs: graph === undefined ? [] : graphRuntimeInputs(graph).map(summarizeValue),
    outputs: graph === undefined ? [] : graph.output.map(summarizeValue),
    ...countNodes(model),
    functions: model.functions.map((fn) => ({ domain: fn.domain ?? '', name: fn.name ?? '' })),
    initializerCount: tally.initializerCount,
    sparseInitializerCount: tally.sparseInitializerCount,
    parameterCount: checkedSum(tally.initializerParameters, tally.constantParameters, 'parameter count'),
    initializerParameterCount: tally.initializerParameters,
    constantParameterCount: tally.constantParameters,
    bytesByDtype: sortedRecord(tally.bytesByDtype),
    externalDataFiles: [...tally.externalFiles.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([location, file]) => ({ location, ...file })),
    metadataProps: Object.fromEntries(model.metadataProps.map((entry) => [entry.key ?? '', entry.value ?? ''])),
  };
}

/** Converts an int64 field to a number, refusing values a number cannot hold exactly. */
function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ModelFormatError(`${what} is ${value}, beyond the largest integer mlctl can count exactly (2^53 - 1)`);
  }
  return Number(value);
}

function optionalSafeNumber(value: bigint | undefined, what: string): number | null {
  return value === undefined ? null : safeNumber(value, what);
}

function checkedSum(a: number, b: number, what: string): number {
  const sum = a + b;
  if (!Number.isSafeInteger(sum)) {
    throw new ModelFormatError(`${what} exceeds the largest integer mlctl can count exactly (2^53 - 1)`);
  }
  return sum;
}

function summarizeValue(info: ValueInfoProto): ValueSummary {
  const name = info.name ?? '';
  const type = info.type;
  const tensor = type?.tensorType ?? type?.sparseTensorType;
  if (tensor === undefined) return { name, dtype: type === undefined ? null : describeType(type), shape: null };

  const dtype = type?.sparseTensorType !== undefined ? `sparse<${dataTypeName(tensor.elemType)}>` : dataTypeName(tensor.elemType);
  const shape =
    tensor.shape === undefined
      ? null
      : tensor.shape.dim.map((dim, axis) => {
          if (dim.dimValue !== undefined) return safeNumber(dim.dimValue, `dimension ${axis} of '${name}'`);
          if (dim.dimParam !== undefined && dim.dimParam !== '') return dim.dimParam;
          return null;
        });
  return { name, dtype, shape };
}

/** A compact type description for non-tensor values. */
function describeType(type: TypeProto): string {
  if (type.tensorType !== undefined) return dataTypeName(type.tensorType.elemType);
  if (type.sparseTensorType !== undefined) return `sparse<${dataTypeName(type.sparseTensorType.elemType)}>`;
  if (type.sequenceType !== undefined) return `sequence<${describeInner(type.sequenceType.elemType)}>`;
  if (type.optionalType !== undefined) return `optional<${describeInner(type.optionalType.elemType)}>`;
  if (type.mapType !== undefined) {
    return `map<${dataTypeName(type.mapType.keyType)},${describeInner(type.mapType.valueType)}>`;
  }
  if (type.opaqueType !== undefined) return `opaque<${type.opaqueType.domain ?? ''}::${type.opaqueType.name ?? ''}>`;
  return 'unknown';
}

function describeInner(type: TypeProto | undefined): string {
  return type === undefined ? 'unknown' : describeType(type);
}

function countNodes(model: ModelProto): Pick<
  ModelSummary,
  'nodeCount' | 'mainGraphNodeCount' | 'opTypeHistogram' | 'subgraphCount'
> {
  const histogram = new Map<string, number>();
  let nodeCount = 0;
  forEachNode(model, (node) => {
    nodeCount += 1;
    const key = opKey(node);
    histogram.set(key, (histogram.get(key) ?? 0) + 1);
  });
  let subgraphCount = 0;
  forEachGraph(model, (_graph, location) => {
    if (location.parentNode !== undefined) subgraphCount += 1;
  });
  return {
    nodeCount,
    mainGraphNodeCount: model.graph?.node.length ?? 0,
    opTypeHistogram: sortedRecord(histogram),
    subgraphCount,
  };
}

function opKey(node: NodeProto): string {
  const opType = node.opType ?? '';
  return isDefaultDomain(node.domain) ? opType : `${normalizeDomain(node.domain)}::${opType}`;
}

/** A record whose keys are ordered by value (descending), then by key, so JSON output is stable. */
function sortedRecord(counts: ReadonlyMap<string, number>): Record<string, number> {
  const entries = [...counts.entries()].sort(([keyA, a], [keyB, b]) => b - a || (keyA < keyB ? -1 : keyA > keyB ? 1 : 0));
  return Object.fromEntries(entries);
}

interface ParameterTally {
  initializerCount: number;
  sparseInitializerCount: number;
  initializerParameters: number;
  constantParameters: number;
  bytesByDtype: Map<string, number>;
  externalFiles: Map<string, { tensors: number; bytes: number }>;
}

function tallyParameters(model: ModelProto): ParameterTally {
  const tally: ParameterTally = {
    initializerCount: 0,
    sparseInitializerCount: 0,
    initializerParameters: 0,
    constantParameters: 0,
    bytesByDtype: new Map(),
    externalFiles: new Map(),
  };
  const addBytes = (dtype: string, bytes: number): void => {
    tally.bytesByDtype.set(dtype, checkedSum(tally.bytesByDtype.get(dtype) ?? 0, bytes, `bytes of ${dtype} tensors`));
  };
  /** Accounts one stored tensor; returns its element count. */
  const addTensor = (tensor: TensorProto): number => {
    // Checks the stored data against the dims: a file must not claim more than it holds.
    const elements = checkTensorStorage(tensor);
    const bytes = tensorBytes(tensor, elements);
    addBytes(dataTypeName(tensor.dataType), bytes);
    if (tensor.dataLocation === DataLocation.EXTERNAL) addExternal(tally, tensor, bytes);
    return elements;
  };
  const addSparse = (sparse: SparseTensorProto): number => {
    if (sparse.indices?.dataLocation === DataLocation.EXTERNAL) {
      addExternal(tally, sparse.indices, tensorBytes(sparse.indices, tensorElementCount(sparse.indices)));
    }
    return sparse.values === undefined ? 0 : addTensor(sparse.values);
  };

  forEachGraph(model, (graph) => {
    tally.initializerCount += graph.initializer.length;
    tally.sparseInitializerCount += graph.sparseInitializer.length;
    for (const tensor of graph.initializer) {
      tally.initializerParameters = checkedSum(tally.initializerParameters, addTensor(tensor), 'parameter count');
    }
    for (const sparse of graph.sparseInitializer) {
      tally.initializerParameters = checkedSum(tally.initializerParameters, addSparse(sparse), 'parameter count');
    }
  });

  forEachNode(model, (node) => {
    if (node.opType !== 'Constant' || !isDefaultDomain(node.domain)) return;
    for (const attribute of node.attribute) {
      const elements = constantElements(attribute, addTensor, addSparse, addBytes);
      tally.constantParameters = checkedSum(tally.constantParameters, elements, 'parameter count');
    }
  });
  return tally;
}

/** Element count of one `Constant` attribute (`value`, `sparse_value`, `value_float(s)`, …). */
function constantElements(
  attribute: AttributeProto,
  addTensor: (tensor: TensorProto) => number,
  addSparse: (sparse: SparseTensorProto) => number,
  addBytes: (dtype: string, bytes: number) => void,
): number {
  switch (attribute.name) {
    case 'value':
      return attribute.t === undefined ? 0 : addTensor(attribute.t);
    case 'sparse_value':
      return attribute.sparseTensor === undefined ? 0 : addSparse(attribute.sparseTensor);
    case 'value_float':
    case 'value_floats': {
      const count = attribute.name === 'value_float' ? (attribute.f === undefined ? 0 : 1) : attribute.floats.length;
      addBytes(dataTypeName(DataType.FLOAT), byteSizeOf(DataType.FLOAT, count));
      return count;
    }
    case 'value_int':
    case 'value_ints': {
      const count = attribute.name === 'value_int' ? (attribute.i === undefined ? 0 : 1) : attribute.ints.length;
      addBytes(dataTypeName(DataType.INT64), byteSizeOf(DataType.INT64, count));
      return count;
    }
    case 'value_string':
    case 'value_strings': {
      const strings = attribute.name === 'value_string' ? (attribute.s === undefined ? [] : [attribute.s]) : attribute.strings;
      addBytes(dataTypeName(DataType.STRING), strings.reduce((sum, s) => sum + s.length, 0));
      return strings.length;
    }
    default:
      // A reference attribute (inside a function) has no value of its own.
      return 0;
  }
}

/**
 * Decoded size of a tensor: element size times count for fixed-size types,
 * UTF-8 bytes for strings, and the stored bytes for types mlctl does not know.
 */
function tensorBytes(tensor: TensorProto, elements: number): number {
  const dataType = tensor.dataType ?? DataType.UNDEFINED;
  if (dataType === DataType.STRING) return tensor.stringData.reduce((sum, s) => sum + s.length, 0);
  if (isKnownDataType(dataType) && dataTypeInfo(dataType).bitsPerElement !== undefined) return byteSizeOf(dataType, elements);
  return tensor.rawData?.length ?? 0;
}

function addExternal(tally: ParameterTally, tensor: TensorProto, computedBytes: number): void {
  const entries = new Map(tensor.externalData.map((entry) => [entry.key ?? '', entry.value ?? '']));
  const location = entries.get('location') ?? '';
  const lengthText = entries.get('length');
  let bytes = computedBytes;
  if (lengthText !== undefined && lengthText !== '') {
    if (!/^\d+$/.test(lengthText)) {
      throw new ModelFormatError(
        `tensor '${tensor.name ?? ''}' has external data length '${lengthText}'; expected a non-negative integer`,
      );
    }
    bytes = safeNumber(BigInt(lengthText), `external data length of tensor '${tensor.name ?? ''}'`);
  }
  const file = tally.externalFiles.get(location) ?? { tensors: 0, bytes: 0 };
  file.tensors += 1;
  file.bytes = checkedSum(file.bytes, bytes, `bytes in external data file '${location}'`);
  tally.externalFiles.set(location, file);
}
