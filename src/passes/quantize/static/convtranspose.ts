/**
 * Rewriting a ConvTranspose whose kernel equals its stride (2-D, no padding,
 * no dilation, group 1) as a 1×1 Conv to Cout·k² channels and a
 * DepthToSpace. Each input pixel then feeds a k×k block of the output that no
 * other pixel touches, so the transposed convolution is a matrix product per
 * pixel and a reshuffle of channels into space. ONNX Runtime's CPU provider
 * has no integer ConvTranspose but does have QLinearConv, and it runs a
 * DepthToSpace between DequantizeLinear and QuantizeLinear on the 8-bit
 * tensor; the rewrite lets such a head (PP-OCR's text detector ends with two)
 * run quantized.
 *
 * A per-channel constant Add and an inference BatchNormalization after the
 * ConvTranspose are folded into it first, and a Relu or Clip after the
 * DepthToSpace moves before it, so the Conv's activation fuses into it.
 */
import { makeAttribute, makeNode } from '../../../onnx/builder.js';
import { GraphIndex, isInferenceBatchNorm } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import { createTensor, tensorDims } from '../../../onnx/tensor.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto } from '../../../onnx/types.js';
import { floatAttribute, intAttribute } from '../plan.js';
import { resolveWeight, weightValues, type Scope } from '../weights.js';

/** What {@link rewriteConvTranspose} changed. */
export interface ConvTransposeRewriteReport {
  /** ConvTranspose nodes rewritten as a 1×1 Conv and a DepthToSpace. */
  rewritten: number;
  /** Per-channel Add / BatchNormalization nodes after a ConvTranspose folded into it first. */
  folded: number;
  /** Relu/Clip moved from after the DepthToSpace to before it (so it sits right after the Conv). */
  activationsMoved: number;
}

/** A ConvTranspose being rewritten: its weight `[Cin, Cout, k…]` and bias with the folds applied so far, in float64. */
interface Transposed {
  readonly node: NodeProto;
  readonly weightName: string;
  readonly dims: number[];
  readonly weight: Float64Array;
  /** Undefined while the node has no bias input and nothing has been folded into it. */
  bias: Float64Array | undefined;
  /** The value now holding the result: the node's output, or that of the last node folded into it. */
  output: string;
  /** Values that no longer exist once the folds are applied. */
  readonly removedValues: string[];
}

/** The float32 values of a constant float tensor in the main graph; undefined when computed at run time or external. */
function constantValues(name: string, scopes: readonly Scope[]): { tensor: TensorProto; values: Float32Array } | undefined {
  const source = resolveWeight(name, scopes);
  if (source === undefined || source.tensor.dataType !== DataType.FLOAT || source.tensor.externalData.length > 0 || source.tensor.segment !== undefined) return undefined;
  return { tensor: source.tensor, values: weightValues(source.tensor, undefined) };
}

function intsAttribute(node: NodeProto, name: string): number[] | undefined {
  return node.attribute.find((a) => a.name === name)?.ints.map(Number);
}

function stringAttribute(node: NodeProto, name: string): string | undefined {
  const value = node.attribute.find((a) => a.name === name)?.s;
  return value === undefined ? undefined : new TextDecoder().decode(value);
}

/** A group-1 ConvTranspose with a constant float weight and a constant (or no) bias. */
function openConvTranspose(node: NodeProto, scopes: readonly Scope[]): Transposed | undefined {
  if (intAttribute(node, 'group', 1) !== 1 || (node.output[0] ?? '') === '') return undefined;
  const weight = constantValues(node.input[1] ?? '', scopes);
  if (weight === undefined) return undefined;
  const dims = tensorDims(weight.tensor);
  if (dims.length < 3) return undefined;
  const biasName = node.input[2] ?? '';
  const bias = biasName === '' ? undefined : constantValues(biasName, scopes);
  if (biasName !== '' && (bias === undefined || bias.values.length !== dims[1])) return undefined;
  return {
    node,
    weightName: node.input[1] ?? '',
    dims,
    weight: Float64Array.from(weight.values),
    bias: bias === undefined ? undefined : Float64Array.from(bias.values),
    output: node.output[0] ?? '',
    removedValues: [],
  };
}

/** The per-channel values of a constant that, added to a `[N, channels, …]` tensor of rank `rank`, varies only along axis 1. */
function channelVector(values: Float32Array, dims: number[], rank: number, channels: number): Float64Array | undefined {
  if (dims.length > rank) return undefined;
  const aligned = [...new Array<number>(rank - dims.length).fill(1), ...dims];
  if (aligned.some((dim, axis) => axis !== 1 && dim !== 1) || (aligned[1] !== 1 && aligned[1] !== channels)) return undefined;
  return Float64Array.from({ length: channels }, (_, c) => values[aligned[1] === 1 ? 0 : c]!);
}

