/**
 * Folding multiplications and additions by a constant into the Conv beside
 * them, before static quantization. PaddlePaddle exports (PP-LCNetV3 in
 * PP-OCRv4) follow almost every Conv and every hard-swish with a scalar
 * "learnable affine" `Mul(a) → Add(b)`; quantized, each becomes a
 * QLinearMul or QLinearAdd over a whole activation plus one more
 * requantization. The algebra is exact:
 *
 * - after a Conv, `Mul(c)` scales the weight and bias of each output channel
 *   and `Add(c)` adds to the bias;
 * - before a Conv, `Mul(c)` scales the weight along its input channels (zero
 *   padding times c is still zero), and `Add(d)` adds Σ W·d to the bias when
 *   the Conv has no padding (with padding the border would see d where it
 *   saw zeros);
 * - before a padded Conv, `Mul(c) → Add(d)` is `Add(d / c) → Mul(c)`, so the
 *   Mul still reaches the Conv and only one Add stays;
 * - elsewhere, consecutive Mul by constants merge into one.
 *
 * Each chain is composed in float64 and rounded once to float32.
 */
import { GraphIndex } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import { createTensor, tensorDims } from '../../../onnx/tensor.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto } from '../../../onnx/types.js';
import { intAttribute } from '../plan.js';
import { resolveWeight, unsupportedWeightReason, weightValues, type Scope } from '../weights.js';

/** What {@link foldAffineIntoConv} changed, counted in nodes removed or moved. */
export interface AffineFoldReport {
  /** Mul/Add by a constant after a Conv folded into its weight and bias. */
  foldedAfterConv: number;
  /** Mul by a constant before a Conv folded into its weight; Add by a constant before an unpadded Conv folded into its bias. */
  foldedBeforeConv: number;
  /** Consecutive multiplications by constants merged into one. */
  mergedMultiplications: number;
  /** Mul(c) → Add(d) pairs reordered as Add(d / c) → Mul(c) so the Mul reaches the Conv after them. */
  reordered: number;
}

/** Rounds of rewriting before giving up; each round folds whole chains, so two are usually enough. */
const MAX_ROUNDS = 8;

/** How many shape-preserving operators {@link Round.keepsShape} looks back through. */
const MAX_SHAPE_DEPTH = 8;

/** Operators whose output has the shape of their first input. */
const elementwiseUnary = new Set(['Relu', 'LeakyRelu', 'PRelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Elu', 'Selu', 'Softplus', 'Abs', 'Neg', 'Identity']);

/** A float32 constant that varies along at most one axis. */
interface AxisVector {
  rank: number;
  /** The varying axis counted from the last (numpy broadcasting aligns the last axes); undefined for a scalar. */
  axisFromEnd: number | undefined;
  values: Float32Array;
}

/** A Mul or Add of one run-time value and one constant. */
interface AffineStep {
  node: NodeProto;
  op: 'Mul' | 'Add';
  data: string;
  constant: AxisVector;
}

/** One element per channel, from a constant; undefined when it does not broadcast along axis 1 of a rank-`rank` tensor alone. */
function channelValues(vector: AxisVector, rank: number, channels: number): Float64Array | undefined {
  if (vector.rank > rank) return undefined;
  if (vector.axisFromEnd === undefined) return new Float64Array(channels).fill(vector.values[0]!);
  if (vector.axisFromEnd !== rank - 2 || vector.values.length !== channels) return undefined;
  return Float64Array.from(vector.values);
}

interface ConvInfo {
  rank: number;
  outChannels: number;
  inChannels: number;
  group: number;
  weightName: string;
  weightDims: number[];
  weight: Float32Array;
  bias: Float32Array | undefined;
  padded: boolean;
}

class Round {
  readonly index: GraphIndex;
  private readonly scopes: Scope[];
  private readonly vectors = new Map<string, AxisVector | undefined>();

  constructor(readonly graph: GraphProto) {
    this.index = new GraphIndex(graph);
    this.scopes = [{ graph, index: this.index }];
  }

  private constantTensor(name: string): TensorProto | undefined {
    const source = resolveWeight(name, this.scopes);
    if (source === undefined || unsupportedWeightReason(source, false) !== undefined || source.tensor.externalData.length > 0) return undefined;
    return source.tensor;
  }

