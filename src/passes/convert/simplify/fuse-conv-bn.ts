/**
 * BatchNormalization folded into the Conv or ConvTranspose before it:
 * y = scale · (conv(x) − mean) / √(var + ε) + bias is a convolution with
 * weights W · s and bias (B − mean) · s + bias, where s = scale / √(var + ε)
 * per output channel. Computed in float64 and rounded once to float32.
 */
import type { UniqueNameGenerator } from '../../../onnx/graph.js';
import { GraphIndex, isInferenceBatchNorm } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import { createTensor, tensorData } from '../../../onnx/tensor.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto } from '../../../onnx/types.js';
import { floatAttribute, intAttribute } from '../shapes/node-attributes.js';
import { addConstants, type ConstantTable } from './constants.js';

const floatTypes = new Set<number>([DataType.FLOAT, DataType.DOUBLE]);

function values(tensor: TensorProto | undefined): Float32Array | Float64Array | undefined {
  if (tensor === undefined || !floatTypes.has(tensor.dataType ?? 0)) return undefined;
  try {
    return tensorData(tensor) as Float32Array | Float64Array;
  } catch {
    return undefined;
  }
}

interface Fusion {
  conv: NodeProto;
  batchNorm: NodeProto;
  weight: TensorProto;
  bias: TensorProto;
}

function fuse(conv: NodeProto, batchNorm: NodeProto, constants: ConstantTable): { weight: Float64Array; bias: Float64Array; dims: bigint[]; dataType: number } | undefined {
  const w = constants.get(conv.input[1] ?? '');
  const weight = values(w);
  if (w === undefined || weight === undefined || w.dims.length < 3) return undefined;
  const [scale, bnBias, mean, variance] = [1, 2, 3, 4].map((i) => values(constants.get(batchNorm.input[i] ?? '')));
  if (scale === undefined || bnBias === undefined || mean === undefined || variance === undefined) return undefined;
  const convBias = (conv.input[2] ?? '') === '' ? undefined : values(constants.get(conv.input[2]!));
  if ((conv.input[2] ?? '') !== '' && convBias === undefined) return undefined;
  const group = intAttribute(conv, 'group', 1);
  const dims = w.dims.map(Number);
  const transposed = conv.opType === 'ConvTranspose';
  const channels = transposed ? dims[1]! * group : dims[0]!;
  if ([scale, bnBias, mean, variance].some((v) => v.length !== channels) || (convBias !== undefined && convBias.length !== channels)) return undefined;
  const epsilon = floatAttribute(batchNorm, 'epsilon', 1e-5);
  const factor = Float64Array.from(scale, (s, c) => s / Math.sqrt(variance[c]! + epsilon));
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  const fused = new Float64Array(weight.length);
  if (!transposed) {
    const perChannel = weight.length / dims[0]!;
    for (let i = 0; i < weight.length; i++) fused[i] = weight[i]! * factor[Math.floor(i / perChannel)]!;
  } else {
    // ConvTranspose weights are [C_in, M / group, k…]; output channel o = g · (M / group) + j.
    const inPerGroup = dims[0]! / group;
    const outPerGroup = dims[1]!;
    for (let i = 0; i < weight.length; i++) {
      const c = Math.floor(i / (outPerGroup * inner));
      const j = Math.floor(i / inner) % outPerGroup;
      fused[i] = weight[i]! * factor[Math.floor(c / inPerGroup) * outPerGroup + j]!;
    }
  }
  const bias = Float64Array.from(factor, (f, c) => ((convBias?.[c] ?? 0) - mean[c]!) * f + bnBias[c]!);
  return { weight: fused, bias, dims: w.dims, dataType: w.dataType! };
}

/**
 * Folds every BatchNormalization that follows a Conv or ConvTranspose with
 * constant float weights (and nothing else reads the convolution's output).
 * @param asInitializers - add the new weights as initializers (else Constant nodes; see addConstants).
 * @returns the graph and how many BatchNormalization nodes were folded.
 */
export function fuseConvBatchNorm(graph: GraphProto, asInitializers: boolean, constants: ConstantTable, names: UniqueNameGenerator): { graph: GraphProto; fused: number } {
  const index = new GraphIndex(graph);
  const fusions: Fusion[] = [];
  for (const batchNorm of graph.node) {
    if (batchNorm.opType !== 'BatchNormalization' || !isDefaultDomain(batchNorm.domain) || !isInferenceBatchNorm(batchNorm, index)) continue;
    const x = batchNorm.input[0] ?? '';
    const producer = index.producer(x);
    const conv = producer?.node;
    if (conv === undefined || !isDefaultDomain(conv.domain) || (conv.opType !== 'Conv' && conv.opType !== 'ConvTranspose')) continue;
    if (index.isGraphOutput(x) || index.consumers(x).length !== 1 || index.subgraphUsers(x).length > 0) continue;
    const result = fuse(conv, batchNorm, constants);
    if (result === undefined) continue;
    const base = conv.name !== undefined && conv.name !== '' ? conv.name : (conv.output[0] ?? 'conv');
    const make = (suffix: string, data: Float64Array, dims: readonly bigint[]): TensorProto =>
      createTensor(names.next(`${base}_${suffix}`), result.dataType, dims, result.dataType === DataType.FLOAT ? Float32Array.from(data) : data);
    fusions.push({ conv, batchNorm, weight: make('bn_weight', result.weight, result.dims), bias: make('bn_bias', result.bias, [BigInt(result.bias.length)]) });
  }
  if (fusions.length === 0) return { graph, fused: 0 };
  const replaced = new Map<NodeProto, NodeProto>();
  const removed = new Set<NodeProto>();
  for (const { conv, batchNorm, weight, bias } of fusions) {
    replaced.set(conv, { ...conv, input: [conv.input[0]!, weight.name!, bias.name!], output: [batchNorm.output[0]!] });
    removed.add(batchNorm);
  }
  const node = graph.node.filter((n) => !removed.has(n)).map((n) => replaced.get(n) ?? n);
  const added = fusions.flatMap(({ weight, bias }) => [weight, bias].map((tensor) => ({ name: tensor.name!, tensor, nodeName: names.next(`Constant_${tensor.name!}`) })));
  return { graph: addConstants({ ...graph, node }, asInitializers, added), fused: fusions.length };
}
