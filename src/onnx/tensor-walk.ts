/**
 * Walking every TensorProto of a model: graph initializers, sparse
 * initializers, tensors held in node attributes, recursively through
 * subgraphs, training graphs and model-local functions. Used wherever a rule
 * must hold for every tensor (external data safety) or every tensor may need
 * rewriting (saving with external data).
 */
import { describeNode } from './graph-walk.js';
import type {
  AttributeProto,
  FunctionProto,
  GraphProto,
  ModelProto,
  NodeProto,
  SparseTensorProto,
  TensorProto,
  TrainingInfoProto,
} from './types.js';

/** What holds a tensor. */
export type TensorRole =
  | 'initializer'
  | 'sparse-initializer-values'
  | 'sparse-initializer-indices'
  | 'attribute'
  | 'sparse-attribute-values'
  | 'sparse-attribute-indices';

/** Where a tensor sits in its model. */
export interface TensorLocation {
  /** A readable path, e.g. `graph 'main' > node 'cond' (If).then_branch > node 'c' (Constant).value`. */
  readonly path: string;
  readonly role: TensorRole;
  /** The graph whose initializer or node holds the tensor; undefined inside a function body or default. */
  readonly graph: GraphProto | undefined;
  /** The node whose attribute holds the tensor; undefined for initializers and function attribute defaults. */
  readonly node: NodeProto | undefined;
  /** The attribute holding the tensor, for the attribute roles. */
  readonly attributeName: string | undefined;
  /** The model-local function the tensor belongs to, if any. */
  readonly function: FunctionProto | undefined;
}

/**
 * Called for each tensor; returns a replacement tensor, or undefined to keep
 * it. Visitors that only read return undefined.
 */
export type TensorMapper = (tensor: TensorProto, where: TensorLocation) => TensorProto | undefined;

/** What the walk knows about the graph or function it is in. */
interface Scope {
  readonly path: string;
  readonly graph: GraphProto | undefined;
  readonly function: FunctionProto | undefined;
}

/** Maps a list, returning the same array when no element changed. */
function mapList<T>(list: T[], map: (item: T, index: number) => T): T[] {
  let out: T[] | undefined;
  list.forEach((item, index) => {
    const next = map(item, index);
    if (next !== item) {
      out ??= list.slice();
      out[index] = next;
    }
  });
  return out ?? list;
}

function mapSparse(
  sparse: SparseTensorProto,
  place: Omit<TensorLocation, 'role'>,
  roles: { values: TensorRole; indices: TensorRole },
  mapper: TensorMapper,
): SparseTensorProto {
  const part = (tensor: TensorProto | undefined, key: 'values' | 'indices'): TensorProto | undefined =>
    tensor === undefined ? undefined : (mapper(tensor, { ...place, path: `${place.path}.${key}`, role: roles[key] }) ?? tensor);
  const values = part(sparse.values, 'values');
  const indices = part(sparse.indices, 'indices');
  if (values === sparse.values && indices === sparse.indices) return sparse;
  return { ...sparse, values, indices };
}

const sparseAttributeRoles = { values: 'sparse-attribute-values', indices: 'sparse-attribute-indices' } as const;
const sparseInitializerRoles = { values: 'sparse-initializer-values', indices: 'sparse-initializer-indices' } as const;

/** Maps the tensors of one attribute; `ownerPath` is the path of its node or function. */
function mapAttribute(
  attribute: AttributeProto,
  scope: Scope,
  node: NodeProto | undefined,
  ownerPath: string,
  mapper: TensorMapper,
): AttributeProto {
  const attributeName = attribute.name ?? '';
  const base = `${ownerPath}.${attributeName}`;
  const place = { graph: scope.graph, node, attributeName, function: scope.function };
  const t = attribute.t === undefined ? undefined : (mapper(attribute.t, { ...place, path: base, role: 'attribute' }) ?? attribute.t);
  const tensors = mapList(attribute.tensors, (tensor, index) =>
    mapper(tensor, { ...place, path: `${base}[${index}]`, role: 'attribute' }) ?? tensor);
  const sparseTensor = attribute.sparseTensor === undefined
    ? undefined
    : mapSparse(attribute.sparseTensor, { ...place, path: base }, sparseAttributeRoles, mapper);
  const sparseTensors = mapList(attribute.sparseTensors, (sparse, index) =>
    mapSparse(sparse, { ...place, path: `${base}[${index}]` }, sparseAttributeRoles, mapper));
  const g = attribute.g === undefined ? undefined : mapGraph(attribute.g, base, scope.function, mapper);
  const graphs = mapList(attribute.graphs, (graph, index) => mapGraph(graph, `${base}[${index}]`, scope.function, mapper));

  if (t === attribute.t && tensors === attribute.tensors && sparseTensor === attribute.sparseTensor &&
    sparseTensors === attribute.sparseTensors && g === attribute.g && graphs === attribute.graphs) {
    return attribute;
  }
  return { ...attribute, t, tensors, sparseTensor, sparseTensors, g, graphs };
}

