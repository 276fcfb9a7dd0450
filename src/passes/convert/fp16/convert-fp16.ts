/**
 * `--fp16`: float32 weights, constants and activations to float16, keeping
 * the operators of a block list in float32 behind Casts.
 */
import { MlctlError } from '../../../common/errors.js';
import { isExternalTensor } from '../../../onnx/external-data.js';
import { forEachGraph, forEachNode, opsetVersion, topologicalSort, UniqueNameGenerator } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import { describeTensor, forEachTensorProto } from '../../../onnx/tensor-walk.js';
import { tensorData } from '../../../onnx/tensor.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../../../onnx/types.js';
import { constantNodeTensor } from '../shapes/node-attributes.js';
import { inferModelTypes, initializersOverridable } from '../shapes/infer-types.js';
import { convertGraph, type Fp16Shared } from './convert-graph.js';
import { FLOAT16_MAX } from './tensor-fp16.js';
import { DEFAULT_FP16_BLOCK_LIST, type BlockReason, type Fp16Options, type Fp16Report } from './types.js';

/** The result of {@link convertToFloat16}. */
export interface Fp16Result {
  model: ModelProto;
  report: Fp16Report;
}

/** Operators whose float inputs ONNX allows only as float32 (at the given opsets). */
function float32Only(node: NodeProto, opset: number): boolean {
  switch (node.opType) {
    case 'QuantizeLinear':
    case 'DequantizeLinear':
      return opset < 19;
    case 'DynamicQuantizeLinear':
      return true;
    default:
      return false;
  }
}

/** Names of float32 initializers and Constant outputs holding finite values beyond ±65504. */
function outOfRangeConstants(model: ModelProto): Set<string> {
  const names = new Set<string>();
  const check = (name: string | undefined, tensor: TensorProto | undefined): void => {
    if (name === undefined || name === '' || tensor?.dataType !== DataType.FLOAT || isExternalTensor(tensor)) return;
    const values = tensorData(tensor) as Float32Array;
    for (let i = 0; i < values.length; i++) {
      const magnitude = Math.abs(values[i]!);
      if (magnitude > FLOAT16_MAX && magnitude !== Infinity) {
        names.add(name);
        return;
      }
    }
  };
  forEachGraph(model, (graph) => {
    for (const tensor of graph.initializer) check(tensor.name, tensor);
    for (const node of graph.node) {
      if (node.opType === 'Constant' && isDefaultDomain(node.domain)) check(node.output[0], constantNodeTensor(node));
    }
  });
  return names;
}

function countCasts(model: ModelProto): number {
  let count = 0;
  forEachNode(model, (node) => {
    if (node.opType === 'Cast' && isDefaultDomain(node.domain)) count += 1;
  });
  return count;
}

/**
 * Converts a model to float16. The input model is not changed.
 *
 * @throws MlctlError MLCTL_UNSUPPORTED when a tensor is stored as external
 *   data (read it in first) or the model has no graph; MLCTL_BAD_INPUT when a
 *   `nodeBlockList` name matches no node.
 */
