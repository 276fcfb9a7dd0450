/**
 * `quantizeModel`: int8/uint8 weight quantization of an ONNX model, as a pure
 * function from model to model plus a report. See types.ts for the options.
 */
import { ModelFormatError, describeError } from '../../common/errors.js';
import { forEachNode, opsetVersion, UniqueNameGenerator } from '../../onnx/graph.js';
import { isDefaultDomain, minIrVersionForOpset } from '../../onnx/opset.js';
import type { GraphProto, ModelProto } from '../../onnx/types.js';
import { quantizeAndLayOut } from './kernel.js';
import { KernelScratch } from './kernel-scratch.js';
import { rewriteGraph, type RewriteRun } from './rewrite-graph.js';
import {
  DEFAULT_MIN_ELEMENTS,
  quantizableOpTypes,
  type QuantizeOptions,
  type QuantizeReport,
  type QuantizeResult,
  type WeightKernel,
} from './types.js';
import type { ExternalDataReader } from './weights.js';

/** Quantizes in the calling thread, allocating per tensor; {@link localWeightKernel} reuses memory across a run. */
export const defaultWeightKernel: WeightKernel = (request) =>
  quantizeAndLayOut(request.values(), request.dims, request.options, request.transpose);

/**
 * A kernel that quantizes in the calling thread, with the memory of one
 * {@link KernelScratch} reused from tensor to tensor (kept as long as the
 * kernel is: make one per run). Raw float bytes go to the kernel as they lie
 * in the model, without decoding.
 */
export function localWeightKernel(scratch: KernelScratch = new KernelScratch()): WeightKernel {
  return (request) => scratch.quantize(request.rawBytes ?? request.values(), request.dims, request.options, request.transpose);
}

/** The opset the pass raises older models to: per-axis DequantizeLinear needs 13. */
export const QUANTIZE_TARGET_OPSET = 13;

/** Options with every default filled in. */
export interface SettledOptions {
  mode: 'weight-only' | 'dynamic';
  weightType: 'int8' | 'uint8';
  perChannel: boolean;
  symmetric: boolean;
  reduceRange: boolean;
  opTypes: readonly string[];
  exclude: readonly (string | RegExp)[];
  minElements: number;
  convInteger: boolean;
  convIntegerWeightTypes: readonly ('int8' | 'uint8')[];
  forceFloat: readonly string[];
}

/** Fills in the defaults of {@link QuantizeOptions}. */
export function settleOptions(options: QuantizeOptions): SettledOptions {
  const weightType = options.weightType ?? 'int8';
  return {
    mode: options.mode ?? 'dynamic',
    weightType,
    perChannel: options.perChannel ?? true,
    // ONNX Runtime's default: symmetric for signed weights, asymmetric for unsigned.
    symmetric: options.symmetric ?? weightType === 'int8',
    reduceRange: options.reduceRange ?? false,
    opTypes: options.opTypes ?? quantizableOpTypes,
    exclude: options.exclude ?? [],
    minElements: options.minElements ?? DEFAULT_MIN_ELEMENTS,
    convInteger: options.convInteger ?? false,
    convIntegerWeightTypes: options.convIntegerWeightTypes ?? [],
    forceFloat: options.forceFloat ?? [],
  };
}

/** The lowest default-domain opset the emitted operators need. */
function requiredOpset(settled: SettledOptions): number {
  if (settled.perChannel) return 13; // DequantizeLinear `axis`
  return settled.mode === 'dynamic' ? 11 : 10; // DynamicQuantizeLinear : DequantizeLinear
}

function hasCandidates(model: ModelProto, opTypes: ReadonlySet<string>): boolean {
  let found = false;
  forEachNode(model, (node, location) => {
    if (location.function === undefined && isDefaultDomain(node.domain) && opTypes.has(node.opType ?? '')) found = true;
  });
  return found;
}

function setDefaultOpset(model: ModelProto, opset: number): ModelProto {
  const opsetImport = model.opsetImport.map((entry) =>
    isDefaultDomain(entry.domain) ? { ...entry, version: BigInt(opset) } : entry,
  );
  return { ...model, opsetImport };
}

/** Before IR 4 initializers had to be graph inputs too; from IR 4 on such an input is overridable, which blocks constant folding. */
function dropInitializerInputs(graph: GraphProto): GraphProto {
  const initializers = new Set(graph.initializer.map((tensor) => tensor.name ?? ''));
  const input = graph.input.filter((info) => !initializers.has(info.name ?? ''));
  return input.length === graph.input.length ? graph : { ...graph, input };
}

