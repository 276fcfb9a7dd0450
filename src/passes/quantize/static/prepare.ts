/**
 * Getting a float model ready for static quantization, as ONNX Runtime's
 * `quant_pre_process` does before `quantize_static`: the default-domain
 * opset raised to 13 (per-axis QuantizeLinear/DequantizeLinear), inference
 * BatchNormalization folded into the Conv before it, a two-input Sum
 * rewritten as Add, a division by a constant rewritten as a multiplication by
 * its reciprocal, and inference Dropout and Identity removed. Without the
 * fold and the rewrites, a float operator sits between each Conv and its
 * Relu or residual Add (or, in hard-swish, between two Mul) and ONNX Runtime
 * cannot fuse them into integer kernels. Then two rewrites of our own, both
 * exact algebra: a ConvTranspose whose kernel equals its stride becomes a
 * 1×1 Conv and a DepthToSpace (convtranspose.ts: ONNX Runtime has no int8
 * ConvTranspose on CPU), and Mul/Add by constants next to a Conv are folded
 * into its weights and bias (fold-affine.ts: each would otherwise be a
 * QLinearMul/QLinearAdd and one more rounding).
 *
 * Calibration runs on the prepared model: its tensor names are the ones the
 * calibrated ranges refer to.
 */
import { describeError } from '../../../common/errors.js';
import { GraphIndex, isInferenceBatchNorm, opsetVersion, UniqueNameGenerator } from '../../../onnx/graph.js';
import { isDefaultDomain, minIrVersionForOpset } from '../../../onnx/opset.js';
import { createTensor, tensorDims } from '../../../onnx/tensor.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../../../onnx/types.js';
import { floatAttribute } from '../plan.js';
import { rewriteConvTranspose, type ConvTransposeRewriteReport } from './convtranspose.js';
import { foldAffineIntoConv, type AffineFoldReport } from './fold-affine.js';
import type { OpsetConverter } from '../types.js';
import { resolveWeight, weightValues, type Scope } from '../weights.js';

/** The lowest default-domain opset static quantization emits for (per-axis QuantizeLinear/DequantizeLinear). */
export const STATIC_MIN_OPSET = 13;

/** Options of {@link prepareForStatic}. */
export interface PrepareOptions {
  /** Raises the opset of older models; without it they are left as they are and `opsetConversionError` says why. */
  convertOpset?: OpsetConverter;
}

/** What {@link prepareForStatic} changed. */
export interface PrepareReport {
  opsetBefore: number;
  opsetAfter: number;
  /** Set when the opset is below 13 and could not be raised: nothing can be quantized then. */
  opsetConversionError?: string;
  /** BatchNormalization nodes folded into the Conv before them (their names or `#index`). */
  foldedBatchNorms: string[];
  /** Two-input Sum nodes rewritten as Add. */
  sumsRewritten: number;
  /** Div by a float constant rewritten as Mul by its reciprocal (within float32 rounding of 1/c). */
  divisionsRewritten: number;
  /** Dropout and Identity nodes removed. */
  passThroughsRemoved: number;
  /** ConvTranspose with kernel = stride rewritten as a 1×1 Conv and a DepthToSpace (onnxruntime has no int8 ConvTranspose on CPU). */
  convTransposes: ConvTransposeRewriteReport;
  /** Multiplications and additions by constants folded into the Conv before or after them. */
  affineFolds: AffineFoldReport;
}

/** Result of {@link prepareForStatic}. */
export interface PrepareResult {
  model: ModelProto;
  report: PrepareReport;
}

const isFloat = (tensor: TensorProto): boolean => tensor.dataType === DataType.FLOAT;

function label(node: NodeProto, index: number): string {
  return node.name !== undefined && node.name !== '' ? node.name : `#${index}`;
}

interface Fold {
  weight: TensorProto;
  bias: TensorProto;
}