  vector(name: string): AxisVector | undefined {
    if (this.vectors.has(name)) return this.vectors.get(name);
    const tensor = this.constantTensor(name);
    let vector: AxisVector | undefined;
    const dims = tensor === undefined ? [] : tensorDims(tensor);
    const varying = dims.flatMap((dim, axis) => (dim > 1 ? [axis] : []));
    if (tensor !== undefined && dims.every((dim) => dim >= 1) && varying.length <= 1) {
      const values = weightValues(tensor, undefined);
      const axisFromEnd = varying.length === 0 ? undefined : dims.length - 1 - varying[0]!;
      if (values.length === Math.max(1, ...dims)) vector = { rank: dims.length, axisFromEnd, values };
    }
    this.vectors.set(name, vector);
    return vector;
  }

  step(node: NodeProto | undefined): AffineStep | undefined {
    if (node === undefined || !isDefaultDomain(node.domain) || (node.opType !== 'Mul' && node.opType !== 'Add')) return undefined;
    if (node.input.length !== 2 || node.output.length !== 1 || (node.output[0] ?? '') === '') return undefined;
    const [first, second] = [this.vector(node.input[0] ?? ''), this.vector(node.input[1] ?? '')];
    const data = (first === undefined ? node.input[0] : node.input[1]) ?? '';
    if ((first === undefined) === (second === undefined) || this.index.isConstant(data)) return undefined;
    return { node, op: node.opType, data, constant: (first ?? second)! };
  }

  /** Whether removing or changing the node producing `name` affects nothing but its single consumer. */
  isPrivate(name: string): boolean {
    return name !== '' && this.index.consumers(name).length === 1 && !this.index.isGraphOutput(name) && this.index.subgraphUsers(name).length === 0;
  }

  conv(node: NodeProto): ConvInfo | undefined {
    if (node.opType !== 'Conv' || !isDefaultDomain(node.domain) || node.output.length !== 1) return undefined;
    const weightTensor = this.constantTensor(node.input[1] ?? '');
    if (weightTensor === undefined) return undefined;
    const dims = tensorDims(weightTensor);
    const group = intAttribute(node, 'group', 1);
    if (dims.length < 3 || group < 1 || dims[0]! % group !== 0) return undefined;
    const biasName = node.input[2] ?? '';
    const biasTensor = biasName === '' ? undefined : this.constantTensor(biasName);
    if (biasName !== '' && (biasTensor === undefined || tensorDims(biasTensor).join() !== String(dims[0]))) return undefined;
    const pads = node.attribute.find((a) => a.name === 'pads')?.ints ?? [];
    const autoPad = new TextDecoder().decode(node.attribute.find((a) => a.name === 'auto_pad')?.s ?? new Uint8Array());
    return {
      rank: dims.length,
      outChannels: dims[0]!,
      inChannels: dims[1]! * group,
      group,
      weightName: node.input[1] ?? '',
      weightDims: dims,
      weight: weightValues(weightTensor, undefined),
      bias: biasTensor === undefined ? undefined : weightValues(biasTensor, undefined),
      padded: pads.some((p) => p !== 0n) || !['', 'NOTSET', 'VALID'].includes(autoPad),
    };
  }

  /**
   * Whether `name` already has the shape that broadcasting it against the
   * constants of a chain (of rank up to `constantRank`, per input channel or
   * not) gives, so that removing the chain leaves the Conv's input shape as is.
   */
  keepsShape(name: string, constantRank: number, perChannel: boolean, conv: ConvInfo, depth = 0): boolean {
    if (!perChannel && constantRank < conv.rank) return true;
    const shape = this.index.valueInfo(name)?.type?.tensorType?.shape?.dim;
    if (shape !== undefined && shape.length === conv.rank && (!perChannel || shape[1]?.dimValue === BigInt(conv.inChannels))) return true;
    const producer = this.index.producer(name)?.node;
    if (producer === undefined) return false;
    if (elementwiseUnary.has(producer.opType ?? '') && isDefaultDomain(producer.domain)) {
      return depth < MAX_SHAPE_DEPTH && this.keepsShape(producer.input[0] ?? '', constantRank, perChannel, conv, depth + 1);
    }
    const producerConv = producer.opType === 'Conv' ? this.conv(producer) : undefined;
    if (producerConv !== undefined) return producerConv.rank === conv.rank && (!perChannel || producerConv.outChannels === conv.inChannels);
    const step = this.step(producer);
    if (step === undefined || step.constant.rank < constantRank) return false;
    return !perChannel || (step.constant.axisFromEnd === conv.rank - 2 && step.constant.values.length === conv.inChannels);
  }
}