/**
 * Quantizes the weights of MatMul, Gemm, Conv, ConvTranspose and Gather nodes
 * (in the main graph and its subgraphs; model-local functions are left
 * intact), with ONNX Runtime's numerics. The input model is not changed.
 *
 * @param readExternal - reads the bytes of a weight kept in external data;
 *   without it such weights are skipped.
 * @throws ModelFormatError when the model has no main graph or its tensors are malformed.
 */
export function quantizeModel(model: ModelProto, options: QuantizeOptions = {}, readExternal?: ExternalDataReader): QuantizeResult {
  if (model.graph === undefined) throw new ModelFormatError('the model has no main graph to quantize');
  const settled = settleOptions(options);
  const opTypes = new Set<string>(settled.opTypes);
  const opsetBefore = opsetVersion(model, '') ?? 1;
  const irVersionBefore = Number(model.irVersion ?? 3n);
  const notes: string[] = [];

  let working = model;
  let opsetConversionError: string | undefined;
  const needed = requiredOpset(settled);
  if (opsetBefore < needed && hasCandidates(model, opTypes)) {
    if (options.convertOpset === undefined) {
      opsetConversionError = `the model's opset ${opsetBefore} is below the ${needed} that quantized nodes need, and no opset converter was given`;
    } else {
      try {
        working = options.convertOpset(model, QUANTIZE_TARGET_OPSET).model;
        notes.push(`raised the default-domain opset from ${opsetBefore} to ${QUANTIZE_TARGET_OPSET}`);
      } catch (error) {
        opsetConversionError = `the model's opset ${opsetBefore} is below the ${needed} that quantized nodes need, and raising it failed: ${describeError(error)}`;
      }
    }
  }

  const run: RewriteRun = {
    names: UniqueNameGenerator.fromModel(working),
    plan: {
      mode: settled.mode,
      weightType: settled.weightType,
      perChannel: settled.perChannel,
      symmetric: settled.symmetric,
      opTypes,
      exclude: settled.exclude,
      minElements: settled.minElements,
      convInteger: settled.convInteger,
      convIntegerWeightTypes: new Set(settled.convIntegerWeightTypes),
      canReadExternal: readExternal !== undefined,
    },
    store: {
      type: settled.weightType,
      symmetric: settled.symmetric,
      reduceRange: settled.reduceRange,
      readExternal,
      kernel: options.weightKernel ?? localWeightKernel(),
    },
    nodes: [],
    tensors: [],
    touched: new Map(),
    reportsBySource: new Map(),
    blockedReason: opsetConversionError,
    forceFloat: new Set(settled.forceFloat),
  };
  const workingGraph = working.graph as GraphProto;
  let graph = rewriteGraph(workingGraph, `graph '${workingGraph.name ?? ''}'`, [], run);

  let opsetAfter = opsetVersion(working, '') ?? opsetBefore;
  let irVersionAfter = Number(working.irVersion ?? 3n);
  const quantized = run.nodes.filter((node) => node.action !== 'skipped').length;
  if (quantized > 0) {
    if (opsetAfter < needed) {
      // Only reachable with a converter that did not raise the opset far enough.
      working = setDefaultOpset(working, needed);
      opsetAfter = needed;
    }
    irVersionAfter = Math.max(irVersionAfter, minIrVersionForOpset(opsetAfter));
    if (irVersionBefore < 4 && irVersionAfter >= 4) graph = dropInitializerInputs(graph);
  } else if (working !== model) {
    // Nothing was quantized: hand back the model as it came, not a converted copy.
    working = model;
    graph = model.graph;
    opsetAfter = opsetBefore;
    irVersionAfter = irVersionBefore;
    notes.length = 0;
  }
  const result: ModelProto = graph === workingGraph && working === model ? model : { ...working, irVersion: BigInt(irVersionAfter), graph };

  const weightBytesBefore = run.tensors.reduce((sum, t) => sum + t.bytesBefore, 0);
  const weightBytesAfter = run.tensors.reduce((sum, t) => sum + t.bytesAfter + (t.floatKept ? t.bytesBefore : 0), 0);
  if (run.nodes.some((node) => node.action === 'weight-only')) {
    notes.push('weight-only nodes buy size, not speed: ONNX Runtime runs their DequantizeLinear on every inference');
  }
  const report: QuantizeReport = {
    mode: settled.mode,
    weightType: settled.weightType,
    perChannel: settled.perChannel,
    symmetric: settled.symmetric,
    reduceRange: settled.reduceRange,
    minElements: settled.minElements,
    opsetBefore,
    opsetAfter,
    irVersionBefore,
    irVersionAfter,
    tensors: run.tensors,
    nodes: run.nodes,
    nodesQuantized: quantized,
    nodesSkipped: run.nodes.length - quantized,
    weightBytesBefore,
    weightBytesAfter,
    notes,
  };
  if (opsetConversionError !== undefined) report.opsetConversionError = opsetConversionError;
  return { model: result, report };
}