/** Folds an Add of a per-channel constant into `t`; false when `node` is not one. */
function foldAdd(t: Transposed, node: NodeProto, scopes: readonly Scope[]): boolean {
  if (node.input.length !== 2) return false;
  const other = node.input[0] === t.output ? node.input[1] : node.input[0];
  if (other === undefined || other === t.output) return false;
  const constant = constantValues(other, scopes);
  if (constant === undefined) return false;
  const channels = t.dims[1]!;
  const addend = channelVector(constant.values, tensorDims(constant.tensor), t.dims.length, channels);
  if (addend === undefined) return false;
  t.bias = Float64Array.from(addend, (value, c) => value + (t.bias?.[c] ?? 0));
  return true;
}

/** Folds an inference BatchNormalization into `t`: W[:, co] · s[co], (B − mean) · s + β, s = γ / √(var + ε). */
function foldBatchNorm(t: Transposed, node: NodeProto, scopes: readonly Scope[]): boolean {
  const channels = t.dims[1]!;
  const parameters = [1, 2, 3, 4].map((i) => constantValues(node.input[i] ?? '', scopes)?.values);
  if (parameters.some((p) => p === undefined || p.length !== channels)) return false;
  const [gamma, beta, mean, variance] = parameters as Float32Array[];
  const epsilon = floatAttribute(node, 'epsilon', 1e-5);
  const scale = Float64Array.from({ length: channels }, (_, c) => gamma![c]! / Math.sqrt(variance![c]! + epsilon));
  const perChannel = t.weight.length / (t.dims[0]! * channels);
  for (let i = 0; i < t.weight.length; i++) t.weight[i]! *= scale[Math.floor(i / perChannel) % channels]!;
  t.bias = Float64Array.from(scale, (s, c) => ((t.bias?.[c] ?? 0) - mean![c]!) * s + beta![c]!);
  return true;
}

/** The block size when `node` is a 2-D ConvTranspose with kernel = stride ≥ 2, no padding, dilation or output shape; else undefined. */
function blockSize(t: Transposed): number | undefined {
  const { node, dims } = t;
  if (dims.length !== 4 || dims[2] !== dims[3] || dims[2]! < 2) return undefined;
  const k = dims[2]!;
  const matches = (name: string, expected: number, count: number, required = false): boolean => {
    const values = intsAttribute(node, name);
    return values === undefined ? !required : values.length === count && values.every((v) => v === expected);
  };
  if ((stringAttribute(node, 'auto_pad') ?? 'NOTSET') !== 'NOTSET' || node.attribute.some((a) => a.name === 'output_shape')) return undefined;
  const ok = matches('strides', k, 2, true) && matches('kernel_shape', k, 2) && matches('pads', 0, 4) && matches('dilations', 1, 2) && matches('output_padding', 0, 2);
  return ok ? k : undefined;
}

function float32Tensor(name: string, dims: number[], values: Float64Array): TensorProto {
  return createTensor(name, DataType.FLOAT, dims, Float32Array.from(values));
}

/** A Relu, or a Clip with constant (or no) bounds, reading `name` as its data input: elementwise, so it commutes with DepthToSpace. */
function isMovableActivation(node: NodeProto, name: string, scopes: readonly Scope[]): boolean {
  if (!isDefaultDomain(node.domain) || node.input[0] !== name || (node.output[0] ?? '') === '') return false;
  if (node.opType === 'Relu') return true;
  return node.opType === 'Clip' && node.input.slice(1).every((bound) => bound === '' || resolveWeight(bound, scopes) !== undefined);
}

/**
 * Rewrites every eligible ConvTranspose of the main graph (see the module
 * comment) after folding the per-channel Add and inference
 * BatchNormalization nodes that follow it. A folded value must have no other
 * reader (node, subgraph or graph output). The DepthToSpace (mode DCR, the
 * default in every opset, so the result is valid below opset 11 too)
 * produces the ConvTranspose's original output, or that of the moved
 * Relu/Clip, so consumers are untouched; the Conv keeps the ConvTranspose's
 * name. Initializers the graph no longer reads are left for the caller to
 * drop; value_info of values that are gone is dropped. Weights in external
 * data are left alone. Returns `graph` itself when nothing applies; never
 * mutates it.
 *
 * @param newName - returns a name unused in the model, for new tensors and nodes.
 */