/** W · s and (B − mean) · s + β, with s = γ / √(var + ε), in float64, rounded once to float32. */
function foldValues(conv: NodeProto, batchNorm: NodeProto, scopes: readonly Scope[], newName: (base: string) => string): Fold | undefined {
  const weight = resolveWeight(conv.input[1] ?? '', scopes);
  if (weight === undefined || !isFloat(weight.tensor) || weight.tensor.externalData.length > 0) return undefined;
  const dims = tensorDims(weight.tensor);
  if (dims.length < 3) return undefined;
  const parameters = [1, 2, 3, 4].map((i) => resolveWeight(batchNorm.input[i] ?? '', scopes));
  if (parameters.some((p) => p === undefined || !isFloat(p.tensor) || p.tensor.externalData.length > 0)) return undefined;
  const [gamma, beta, mean, variance] = parameters.map((p) => weightValues(p!.tensor, undefined));
  const channels = dims[0]!;
  const biasName = conv.input[2] ?? '';
  const bias = biasName === '' ? undefined : resolveWeight(biasName, scopes);
  if (biasName !== '' && (bias === undefined || !isFloat(bias.tensor) || bias.tensor.externalData.length > 0)) return undefined;
  const convBias = bias === undefined ? new Float32Array(channels) : weightValues(bias.tensor, undefined);
  if ([gamma, beta, mean, variance, convBias].some((v) => v!.length !== channels)) return undefined;
  const epsilon = floatAttribute(batchNorm, 'epsilon', 1e-5);
  const w = weightValues(weight.tensor, undefined);
  const perChannel = w.length / channels;
  const folded = new Float32Array(w.length);
  const foldedBias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = gamma![c]! / Math.sqrt(variance![c]! + epsilon);
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) folded[i] = w[i]! * s;
    foldedBias[c] = (convBias[c]! - mean![c]!) * s + beta![c]!;
  }
  return {
    weight: createTensor(newName(`${weight.name}_bn_folded`), DataType.FLOAT, dims, folded),
    bias: createTensor(newName(`${biasName === '' ? weight.name : biasName}_bn_folded_bias`), DataType.FLOAT, [channels], foldedBias),
  };
}

/** Rewrites the main graph; returns it unchanged (same object) when there is nothing to do. */
function prepareGraph(graph: GraphProto, report: PrepareReport, newName: (base: string) => string): GraphProto {
  const index = new GraphIndex(graph);
  const scopes: Scope[] = [{ graph, index }];
  const removed = new Set<NodeProto>();
  const replaced = new Map<NodeProto, NodeProto>();
  const renames = new Map<string, string>();
  const initializers: TensorProto[] = [];

  graph.node.forEach((node, nodeIndex) => {
    if (!isDefaultDomain(node.domain)) return;
    const output = node.output[0] ?? '';
    if (node.opType === 'BatchNormalization' && isInferenceBatchNorm(node, index)) {
      const producer = index.producer(node.input[0] ?? '');
      const conv = producer?.node;
      if (conv === undefined || conv.opType !== 'Conv' || !isDefaultDomain(conv.domain) || removed.has(conv)) return;
      const convOutput = conv.output[0] ?? '';
      if (index.consumers(convOutput).length !== 1 || index.isGraphOutput(convOutput) || index.subgraphUsers(convOutput).length > 0) return;
      const fold = foldValues(replaced.get(conv) ?? conv, node, scopes, newName);
      if (fold === undefined) return;
      initializers.push(fold.weight, fold.bias);
      const input = [...conv.input];
      input[1] = fold.weight.name ?? '';
      input[2] = fold.bias.name ?? '';
      replaced.set(conv, { ...conv, input, output: [output, ...conv.output.slice(1)] });
      removed.add(node);
      report.foldedBatchNorms.push(label(node, nodeIndex));
      return;
    }
    if (node.opType === 'Div' && node.input.length === 2 && !index.isConstant(node.input[0] ?? '')) {
      const divisor = resolveWeight(node.input[1] ?? '', scopes);
      if (divisor !== undefined && isFloat(divisor.tensor) && divisor.tensor.externalData.length === 0) {
        const values = weightValues(divisor.tensor, undefined);
        if (values.every((v) => Number.isFinite(v) && v !== 0 && Number.isFinite(1 / v))) {
          const reciprocal = createTensor(newName(`${divisor.name}_reciprocal`), DataType.FLOAT, tensorDims(divisor.tensor), Float32Array.from(values, (v) => 1 / v));
          initializers.push(reciprocal);
          replaced.set(node, { ...node, opType: 'Mul', input: [node.input[0] ?? '', reciprocal.name ?? ''] });
          report.divisionsRewritten += 1;
          return;
        }
      }
    }
    if (node.opType === 'Sum' && node.input.length === 2 && node.input.every((name) => name !== '')) {
      replaced.set(node, { ...node, opType: 'Add' });
      report.sumsRewritten += 1;
      return;
    }
    const isPassThrough = node.opType === 'Identity' || (node.opType === 'Dropout' && node.output.slice(1).every((name) => name === '' || !index.isUsed(name)));
    if (isPassThrough && node.input[0] !== undefined && node.input[0] !== '' && !index.isGraphOutput(output) && index.subgraphUsers(output).length === 0) {
      // A Dropout in training mode (opset 12+ takes it as an input) is not a pass-through.
      if (node.opType === 'Dropout' && (node.input[2] ?? '') !== '') return;
      renames.set(output, node.input[0]);
      removed.add(node);
      report.passThroughsRemoved += 1;
    }
  });
  if (removed.size === 0 && replaced.size === 0) return graph;

  const resolve = (name: string): string => {
    let current = name;
    for (let next = renames.get(current); next !== undefined; next = renames.get(current)) current = next;
    return current;
  };
  const node = graph.node
    .filter((n) => !removed.has(n))
    .map((n) => replaced.get(n) ?? n)
    .map((n) => (n.input.some((name) => renames.has(name)) ? { ...n, input: n.input.map(resolve) } : n));
  const stale = new Set([...removed].flatMap((n) => n.output));
  for (const original of replaced.keys()) if (original.opType === 'Conv') stale.add(original.output[0] ?? '');
  return {
    ...graph,
    node,
    initializer: [...graph.initializer, ...initializers],
    valueInfo: graph.valueInfo.filter((info) => !stale.has(info.name ?? '')),
  };
}

