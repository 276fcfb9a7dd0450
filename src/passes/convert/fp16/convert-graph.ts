/**
 * The float16 rewrite of one graph (and, recursively, its subgraphs).
 *
 * Every float32 value gets a *home* type: float16 when a float16 node makes
 * it, float32 when a blocked node makes it; initializers and Constants go
 * float16 unless only float32 consumers read them; graph inputs follow
 * `keepIoTypes`. Each consumer then reads the type it needs: float16 for
 * converted nodes, float32 for blocked ones (and for inputs ONNX fixes at
 * float32, such as Resize's scales), with one shared Cast per value and
 * type where the home type differs. Subgraphs of a converted If/Loop/Scan
 * take and give float16; those of a blocked one stay float32 throughout.
 */
import { makeAttribute, makeNode } from '../../../onnx/builder.js';
import { GraphIndex, nodeSubgraphs, type UniqueNameGenerator } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../../../onnx/types.js';
import { constantNodeTensor, findAttribute, intAttribute } from '../shapes/node-attributes.js';
import type { GraphTypes } from '../shapes/types.js';
import { renameUses } from '../simplify/graph-edit.js';
import { cleanUpCasts } from './cast-cleanup.js';
import { tensorDataBytes, tensorToFloat16 } from './tensor-fp16.js';
import type { BlockReason } from './types.js';

const FLOAT = DataType.FLOAT;
const HALF = DataType.FLOAT16;

/** Inputs that ONNX fixes at float32 even when the operator's data is float16. */
const float32Inputs: Readonly<Record<string, readonly number[]>> = { Resize: [2], Upsample: [1] };

/** Operators with a `dtype` attribute that may name float32 as their output type. */
const dtypeOps = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'EyeLike', 'Bernoulli']);
/** Of those, the ones whose output is float32 when `dtype` is absent. */
const floatByDefault = new Set(['RandomNormal', 'RandomUniform']);

/** State shared by the conversion of all graphs of one model. */
export interface Fp16Shared {
  readonly names: UniqueNameGenerator;
  readonly subgraphTypes: ReadonlyMap<GraphProto, GraphTypes>;
  blockReason(node: NodeProto): BlockReason | undefined;
  /** Casts this pass made or retyped (eligible for pair clean-up). */
  readonly eligibleCasts: Set<NodeProto>;
  readonly tally: {
    tensorsConverted: number;
    bytesBefore: number;
    bytesAfter: number;
    clampedToMax: number;
    clampedToMin: number;
    tensorsKeptFloat32: number;
    castsInserted: number;
    castsRemoved: number;
    unknownTypeValues: number;
    sparseFloatInitializers: number;
    blocked: Map<string, { opType: string; reason: BlockReason; count: number }>;
    blockedNodes: string[];
  };
}

/** How a graph sits in the conversion. */
export interface GraphScope {
  readonly types: GraphTypes;
  /** Home type of a float value defined in an enclosing graph; undefined for other values. */
  readonly outerHome: (name: string) => number | undefined;
  /** Home type of the graph's float inputs (runtime inputs, or a body's formal inputs). */
  readonly inputHome: number;
  /** Type the graph's float outputs must have. */
  readonly outputType: number;
  /** Every node stays float32 (the subgraph of a blocked node). */
  readonly allBlocked: boolean;
  readonly isMain: boolean;
  /** Whether initializers listed in `graph.input` are overridable inputs (IR 4 on). */
  readonly overridableInitializers: boolean;
}

function withElemType(info: ValueInfoProto, elemType: number): ValueInfoProto {
  const tensorType = info.type?.tensorType;
  if (tensorType === undefined || tensorType.elemType === elemType) return info;
  return { ...info, type: { ...info.type, tensorType: { ...tensorType, elemType } } };
}

function convertTensor(tensor: TensorProto, shared: Fp16Shared): TensorProto {
  const { tensor: converted, clampedToMax, clampedToMin } = tensorToFloat16(tensor);
  shared.tally.tensorsConverted += 1;
  shared.tally.bytesBefore += tensorDataBytes(tensor);
  shared.tally.bytesAfter += tensorDataBytes(converted);
  shared.tally.clampedToMax += clampedToMax;
  shared.tally.clampedToMin += clampedToMin;
  return converted;
}

function halfZero(): TensorProto {
  return { dims: [1n], dataType: HALF, floatData: [], int32Data: [], stringData: [], int64Data: [], rawData: new Uint8Array(2), externalData: [], doubleData: [], uint64Data: [], metadataProps: [] };
}