function mapNodes(nodes: NodeProto[], scope: Scope, mapper: TensorMapper): NodeProto[] {
  return mapList(nodes, (node, nodeIndex) => {
    const nodePath = `${scope.path} > ${describeNode(node, nodeIndex)}`;
    const attribute = mapList(node.attribute, (attr) => mapAttribute(attr, scope, node, nodePath, mapper));
    return attribute === node.attribute ? node : { ...node, attribute };
  });
}

function mapGraph(graph: GraphProto, path: string, fn: FunctionProto | undefined, mapper: TensorMapper): GraphProto {
  const place = { graph, node: undefined, attributeName: undefined, function: fn };
  const initializer = mapList(graph.initializer, (tensor, index) => {
    const label = tensor.name !== undefined && tensor.name !== '' ? `'${tensor.name}'` : `#${index}`;
    return mapper(tensor, { ...place, path: `${path} > initializer ${label}`, role: 'initializer' }) ?? tensor;
  });
  const sparseInitializer = mapList(graph.sparseInitializer, (sparse, index) =>
    mapSparse(sparse, { ...place, path: `${path} > sparse_initializer #${index}` }, sparseInitializerRoles, mapper));
  const node = mapNodes(graph.node, { path, graph, function: fn }, mapper);
  if (initializer === graph.initializer && sparseInitializer === graph.sparseInitializer && node === graph.node) return graph;
  return { ...graph, initializer, sparseInitializer, node };
}

function mapFunction(fn: FunctionProto, mapper: TensorMapper): FunctionProto {
  const path = `function '${fn.domain ?? ''}.${fn.name ?? ''}'`;
  const scope: Scope = { path, graph: undefined, function: fn };
  const node = mapNodes(fn.node, scope, mapper);
  const attributeProto = mapList(fn.attributeProto, (attr) => mapAttribute(attr, scope, undefined, path, mapper));
  if (node === fn.node && attributeProto === fn.attributeProto) return fn;
  return { ...fn, node, attributeProto };
}

function mapTrainingInfo(info: TrainingInfoProto, index: number, mapper: TensorMapper): TrainingInfoProto {
  const initialization = info.initialization === undefined
    ? undefined
    : mapGraph(info.initialization, `trainingInfo[${index}].initialization`, undefined, mapper);
  const algorithm = info.algorithm === undefined
    ? undefined
    : mapGraph(info.algorithm, `trainingInfo[${index}].algorithm`, undefined, mapper);
  if (initialization === info.initialization && algorithm === info.algorithm) return info;
  return { ...info, initialization, algorithm };
}

/**
 * Returns `model` with every tensor replaced by what `mapper` returns for it.
 * Messages on the way to a replaced tensor are new objects (spread copies);
 * everything else, and `model` itself when nothing was replaced, is shared
 * with the input, which is never mutated. Order: the main graph, training
 * graphs, then model-local functions (body nodes, then attribute defaults);
 * within a graph, initializers, sparse initializers, then node attributes,
 * each node's subgraphs right after its own tensors.
 */
export function mapTensorProtos(model: ModelProto, mapper: TensorMapper): ModelProto {
  const graph = model.graph === undefined ? undefined : mapGraph(model.graph, `graph '${model.graph.name ?? ''}'`, undefined, mapper);
  const trainingInfo = mapList(model.trainingInfo, (info, index) => mapTrainingInfo(info, index, mapper));
  const functions = mapList(model.functions, (fn) => mapFunction(fn, mapper));
  if (graph === model.graph && trainingInfo === model.trainingInfo && functions === model.functions) return model;
  return { ...model, graph, trainingInfo, functions };
}

/** Called for each tensor of a model by {@link forEachTensorProto}. */
export type TensorVisitor = (tensor: TensorProto, where: TensorLocation) => void;

/**
 * Calls `visit` on every TensorProto of `model`: initializers and sparse
 * initializers (values and indices) of every graph, tensors in node attributes
 * (`t`, `tensors`, `sparse_tensor`, `sparse_tensors`), recursively in
 * subgraphs (`g`, `graphs`), training graphs, and model-local functions
 * (body nodes and attribute defaults). Order as in {@link mapTensorProtos}.
 */
export function forEachTensorProto(model: ModelProto, visit: TensorVisitor): void {
  mapTensorProtos(model, (tensor, where) => {
    visit(tensor, where);
    return undefined;
  });
}

/**
 * How to name a tensor in a message: `tensor 'W'`, or for an unnamed one
 * `the unnamed tensor at <path>`.
 */
export function describeTensor(tensor: TensorProto, where?: TensorLocation): string {
  if (tensor.name !== undefined && tensor.name !== '') return `tensor '${tensor.name}'`;
  return where === undefined ? 'an unnamed tensor' : `the unnamed tensor at ${where.path}`;
}