/** A Conv's fold: the chain after it and the chain before it, as per-channel scale and shift. */
interface ConvPlan {
  conv: ConvInfo;
  after: AffineStep[];
  scaleOut: Float64Array;
  shiftOut: Float64Array;
  /** Nearest the Conv first. */
  before: AffineStep[];
  scaleIn: Float64Array;
  shiftIn: Float64Array;
  /** The Add kept in front of a padded Conv, with its new constant (d divided by the Muls before it). */
  keptAdd: { step: AffineStep; data: string; values: Float64Array; dims: number[] } | undefined;
  movedMuls: number;
  input: string;
}

function planAfter(round: Round, conv: ConvInfo, node: NodeProto, claimed: Set<NodeProto>): Pick<ConvPlan, 'after' | 'scaleOut' | 'shiftOut'> {
  const scaleOut = new Float64Array(conv.outChannels).fill(1);
  const shiftOut = new Float64Array(conv.outChannels);
  const after: AffineStep[] = [];
  for (let tensor = node.output[0] ?? ''; round.isPrivate(tensor); ) {
    const step = round.step(round.index.consumers(tensor)[0]!.node);
    const values = step === undefined || step.data !== tensor || claimed.has(step.node) ? undefined : channelValues(step.constant, conv.rank, conv.outChannels);
    if (step === undefined || values === undefined) break;
    for (let o = 0; o < conv.outChannels; o++) {
      if (step.op === 'Mul') {
        scaleOut[o]! *= values[o]!;
        shiftOut[o]! *= values[o]!;
      } else shiftOut[o]! += values[o]!;
    }
    after.push(step);
    tensor = step.node.output[0]!;
  }
  return { after, scaleOut, shiftOut };
}

function planBefore(round: Round, conv: ConvInfo, node: NodeProto, claimed: Set<NodeProto>): Omit<ConvPlan, 'conv' | 'after' | 'scaleOut' | 'shiftOut'> | undefined {
  const chain: { step: AffineStep; values: Float64Array }[] = [];
  let addAt = -1;
  for (let tensor = node.input[0] ?? ''; round.isPrivate(tensor); ) {
    const step = round.step(round.index.producer(tensor)?.node);
    const values = step === undefined || claimed.has(step.node) ? undefined : channelValues(step.constant, conv.rank, conv.inChannels);
    if (step === undefined || values === undefined) break;
    if (conv.padded && step.op === 'Add') {
      if (addAt >= 0) break;
      addAt = chain.length;
    }
    // d / c needs c without zeros.
    if (conv.padded && addAt >= 0 && step.op === 'Mul' && values.some((v) => v === 0)) break;
    chain.push({ step, values });
    tensor = step.data;
  }
  // An Add with no Mul before it stays as it is in front of a padded Conv.
  if (addAt >= 0 && addAt === chain.length - 1) {
    chain.pop();
    addAt = -1;
  }
  if (chain.length === 0) return undefined;
  const scaleIn = new Float64Array(conv.inChannels).fill(1);
  const shiftIn = new Float64Array(conv.inChannels);
  const preAdd = new Float64Array(conv.inChannels).fill(1);
  for (let i = chain.length - 1; i >= 0; i--) {
    const { step, values } = chain[i]!;
    for (let c = 0; c < conv.inChannels; c++) {
      if (step.op === 'Mul') {
        scaleIn[c]! *= values[c]!;
        shiftIn[c]! *= values[c]!;
        if (i > addAt && addAt >= 0) preAdd[c]! *= values[c]!;
      } else shiftIn[c]! += values[c]!;
    }
  }
  const constantRank = Math.max(...chain.map(({ step }) => step.constant.rank));
  const perChannel = chain.some(({ step }) => step.constant.axisFromEnd !== undefined && step.constant.values.length > 1);
  if (addAt < 0) {
    const input = chain[chain.length - 1]!.step.data;
    if (!round.keepsShape(input, constantRank, perChannel, conv)) return undefined;
    return { before: chain.map(({ step }) => step), scaleIn, shiftIn, keptAdd: undefined, movedMuls: 0, input };
  }
  // The kept Add broadcasts like the whole chain did, so the Conv's input keeps its shape.
  const kept = chain[addAt]!;
  const dims = new Array<number>(constantRank).fill(1);
  if (perChannel) dims[constantRank - 1 - (conv.rank - 2)] = conv.inChannels;
  const values = kept.values.map((d, c) => d / preAdd[c]!);
  if (!values.every((v) => Number.isFinite(Math.fround(v)))) return undefined;
  const before = chain.filter((_, i) => i !== addAt).map(({ step }) => step);
  return {
    before,
    scaleIn,
    shiftIn: new Float64Array(conv.inChannels),
    keptAdd: { step: kept.step, data: chain[chain.length - 1]!.step.data, values: perChannel ? values : values.subarray(0, 1), dims },
    movedMuls: chain.length - 1 - addAt,
    input: kept.step.node.output[0]!,
  };
}