/** The float16 form of a converted node's attributes (Constant values, Cast targets, dtypes). */
function convertAttributes(node: NodeProto, outputHome: number | undefined, shared: Fp16Shared): NodeProto {
  const op = node.opType ?? '';
  if (op === 'Constant') {
    if (outputHome !== HALF) return node;
    const tensor = constantNodeTensor(node);
    if (tensor === undefined || tensor.dataType !== FLOAT) return node;
    return { ...node, attribute: [makeAttribute('value', convertTensor({ ...tensor, name: tensor.name ?? '' }, shared))] };
  }
  if (op === 'Cast' && intAttribute(node, 'to') === FLOAT) {
    const retyped = { ...node, attribute: node.attribute.map((a) => (a.name === 'to' ? { ...a, i: BigInt(HALF) } : a)) };
    shared.eligibleCasts.add(retyped);
    return retyped;
  }
  if (op === 'ConstantOfShape' && outputHome === HALF) {
    const value = findAttribute(node, 'value');
    if (value?.t !== undefined && value.t.dataType !== FLOAT) return node;
    const tensor = value?.t === undefined ? halfZero() : convertTensor(value.t, shared);
    return { ...node, attribute: [...node.attribute.filter((a) => a.name !== 'value'), makeAttribute('value', tensor)] };
  }
  if (dtypeOps.has(op) && outputHome === HALF) {
    const dtype = intAttribute(node, 'dtype');
    if (dtype === FLOAT) return { ...node, attribute: node.attribute.map((a) => (a.name === 'dtype' ? { ...a, i: BigInt(HALF) } : a)) };
    if (dtype === undefined && floatByDefault.has(op)) return { ...node, attribute: [...node.attribute, makeAttribute('dtype', HALF)] };
  }
  return node;
}

