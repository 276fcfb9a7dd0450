/**
 * The channel dependency analysis: walks the main graph in topological order
 * and applies each operator's rule, then stops every channel that reaches a
 * graph output, a subgraph, or an operator without a rule.
 */
import { GraphIndex } from '../../../onnx/graph.js';
import { isDefaultDomain } from '../../../onnx/opset.js';
import type { GraphProto } from '../../../onnx/types.js';
import type { ValueShapes } from '../types.js';
import { ChannelAnalysis, type AnalysisOptions } from './context.js';
import { concatRule, elementwiseRule, reduceRule, reshapeRule, softmaxRule, spatialRule, transposeRule } from './layout-rules.js';
import { convRule, convTransposeRule, gemmRule, matMulRule, normalizationRule } from './producer-rules.js';

/** Operators applied position by position (with broadcasting): they keep channels and tie those of their inputs. */
const elementwiseOps = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus',
  'Softsign', 'ThresholdedRelu', 'Gelu', 'Mish', 'Clip', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Floor',
  'Ceil', 'Round', 'Erf', 'Sign', 'Sin', 'Cos', 'Identity', 'Dropout', 'Cast', 'Not', 'IsNaN', 'IsInf',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sum', 'Max', 'Min', 'Mean', 'Where', 'Equal', 'Less', 'LessOrEqual',
  'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor',
]);

/** Operators that act on the spatial axes only. */
const spatialOps = new Set([
  'MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool', 'Resize', 'Upsample', 'Pad',
]);

const reshapeOps = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

const reduceOps = new Set([
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceSumSquare',
]);

/** Operators that read only a tensor's shape, which follows the channels by itself. */
const shapeReaders = new Set(['Shape', 'Size']);

/** Options of {@link analyzeChannels}. */
export interface AnalyzeOptions extends AnalysisOptions {
  /** The default-domain opset (Softmax changed meaning at 13). */
  readonly opset: number;
}

/**
 * Builds the channel dependency analysis of a topologically sorted main
 * graph. Pure: reads the graph only.
 */
export function analyzeChannels(graph: GraphProto, shapes: ValueShapes, options: AnalyzeOptions): ChannelAnalysis {
  const ctx = new ChannelAnalysis(graph, new GraphIndex(graph), shapes, options);
  graph.node.forEach((node, nodeIndex) => {
    const op = node.opType ?? '';
    if (!isDefaultDomain(node.domain)) {
      ctx.blockInputs(nodeIndex, `${ctx.describe(nodeIndex)} is a custom operator (domain '${node.domain ?? ''}')`);
      return;
    }
    if (op === 'Conv') convRule(ctx, nodeIndex);
    else if (op === 'ConvTranspose') convTransposeRule(ctx, nodeIndex);
    else if (op === 'Gemm') gemmRule(ctx, nodeIndex);
    else if (op === 'MatMul') matMulRule(ctx, nodeIndex);
    else if (op === 'BatchNormalization') normalizationRule(ctx, nodeIndex, 4);
    else if (op === 'InstanceNormalization') normalizationRule(ctx, nodeIndex, 2);
    else if (op === 'Concat') concatRule(ctx, nodeIndex);
    else if (op === 'Transpose') transposeRule(ctx, nodeIndex);
    else if (op === 'Softmax' || op === 'LogSoftmax' || op === 'Hardmax') softmaxRule(ctx, nodeIndex, options.opset);
    else if (elementwiseOps.has(op)) elementwiseRule(ctx, nodeIndex);
    else if (spatialOps.has(op)) spatialRule(ctx, nodeIndex);
    else if (reshapeOps.has(op)) reshapeRule(ctx, nodeIndex);
    else if (reduceOps.has(op)) reduceRule(ctx, nodeIndex);
    else if (!shapeReaders.has(op)) ctx.blockInputs(nodeIndex, `${ctx.describe(nodeIndex)} is an operator mlctl cannot follow channels through`);
  });
  for (const output of graph.output) {
    const layout = ctx.layouts.get(output.name ?? '');
    if (layout !== undefined) ctx.set.block(layout.ids, `they reach the graph output '${output.name ?? ''}'`);
  }
  for (const [name, layout] of ctx.layouts) {
    if (ctx.index.subgraphUsers(name).length > 0) ctx.set.block(layout.ids, `'${name}' is read inside a subgraph`);
  }
  return ctx;
}