export function convertToFloat16(model: ModelProto, options: Fp16Options = {}): Fp16Result {
  const graph = model.graph;
  if (graph === undefined) throw new MlctlError('MLCTL_UNSUPPORTED', 'float16 conversion needs a model with a graph; this model has only functions');
  forEachTensorProto(model, (tensor, where) => {
    if (isExternalTensor(tensor)) {
      throw new MlctlError('MLCTL_UNSUPPORTED', `${describeTensor(tensor, where)} keeps its data in an external file; read it in before converting to float16`);
    }
  });
  const opset = opsetVersion(model, '') ?? 1;
  const defaults = options.defaultBlockList === false ? [] : DEFAULT_FP16_BLOCK_LIST;
  const defaultOps = new Set(defaults);
  const extraOps = new Set(options.opBlockList ?? []);
  const blockedNames = new Set(options.nodeBlockList ?? []);
  const seenNames = new Set<string>();
  forEachNode(model, (node) => {
    if (node.name !== undefined && blockedNames.has(node.name)) seenNames.add(node.name);
  });
  const missing = [...blockedNames].filter((name) => !seenNames.has(name));
  if (missing.length > 0) {
    throw new MlctlError('MLCTL_BAD_INPUT', `--node-block-list names ${missing.map((n) => `'${n}'`).join(', ')}, which no node of the model is called`, {
      hint: "see the node names with 'mlctl inspect --json'",
    });
  }

  const outOfRange = options.keepOutOfRangeNodes === false ? new Set<string>() : outOfRangeConstants(model);
  const blockReason = (node: NodeProto): BlockReason | undefined => {
    if (node.name !== undefined && blockedNames.has(node.name)) return 'node block list';
    if (!isDefaultDomain(node.domain)) return 'custom domain';
    const op = node.opType ?? '';
    if (extraOps.has(op)) return 'op block list';
    if (defaultOps.has(op)) return 'default block list';
    if (float32Only(node, opset)) return 'float32-only in ONNX';
    if (op !== 'Constant' && node.input.some((name) => outOfRange.has(name))) return 'constant beyond float16 range';
    return undefined;
  };

  const { main, subgraphs } = inferModelTypes(model);
  const shared: Fp16Shared = {
    names: UniqueNameGenerator.fromModel(model),
    subgraphTypes: subgraphs,
    blockReason,
    eligibleCasts: new Set(),
    tally: {
      tensorsConverted: 0, bytesBefore: 0, bytesAfter: 0, clampedToMax: 0, clampedToMin: 0, tensorsKeptFloat32: 0,
      castsInserted: 0, castsRemoved: 0, unknownTypeValues: 0, sparseFloatInitializers: 0, blocked: new Map(), blockedNodes: [],
    },
  };
  const keepIo = options.keepIoTypes === true;
  const inputHome = keepIo ? DataType.FLOAT : DataType.FLOAT16;
  const converted: GraphProto = convertGraph(graph, {
    types: main,
    outerHome: () => undefined,
    inputHome,
    outputType: inputHome,
    allBlocked: false,
    isMain: true,
    overridableInitializers: initializersOverridable(model),
  }, shared);
  const result: ModelProto = { ...model, graph: topologicalSort(converted) };

  const ioConverted: string[] = [];
  const ioKeptFloat32: string[] = [];
  const floatIo = [...graph.input.filter((info) => !graph.initializer.some((t) => t.name === info.name)), ...graph.output]
    .filter((info) => info.type?.tensorType?.elemType === DataType.FLOAT)
    .map((info) => info.name ?? '');
  for (const name of new Set(floatIo)) (keepIo ? ioKeptFloat32 : ioConverted).push(name);

  const notes: string[] = [];
  if (shared.tally.tensorsConverted === 0 && ioConverted.length === 0 && shared.tally.castsInserted === 0) {
    notes.push('the model has no float32 weights, inputs or outputs to convert');
  }
  if (model.functions.length > 0) notes.push(`${model.functions.length} model-local function(s) left in float32; nodes calling them are kept float32 (custom domain)`);
  if (shared.tally.sparseFloatInitializers > 0) notes.push(`${shared.tally.sparseFloatInitializers} sparse float32 initializer(s) left in float32 behind Casts`);
  if (shared.tally.clampedToMax > 0) notes.push(`${shared.tally.clampedToMax} value(s) beyond ±65504 were clamped to float16's largest finite value`);
  if (outOfRange.size > 0) notes.push(`nodes reading a constant beyond float16's range (${[...outOfRange].slice(0, 5).map((n) => `'${n}'`).join(', ')}${outOfRange.size > 5 ? ', …' : ''}) stay float32`);
  const t = shared.tally;
  return {
    model: result,
    report: {
      tensorsConverted: t.tensorsConverted,
      bytesBefore: t.bytesBefore,
      bytesAfter: t.bytesAfter,
      clampedToMax: t.clampedToMax,
      clampedToMin: t.clampedToMin,
      tensorsKeptFloat32: t.tensorsKeptFloat32,
      blocked: [...t.blocked.values()].sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType)),
      blockedNodes: t.blockedNodes,
      castsInserted: t.castsInserted,
      castsRemoved: t.castsRemoved,
      castsBefore: countCasts(model),
      castsAfter: countCasts(result),
      ioConverted,
      ioKeptFloat32,
      unknownTypeValues: t.unknownTypeValues,
      notes,
    },
  };
}