/** Converts `graph` as `scope` says; returns the new graph (nodes in any order: the caller sorts). */
export function convertGraph(graph: GraphProto, scope: GraphScope, shared: Fp16Shared): GraphProto {
  const index = new GraphIndex(graph);
  const blocked = new Set<NodeProto>();
  for (const node of graph.node) {
    if (scope.allBlocked) {
      blocked.add(node);
      continue;
    }
    const reason = shared.blockReason(node);
    if (reason === undefined) continue;
    blocked.add(node);
    const key = `${node.domain ?? ''}|${node.opType ?? ''}|${reason}`;
    const entry = shared.tally.blocked.get(key) ?? { opType: node.opType ?? '?', reason, count: 0 };
    entry.count += 1;
    shared.tally.blocked.set(key, entry);
    shared.tally.blockedNodes.push(node.name ?? `(${node.opType ?? '?'})`);
  }
  const requiredType = (node: NodeProto, inputIndex: number): number =>
    blocked.has(node) || float32Inputs[node.opType ?? '']?.includes(inputIndex) === true ? FLOAT : HALF;
  const isFloat = (name: string): boolean => scope.types.localTypes.get(name)?.elemType === FLOAT;

  const home = new Map<string, number>();
  const constantHome = (name: string): number => {
    if (index.isGraphOutput(name) || index.subgraphUsers(name).length > 0) return HALF;
    const consumers = index.consumers(name);
    return consumers.length > 0 && consumers.every((c) => requiredType(c.node, c.inputIndex) === FLOAT) ? FLOAT : HALF;
  };
  const initializerNames = new Set(graph.initializer.map((t) => t.name ?? ''));
  const inputNames = new Set(graph.input.map((info) => info.name ?? ''));
  const actsAsInput = (name: string): boolean => inputNames.has(name) && (!initializerNames.has(name) || scope.overridableInitializers);
  for (const info of graph.input) {
    const name = info.name ?? '';
    if (name !== '' && actsAsInput(name) && isFloat(name)) home.set(name, scope.inputHome);
  }
  for (const tensor of graph.initializer) {
    const name = tensor.name ?? '';
    if (name === '' || actsAsInput(name) || tensor.dataType !== FLOAT) continue;
    home.set(name, constantHome(name));
  }
  for (const sparse of graph.sparseInitializer) {
    const name = sparse.values?.name ?? '';
    if (sparse.values?.dataType === FLOAT && name !== '') {
      home.set(name, FLOAT);
      shared.tally.sparseFloatInitializers += 1;
    }
  }
  for (const node of graph.node) {
    const isConstant = node.opType === 'Constant' && isDefaultDomain(node.domain);
    for (const name of node.output) {
      if (name === '') continue;
      if (!isFloat(name)) {
        if (scope.types.localTypes.get(name)?.elemType === undefined) shared.tally.unknownTypeValues += 1;
        continue;
      }
      home.set(name, blocked.has(node) ? FLOAT : isConstant ? constantHome(name) : HALF);
    }
  }
  const homeOf = (name: string): number | undefined => home.get(name) ?? (index.isOuterScope(name) ? scope.outerHome(name) : undefined);

  const finalTypes = new Map<string, number>(home);
  const added: NodeProto[] = [];
  const castCache = new Map<string, string>();
  const castTo = (name: string, to: number): string => {
    const key = `${name}\u0000${to}`;
    const cached = castCache.get(key);
    if (cached !== undefined) return cached;
    const output = shared.names.next(`${name}_${to === HALF ? 'fp16' : 'fp32'}`);
    const cast = makeNode('Cast', [name], [output], { to }, { name: shared.names.next(`Cast_${output}`) });
    shared.eligibleCasts.add(cast);
    shared.tally.castsInserted += 1;
    added.push(cast);
    castCache.set(key, output);
    finalTypes.set(output, to);
    return output;
  };

  const nodes: NodeProto[] = graph.node.map((node) => {
    const input = node.input.map((name, i) => {
      if (name === '') return name;
      const valueHome = homeOf(name);
      if (valueHome === undefined) return name;
      const needed = requiredType(node, i);
      return valueHome === needed ? name : castTo(name, needed);
    });
    let next: NodeProto = input.some((name, i) => name !== node.input[i]) ? { ...node, input } : node;
    if (node.opType === 'Constant' && home.get(node.output[0] ?? '') === FLOAT) shared.tally.tensorsKeptFloat32 += 1;
    if (!blocked.has(node) && isDefaultDomain(node.domain)) next = convertAttributes(next, home.get(node.output[0] ?? ''), shared);
    if (nodeSubgraphs(node).length > 0) {
      const nodeBlocked = blocked.has(node);
      const attribute = next.attribute.map((a) => {
        if (a.g === undefined && a.graphs.length === 0) return a;
        const sub = (g: GraphProto): GraphProto => convertGraph(g, {
          types: shared.subgraphTypes.get(g) ?? scope.types,
          outerHome: homeOf,
          inputHome: nodeBlocked ? FLOAT : HALF,
          outputType: nodeBlocked ? FLOAT : HALF,
          allBlocked: scope.allBlocked || nodeBlocked,
          isMain: false,
          overridableInitializers: true,
        }, shared);
        const converted = { ...a, graphs: a.graphs.map(sub) };
        if (a.g !== undefined) converted.g = sub(a.g);
        return converted;
      });
      next = { ...next, attribute };
    }
    return next;
  });

  // Graph outputs must have the scope's output type.
  const renames = new Map<string, string>();
  const tail: NodeProto[] = [];
  const output = graph.output.map((info) => {
    const name = info.name ?? '';
    const valueHome = homeOf(name);
    if (valueHome === undefined) return info;
    const needed = scope.outputType;
    if (valueHome === needed) return withElemType(info, needed);
    if (!scope.isMain || !home.has(name) || actsAsInput(name)) {
      // A subgraph's outputs are bound by position, so a fresh name is fine there.
      return { ...withElemType(info, needed), name: castTo(name, needed) };
    }
    // The main graph's output names are its interface: the value is renamed inside instead.
    const inner = shared.names.next(`${name}_${valueHome === HALF ? 'fp16' : 'fp32'}`);
    renames.set(name, inner);
    finalTypes.set(inner, valueHome);
    finalTypes.set(name, needed);
    const cast = makeNode('Cast', [inner], [name], { to: needed }, { name: shared.names.next(`Cast_${name}`) });
    shared.eligibleCasts.add(cast);
    shared.tally.castsInserted += 1;
    tail.push(cast);
    return withElemType(info, needed);
  });

  let allNodes = [...nodes, ...added];
  if (renames.size > 0) {
    allNodes = renameUses(allNodes, renames).map((node) =>
      node.output.some((name) => renames.has(name)) ? { ...node, output: node.output.map((name) => renames.get(name) ?? name) } : node);
  }
  allNodes.push(...tail);

  const initializer = graph.initializer.map((tensor) => {
    const name = tensor.name ?? '';
    let next = tensor;
    if (tensor.dataType === FLOAT && home.get(name) === HALF) next = convertTensor(tensor, shared);
    else if (tensor.dataType === FLOAT) shared.tally.tensorsKeptFloat32 += 1;
    const renamed = renames.get(name);
    return renamed === undefined ? next : { ...next, name: renamed };
  });
  const input = graph.input.map((info) => {
    const valueHome = home.get(info.name ?? '');
    const renamed = renames.get(info.name ?? '');
    const typed = valueHome === undefined ? info : withElemType(info, valueHome);
    return renamed === undefined ? typed : { ...typed, name: renamed };
  });
  const valueInfo = graph.valueInfo.map((info) => {
    const valueType = finalTypes.get(info.name ?? '');
    return valueType === undefined ? info : withElemType(info, valueType);
  });

  const typeOf = (name: string): number | undefined =>
    finalTypes.get(name) ?? homeOf(name) ?? scope.types.type(name)?.elemType;
  const cleaned = cleanUpCasts(allNodes, new Set(output.map((info) => info.name ?? '')), typeOf, shared.eligibleCasts);
  shared.tally.castsRemoved += cleaned.removed;
  return { ...graph, node: cleaned.nodes, initializer, input, output, valueInfo };
}