/** Removes initializers and Constant nodes of `original` that nothing reads any more. */
function dropUnusedConstants(graph: GraphProto, original: GraphProto): GraphProto {
  const index = new GraphIndex(graph);
  const originalNames = new Set(original.initializer.map((t) => t.name ?? ''));
  const unused = (name: string): boolean => !index.isUsed(name);
  const initializer = graph.initializer.filter((t) => !originalNames.has(t.name ?? '') || !unused(t.name ?? ''));
  const dropped = new Set(graph.initializer.filter((t) => !initializer.includes(t)).map((t) => t.name ?? ''));
  const node = graph.node.filter((n) => !(n.opType === 'Constant' && isDefaultDomain(n.domain) && n.output.length === 1 && unused(n.output[0] ?? '')));
  return { ...graph, node, initializer, input: graph.input.filter((info) => !dropped.has(info.name ?? '')) };
}

function setDefaultOpset(model: ModelProto, opset: number): ModelProto {
  return { ...model, opsetImport: model.opsetImport.map((entry) => (isDefaultDomain(entry.domain) ? { ...entry, version: BigInt(opset) } : entry)) };
}

/** Before IR 4 initializers had to be graph inputs too; from IR 4 on such an input is overridable, which blocks constant folding. */
function dropInitializerInputs(graph: GraphProto): GraphProto {
  const initializers = new Set(graph.initializer.map((tensor) => tensor.name ?? ''));
  return { ...graph, input: graph.input.filter((info) => !initializers.has(info.name ?? '')) };
}

/**
 * Prepares the main graph of a float model for static quantization (see the
 * module comment). Subgraphs and functions are left as they are. The input
 * model is not changed.
 */
export function prepareForStatic(model: ModelProto, options: PrepareOptions = {}): PrepareResult {
  const opsetBefore = opsetVersion(model, '') ?? 1;
  const report: PrepareReport = {
    opsetBefore,
    opsetAfter: opsetBefore,
    foldedBatchNorms: [],
    sumsRewritten: 0,
    divisionsRewritten: 0,
    passThroughsRemoved: 0,
    convTransposes: { rewritten: 0, folded: 0, activationsMoved: 0 },
    affineFolds: { foldedAfterConv: 0, foldedBeforeConv: 0, mergedMultiplications: 0, reordered: 0 },
  };
  if (model.graph === undefined) return { model, report };
  let working = model;
  if (opsetBefore < STATIC_MIN_OPSET) {
    if (options.convertOpset === undefined) {
      report.opsetConversionError = `the model's opset ${opsetBefore} is below the ${STATIC_MIN_OPSET} that QuantizeLinear/DequantizeLinear per channel need, and no opset converter was given`;
    } else {
      try {
        working = options.convertOpset(model, STATIC_MIN_OPSET).model;
        if ((opsetVersion(working, '') ?? 1) < STATIC_MIN_OPSET) working = setDefaultOpset(working, STATIC_MIN_OPSET);
        report.opsetAfter = STATIC_MIN_OPSET;
        const irVersion = Math.max(Number(working.irVersion ?? 3n), minIrVersionForOpset(STATIC_MIN_OPSET));
        const graph = Number(model.irVersion ?? 3n) < 4 ? dropInitializerInputs(working.graph as GraphProto) : (working.graph as GraphProto);
        working = { ...working, irVersion: BigInt(irVersion), graph };
      } catch (error) {
        report.opsetConversionError = `the model's opset ${opsetBefore} is below the ${STATIC_MIN_OPSET} that QuantizeLinear/DequantizeLinear per channel need, and raising it failed: ${describeError(error)}`;
      }
    }
  }
  const graph = working.graph as GraphProto;
  const names = UniqueNameGenerator.fromModel(working);
  const newName = (base: string): string => names.next(base);
  const rewritten = prepareGraph(graph, report, newName);
  const transposes = rewriteConvTranspose(rewritten, newName);
  const affine = foldAffineIntoConv(transposes.graph, newName);
  report.convTransposes = transposes.report;
  report.affineFolds = affine.report;
  if (affine.graph === graph) return { model: working, report };
  return { model: { ...working, graph: dropUnusedConstants(affine.graph, graph) }, report };
}