/** The folded weight and bias: W·scaleIn along input channels, then everything scaled and shifted per output channel. */
function foldedTensors(plan: ConvPlan): { weight: Float32Array; bias: Float32Array } | undefined {
  const { conv, scaleIn, shiftIn, scaleOut, shiftOut } = plan;
  const perGroupIn = conv.inChannels / conv.group;
  const perGroupOut = conv.outChannels / conv.group;
  const kernel = conv.weight.length / (conv.outChannels * perGroupIn);
  const weight = new Float32Array(conv.weight.length);
  const bias = new Float32Array(conv.outChannels);
  for (let o = 0; o < conv.outChannels; o++) {
    const firstIn = Math.floor(o / perGroupOut) * perGroupIn;
    let sum = conv.bias?.[o] ?? 0;
    for (let j = 0; j < perGroupIn; j++) {
      for (let k = 0; k < kernel; k++) {
        const at = (o * perGroupIn + j) * kernel + k;
        sum += conv.weight[at]! * shiftIn[firstIn + j]!;
        weight[at] = conv.weight[at]! * scaleIn[firstIn + j]! * scaleOut[o]!;
      }
    }
    bias[o] = sum * scaleOut[o]! + shiftOut[o]!;
  }
  const finite = (values: Float32Array): boolean => values.every((v) => Number.isFinite(v));
  return finite(weight) && finite(bias) ? { weight, bias } : undefined;
}

/** x · c1 · c2 as one constant, when c1 and c2 vary along the same axis or one of them is a scalar. */
function mergedProduct(first: AxisVector, second: AxisVector): { dims: number[]; values: Float32Array } | undefined {
  const axis = first.axisFromEnd ?? second.axisFromEnd;
  if (first.axisFromEnd !== undefined && second.axisFromEnd !== undefined && (first.axisFromEnd !== second.axisFromEnd || first.values.length !== second.values.length)) return undefined;
  const length = Math.max(first.values.length, second.values.length);
  const at = (vector: AxisVector, i: number): number => vector.values[vector.values.length === 1 ? 0 : i]!;
  const values = Float32Array.from({ length }, (_, i) => at(first, i) * at(second, i));
  const rank = Math.max(first.rank, second.rank);
  const dims = new Array<number>(rank).fill(1);
  if (axis !== undefined) dims[rank - 1 - axis] = length;
  return values.every((v) => Number.isFinite(v)) ? { dims, values } : undefined;
}