export function rewriteConvTranspose(graph: GraphProto, newName: (base: string) => string): { graph: GraphProto; report: ConvTransposeRewriteReport } {
  const report: ConvTransposeRewriteReport = { rewritten: 0, folded: 0, activationsMoved: 0 };
  const index = new GraphIndex(graph);
  const scopes: Scope[] = [{ graph, index }];
  const soleReader = (name: string): NodeProto | undefined => {
    const consumers = index.consumers(name);
    if (consumers.length !== 1 || index.isGraphOutput(name) || index.subgraphUsers(name).length > 0) return undefined;
    return consumers[0]!.node;
  };
  const byOutput = new Map<string, Transposed>();
  const opened: Transposed[] = [];
  const removed = new Set<NodeProto>();
  for (const node of graph.node) {
    if (!isDefaultDomain(node.domain)) continue;
    if (node.opType === 'ConvTranspose') {
      const t = openConvTranspose(node, scopes);
      if (t !== undefined) {
        opened.push(t);
        byOutput.set(t.output, t);
      }
      continue;
    }
    if (node.opType !== 'Add' && node.opType !== 'BatchNormalization') continue;
    const t = node.input.map((name) => byOutput.get(name)).find((found) => found !== undefined);
    if (t === undefined || soleReader(t.output) !== node || (node.output[0] ?? '') === '') continue;
    const folds = node.opType === 'Add' ? foldAdd(t, node, scopes) : node.input[0] === t.output && isInferenceBatchNorm(node, index) && foldBatchNorm(t, node, scopes);
    if (!folds) continue;
    byOutput.delete(t.output);
    t.removedValues.push(t.output);
    t.output = node.output[0]!;
    byOutput.set(t.output, t);
    removed.add(node);
    report.folded += 1;
  }

  // The new nodes go where the last node they replace was, so every input they read (a Clip's bounds too) is defined by then.
  const replacements = new Map<NodeProto, NodeProto[]>();
  const initializers: TensorProto[] = [];
  const addInitializer = (base: string, dims: number[], values: Float64Array): string => {
    const tensor = float32Tensor(newName(base), dims, values);
    initializers.push(tensor);
    return tensor.name ?? '';
  };
  for (const t of opened) {
    const { node } = t;
    const last = (): NodeProto => index.producer(t.output)!.node;
    const biasBase = `${node.input[2] || t.weightName}_folded_bias`;
    const k = blockSize(t);
    if (k === undefined) {
      if (t.removedValues.length === 0) continue;
      const input = [node.input[0] ?? '', addInitializer(`${t.weightName}_folded`, t.dims, t.weight), addInitializer(biasBase, [t.dims[1]!], t.bias!)];
      replacements.set(last(), [{ ...node, input, output: [t.output] }]);
      removed.add(node);
      continue;
    }
    const [cin, cout] = [t.dims[0]!, t.dims[1]!];
    const depth = cout * k * k;
    // DCR: output channel co at offset (i, j) of its k×k block is Conv channel (i·k + j)·Cout + co.
    const weight = new Float64Array(depth * cin);
    for (let ci = 0; ci < cin; ci++) {
      for (let co = 0; co < cout; co++) {
        for (let ij = 0; ij < k * k; ij++) weight[(ij * cout + co) * cin + ci] = t.weight[(ci * cout + co) * k * k + ij]!;
      }
    }
    const input = [node.input[0] ?? '', addInitializer(`${t.weightName}_as_conv`, [depth, cin, 1, 1], weight)];
    if (t.bias !== undefined) input.push(addInitializer(biasBase, [depth], Float64Array.from({ length: depth }, (_, d) => t.bias![d % cout]!)));
    const convOutput = newName(`${t.output}_before_depth_to_space`);
    const conv: NodeProto = { ...node, opType: 'Conv', input, output: [convOutput], attribute: [makeAttribute('kernel_shape', [1, 1])] };
    const depthToSpaceName = newName(`${node.name || t.output}_depth_to_space`);
    const activation = soleReader(t.output);
    let anchor = last();
    if (activation !== undefined && isMovableActivation(activation, t.output, scopes)) {
      const activated = newName(`${convOutput}_${activation.opType === 'Relu' ? 'relu' : 'clip'}`);
      const moved: NodeProto = { ...activation, input: [convOutput, ...activation.input.slice(1)], output: [activated] };
      const depthToSpace = makeNode('DepthToSpace', [activated], [activation.output[0]!], { blocksize: k }, { name: depthToSpaceName });
      replacements.set(activation, [conv, moved, depthToSpace]);
      removed.add(anchor);
      anchor = activation;
      t.removedValues.push(t.output);
      report.activationsMoved += 1;
    } else {
      replacements.set(anchor, [conv, makeNode('DepthToSpace', [convOutput], [t.output], { blocksize: k }, { name: depthToSpaceName })]);
    }
    if (anchor !== node) removed.add(node);
    report.rewritten += 1;
  }
  if (replacements.size === 0) return { graph, report };
  const stale = new Set(opened.flatMap((t) => t.removedValues));
  return {
    graph: {
      ...graph,
      node: graph.node.flatMap((n) => replacements.get(n) ?? (removed.has(n) ? [] : [n])),
      initializer: [...graph.initializer, ...initializers],
      valueInfo: graph.valueInfo.filter((info) => !stale.has(info.name ?? '')),
    },
    report,
  };
}
