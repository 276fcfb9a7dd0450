/**
 * `pruneModel`: magnitude or structured channel pruning of an ONNX model, as
 * a pure function from model to model plus a report. See types.ts for the
 * options.
 */
import { MlctlError } from '../../common/errors.js';
import { forEachNode } from '../../onnx/graph.js';
import { tensorData, tensorElementCount } from '../../onnx/tensor.js';
import { DataType, type GraphProto, type ModelProto, type TensorProto } from '../../onnx/types.js';
import { maskPrunedChannels as maskChannelsOf, pruneChannels, type ChannelOptions } from './channels/prune-channels.js';
import { pruneMagnitude } from './magnitude.js';
import {
  DEFAULT_MIN_ELEMENTS,
  DEFAULT_PRUNE_OP_TYPES,
  prunableOpTypes,
  type PruneOptions,
  type PruneReport,
  type PruneResult,
} from './types.js';
import { constantNodeValue, isExternal, sparseConstantValue } from './weights.js';

/** Float element counts of a graph's weights. */
export interface ParameterStats {
  parameters: number;
  nonzero: number;
}

const floatTypes = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

function nonzeroCount(tensor: TensorProto, elements: number): number {
  if (isExternal(tensor)) return elements;
  const values = tensorData(tensor);
  let count = 0;
  if (values instanceof Uint16Array) {
    // float16 and bfloat16 bit patterns: zero when all but the sign bit are clear.
    for (let i = 0; i < values.length; i++) if ((values[i]! & 0x7fff) !== 0) count += 1;
  } else {
    const numbers = values as Float32Array | Float64Array;
    for (let i = 0; i < numbers.length; i++) if (numbers[i] !== 0) count += 1;
  }
  return count;
}

/**
 * Counts the float elements of a main graph's initializers, sparse
 * initializers and sparse Constant values (at their dense size) and Constant
 * values, and how many are not zero.
 */
export function parameterStats(graph: GraphProto | undefined): ParameterStats {
  const stats: ParameterStats = { parameters: 0, nonzero: 0 };
  if (graph === undefined) return stats;
  const add = (tensor: TensorProto): void => {
    if (!floatTypes.has(tensor.dataType ?? 0)) return;
    const elements = tensorElementCount(tensor);
    stats.parameters += elements;
    stats.nonzero += nonzeroCount(tensor, elements);
  };
  for (const tensor of graph.initializer) add(tensor);
  const sparseTensors = [...graph.sparseInitializer];
  for (const node of graph.node) {
    const value = constantNodeValue(node);
    if (value !== undefined) add(value);
    const sparse = sparseConstantValue(node);
    if (sparse !== undefined) sparseTensors.push(sparse);
  }
  for (const sparse of sparseTensors) {
    const values = sparse.values;
    if (values === undefined || !floatTypes.has(values.dataType ?? 0)) continue;
    stats.parameters += sparse.dims.reduce((product, dim) => product * Number(dim), 1);
    stats.nonzero += nonzeroCount(values, tensorElementCount(values));
  }
  return stats;
}

function badOption(message: string): MlctlError {
  return new MlctlError('MLCTL_USAGE', message);
}

function checkOptions(options: PruneOptions): void {
  const { sparsity } = options;
  if (typeof sparsity !== 'number' || !Number.isFinite(sparsity) || sparsity < 0 || sparsity >= 1) {
    throw badOption(`sparsity '${String(sparsity)}' is not a number in [0, 1); e.g. 0.5 removes half`);
  }
  for (const opType of options.opTypes ?? []) {
    if (!prunableOpTypes.includes(opType)) {
      throw badOption(`operator type '${opType}' cannot be pruned; expected some of ${prunableOpTypes.join(', ')}`);
    }
  }
  const roundTo = options.roundTo ?? 1;
  if (!Number.isSafeInteger(roundTo) || roundTo < 1) throw badOption(`channel multiple '${roundTo}' is not a positive integer`);
  const minElements = options.minElements ?? 0;
  if (!Number.isSafeInteger(minElements) || minElements < 0) {
    throw badOption(`minimum element count '${minElements}' is not a non-negative integer`);
  }
}

function channelOptions(options: PruneOptions): ChannelOptions {
  return {
    sparsity: options.sparsity,
    norm: options.norm ?? 'l1',
    roundTo: options.roundTo ?? 1,
    producerOpTypes: new Set<string>(options.opTypes ?? DEFAULT_PRUNE_OP_TYPES),
    exclude: options.exclude ?? [],
    valueShapes: options.valueShapes ?? new Map(),
  };
}

/**
 * For `method: 'channels'`: the input model at full size with the weights
 * that read the channels {@link pruneModel} would remove set to zero. It
 * computes what the pruned model computes (up to float rounding), so
 * comparing the two checks the rewrite apart from the accuracy pruning costs.
 * @throws as {@link pruneModel}; MlctlError `MLCTL_USAGE` for another method.
 */
export function maskPrunedChannels(model: ModelProto, options: PruneOptions): ModelProto {
  checkOptions(options);
  if (options.method !== 'channels') throw badOption(`only channel pruning has a masked reference, not method '${options.method ?? 'magnitude'}'`);
  return maskChannelsOf(model, channelOptions(options));
}

/**
 * Prunes the weights of a model's main graph (nodes inside subgraphs are
 * left alone). Pure: the input model is not changed.
 * @throws MlctlError `MLCTL_USAGE` for a sparsity outside [0, 1), an operator
 *   type that cannot be pruned, or a bad minimum element count;
 *   ModelFormatError for a malformed graph (duplicate producers, cycles).
 */
export function pruneModel(model: ModelProto, options: PruneOptions): PruneResult {
  checkOptions(options);
  const method = options.method ?? 'magnitude';
  const opTypes = new Set<string>(options.opTypes ?? DEFAULT_PRUNE_OP_TYPES);
  const exclude = options.exclude ?? [];
  const before = parameterStats(model.graph);
  const report: PruneReport = {
    method,
    sparsity: options.sparsity,
    tensors: [],
    groups: [],
    skipped: [],
    parametersBefore: before.parameters,
    parametersAfter: before.parameters,
    nonzeroParametersBefore: before.nonzero,
    nonzeroParametersAfter: before.nonzero,
    notes: [],
  };
  let pruned: ModelProto;
  if (method === 'magnitude') {
    report.scope = options.scope ?? 'layer';
    const result = pruneMagnitude(model, {
      sparsity: options.sparsity,
      scope: report.scope,
      opTypes,
      exclude,
      minElements: options.minElements ?? DEFAULT_MIN_ELEMENTS,
      sparseStorage: options.sparseStorage ?? false,
    });
    pruned = result.model;
    report.tensors = result.tensors;
    report.skipped = result.skipped;
    report.notes = result.notes;
  } else {
    report.norm = options.norm ?? 'l1';
    const result = pruneChannels(model, channelOptions(options));
    pruned = result.model;
    report.groups = result.groups;
    report.skipped = result.skipped;
    report.notes = result.notes;
  }
  let subgraphNodes = 0;
  forEachNode(model, (node, location) => {
    if (location.graph !== model.graph && opTypes.has(node.opType ?? '')) subgraphNodes += 1;
  });
  if (subgraphNodes > 0) report.notes.push(`${subgraphNodes} selected nodes inside subgraphs or functions were left alone`);
  const after = parameterStats(pruned.graph);
  report.parametersAfter = after.parameters;
  report.nonzeroParametersAfter = after.nonzero;
  return { model: pruned, report };
}