/** One round over the graph; undefined when nothing applied. */
function foldRound(graph: GraphProto, newName: (base: string) => string, report: AffineFoldReport): GraphProto | undefined {
  const round = new Round(graph);
  const claimed = new Set<NodeProto>();
  const removed = new Set<NodeProto>();
  const replaced = new Map<NodeProto, NodeProto>();
  const stale = new Set<string>();
  const initializers: TensorProto[] = [];

  const plans = new Map<NodeProto, ConvPlan>();
  for (const node of graph.node) {
    const conv = round.conv(node);
    if (conv === undefined) continue;
    const after = planAfter(round, conv, node, claimed);
    const none = { before: [], scaleIn: new Float64Array(conv.inChannels).fill(1), shiftIn: new Float64Array(conv.inChannels), keptAdd: undefined, movedMuls: 0, input: node.input[0] ?? '' };
    plans.set(node, { conv, ...after, ...none });
    for (const step of after.after) claimed.add(step.node);
  }
  for (const [node, plan] of plans) {
    const before = planBefore(round, plan.conv, node, claimed);
    if (before === undefined) continue;
    Object.assign(plan, before);
    for (const step of before.before) claimed.add(step.node);
    if (before.keptAdd !== undefined) claimed.add(before.keptAdd.step.node);
  }
  for (const [node, plan] of plans) {
    if (plan.after.length === 0 && plan.before.length === 0) continue;
    const folded = foldedTensors(plan);
    if (folded === undefined) continue;
    const { conv } = plan;
    const weight = createTensor(newName(`${conv.weightName}_affine`), DataType.FLOAT, conv.weightDims, folded.weight);
    const biasName = node.input[2] ?? '';
    const bias = createTensor(newName(`${biasName === '' ? conv.weightName : biasName}_affine_bias`), DataType.FLOAT, [conv.outChannels], folded.bias);
    initializers.push(weight, bias);
    const output = plan.after.length === 0 ? node.output : [plan.after[plan.after.length - 1]!.node.output[0]!];
    replaced.set(node, { ...node, input: [plan.input, weight.name ?? '', bias.name ?? ''], output });
    if (plan.after.length > 0) stale.add(node.output[0] ?? '');
    for (const step of [...plan.after, ...plan.before]) {
      removed.add(step.node);
      stale.add(step.node.output[0] ?? '');
    }
    if (plan.keptAdd !== undefined) {
      const { step, data, values, dims } = plan.keptAdd;
      const constant = createTensor(newName(`${step.node.input.find((name) => name !== step.data) ?? 'add'}_reordered`), DataType.FLOAT, dims, Float32Array.from(values));
      initializers.push(constant);
      replaced.set(step.node, { ...step.node, input: [data, constant.name ?? ''] });
      stale.add(step.node.output[0] ?? '');
    }
    report.foldedAfterConv += plan.after.length;
    report.foldedBeforeConv += plan.before.length;
    report.reordered += plan.movedMuls;
  }

  for (const node of graph.node) {
    const second = claimed.has(node) ? undefined : round.step(node);
    if (second === undefined || second.op !== 'Mul' || !round.isPrivate(second.data)) continue;
    const first = round.step(round.index.producer(second.data)?.node);
    if (first === undefined || first.op !== 'Mul' || claimed.has(first.node)) continue;
    const product = mergedProduct(first.constant, second.constant);
    if (product === undefined) continue;
    const constant = createTensor(newName(`${second.node.input.find((name) => name !== second.data) ?? 'mul'}_merged`), DataType.FLOAT, product.dims, product.values);
    initializers.push(constant);
    replaced.set(second.node, { ...second.node, input: [first.data, constant.name ?? ''] });
    removed.add(first.node);
    stale.add(first.node.output[0] ?? '');
    claimed.add(first.node).add(second.node);
    report.mergedMultiplications += 1;
  }

  if (removed.size === 0 && replaced.size === 0) return undefined;
  return {
    ...graph,
    node: graph.node.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n),
    initializer: [...graph.initializer, ...initializers],
    valueInfo: graph.valueInfo.filter((info) => !stale.has(info.name ?? '')),
  };
}

/**
 * Folds multiplications and additions by float32 constants into the Conv
 * before or after them (see the module comment), merges consecutive
 * multiplications by constants, and moves a Mul in front of an Add past it
 * when that lets the Mul reach a padded Conv. Only default-domain nodes of
 * the main graph are rewritten (not subgraphs), and only where every value
 * that disappears or changes has a single reader, is no graph output and no
 * subgraph reads it. A Conv keeps its node name and takes the name of the
 * last value folded into it, so later names do not change. New constants
 * are initializers named with `newName`; constants no longer read are left
 * for the caller to drop, except intermediate ones this function created.
 *
 * Returns the same graph object when nothing applies. Never mutates `graph`.
 */
export function foldAffineIntoConv(graph: GraphProto, newName: (base: string) => string): { graph: GraphProto; report: AffineFoldReport } {
  const report: AffineFoldReport = { foldedAfterConv: 0, foldedBeforeConv: 0, mergedMultiplications: 0, reordered: 0 };
  let current = graph;
  for (let i = 0; i < MAX_ROUNDS; i++) {
    const next = foldRound(current, newName, report);
    if (next === undefined) break;
    current = next;
  }
  if (current === graph) return { graph, report };
  // A Conv folded in two rounds leaves the first round's weight unread.
  const original = new Set(graph.initializer);
  const index = new GraphIndex(current);
  return { graph: { ...current, initializer: current.initializer.filter((t) => original.has(t) || index.isUsed(t.name ?? '')) }, report };
}
