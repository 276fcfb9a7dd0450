/**
 * The replacement nodes for each quantized node. Every builder appends to
 * `out` in a valid order and writes the original node's output names, so
 * downstream nodes, graph outputs and value_info stay as they were.
 *
 * The dynamic pattern is ONNX Runtime's (operators/matmul.py, IntegerOps):
 * `DynamicQuantizeLinear(x) → MatMulInteger(x_q, w_q, x_zp, w_zp) → Cast(float)
 * → Mul(·, Mul(x_scale, w_scale))`, optionally `→ Add(bias)`. The scales Mul
 * takes (x_scale, w_scale) in that order and belongs to one MatMulInteger
 * alone: that is what ONNX Runtime's MatMulIntegerToFloat fusion looks for.
 */
import { attrInt, makeNode, type AttrValue } from '../../onnx/builder.js';
import type { UniqueNameGenerator } from '../../onnx/graph.js';
import { createTensor } from '../../onnx/tensor.js';
import { DataType, type AttributeProto, type NodeProto } from '../../onnx/types.js';
import { floatAttribute, intAttribute, type PlannedNode } from './plan.js';
import type { WeightStore } from './weight-store.js';
import { reshapedTensor, resolveWeight, scaleValues, weightValues, type ExternalDataReader, type Scope } from './weights.js';

/** What the builders share. */
export interface EmitContext {
  readonly store: WeightStore;
  readonly names: UniqueNameGenerator;
  readonly scopes: readonly Scope[];
  readonly readExternal: ExternalDataReader | undefined;
}

function baseName(node: NodeProto): string {
  return node.name !== undefined && node.name !== '' ? node.name : (node.output[0] ?? 'node');
}

function withInput(node: NodeProto, index: number, name: string): NodeProto {
  const input = [...node.input];
  input[index] = name;
  return { ...node, input };
}

/** DequantizeLinear(w_q) → the node's weight input. */
export function emitWeightOnly(plan: PlannedNode, context: EmitContext, out: NodeProto[]): void {
  const weight = context.store.quantized(plan.weight, plan.axis, { kind: 'plain' });
  out.push(withInput(plan.node, plan.inputIndex, context.store.dequantizedOutput(weight)));
}

/** Gather(w_q, indices) → DequantizeLinear(rows, scale, zp, axis −1): only the gathered rows are dequantized. */
export function emitGatherDequantize(plan: PlannedNode, context: EmitContext, out: NodeProto[]): void {
  const { node } = plan;
  const weight = context.store.quantized(plan.weight, plan.axis, { kind: 'plain' });
  const output = node.output[0] ?? '';
  const gathered = context.names.next(`${output}_quantized`);
  out.push({ ...withInput(node, 0, weight.tensors.data.name ?? ''), output: [gathered] });
  // The weight's last axis is the gathered rows' last axis when gathering along axis 0.
  const attributes: Record<string, AttrValue> = weight.axis === undefined ? {} : { axis: attrInt(-1) };
  out.push(
    makeNode('DequantizeLinear', [gathered, weight.tensors.scale.name ?? '', weight.tensors.zeroPoint.name ?? ''], [output], attributes, {
      name: context.names.next(`${baseName(node)}_DequantizeLinear`),
    }),
  );
}

/**
 * The integer product and its rescale to float:
 * `Mul(Cast(integerOp(x_q, w_q, x_zp, w_zp)), Mul(x_scale, weightScale))` → `output`.
 */
function emitIntegerProduct(
  context: EmitContext,
  out: NodeProto[],
  spec: {
    opType: 'MatMulInteger' | 'ConvInteger';
    base: string;
    activation: string;
    weightData: string;
    weightZeroPoint: string;
    weightScale: string;
    attributes: AttributeProto[];
    output: string;
  },
): void {
  const { names } = context;
  const x = context.store.dynamicQuantized(spec.activation, out);
  const integerOutput = names.next(`${spec.output}_int32`);
  const integerNode = makeNode(spec.opType, [x.data, spec.weightData, x.zeroPoint, spec.weightZeroPoint], [integerOutput], {}, {
    name: names.next(`${spec.base}_quant`),
  });
  integerNode.attribute = spec.attributes;
  out.push(integerNode);
  const floatOutput = names.next(`${spec.output}_float`);
  out.push(makeNode('Cast', [integerOutput], [floatOutput], { to: DataType.FLOAT }, { name: names.next(`${spec.base}_cast`) }));
  const scales = names.next(`${spec.base}_scales`);
  out.push(makeNode('Mul', [x.scale, spec.weightScale], [scales], {}, { name: names.next(`${spec.base}_scales_mul`) }));
  out.push(makeNode('Mul', [floatOutput, scales], [spec.output], {}, { name: names.next(`${spec.base}_output_scale_mul`) }));
}

/** MatMul(A, W) → the dynamic pattern. */
export function emitDynamicMatMul(plan: PlannedNode, context: EmitContext, out: NodeProto[]): void {
  const { node } = plan;
  const weight = context.store.quantized(plan.weight, plan.axis, { kind: 'plain' });
  emitIntegerProduct(context, out, {
    opType: 'MatMulInteger',
    base: baseName(node),
    activation: node.input[0] ?? '',
    weightData: weight.tensors.data.name ?? '',
    weightZeroPoint: weight.tensors.zeroPoint.name ?? '',
    weightScale: weight.tensors.scale.name ?? '',
    attributes: [],
    output: node.output[0] ?? '',
  });
}

/**
 * Gemm(A, B, C; alpha, beta, transA, transB) → MatMul form: A transposed by a
 * Transpose node when `transA`; B transposed and multiplied by alpha at
 * quantization time (so the per-channel axis is N either way); C multiplied by
 * beta (folded when constant) and added.
 */
export function emitDynamicGemm(plan: PlannedNode, context: EmitContext, out: NodeProto[]): void {
  const { node } = plan;
  const { names } = context;
  const base = baseName(node);
  const alpha = floatAttribute(node, 'alpha', 1);
  const beta = floatAttribute(node, 'beta', 1);
  const transpose = intAttribute(node, 'transB', 0) !== 0;
  // After the layout step the weight is [K, N]: per-channel along N is axis 1.
  const weight = context.store.quantized(plan.weight, plan.axis === undefined ? undefined : 1, { kind: 'gemm', transpose, alpha });

  let activation = node.input[0] ?? '';
  if (intAttribute(node, 'transA', 0) !== 0) {
    const transposed = names.next(`${activation}_transposed`);
    out.push(makeNode('Transpose', [activation], [transposed], { perm: [1, 0] }, { name: names.next(`${base}_transpose_a`) }));
    activation = transposed;
  }
  const output = node.output[0] ?? '';
  const bias = node.input[2] ?? '';
  const product = bias === '' ? output : names.next(`${output}_matmul`);
  emitIntegerProduct(context, out, {
    opType: 'MatMulInteger',
    base,
    activation,
    weightData: weight.tensors.data.name ?? '',
    weightZeroPoint: weight.tensors.zeroPoint.name ?? '',
    weightScale: weight.tensors.scale.name ?? '',
    attributes: [],
    output: product,
  });
  if (bias === '') return;
  out.push(makeNode('Add', [product, scaledBias(bias, beta, base, context, out)], [output], {}, { name: names.next(`${base}_bias_add`) }));
}

/** `beta × C`: C itself when beta is 1, a new constant when C is one, else a Mul node. */
function scaledBias(bias: string, beta: number, base: string, context: EmitContext, out: NodeProto[]): string {
  if (beta === 1) return bias;
  const { names, store } = context;
  const source = resolveWeight(bias, context.scopes);
  if (source !== undefined && source.tensor.dataType === DataType.FLOAT) {
    const values = scaleValues(weightValues(source.tensor, context.readExternal), beta);
    const name = names.next(`${bias}_beta`);
    store.addInitializer(createTensor(name, DataType.FLOAT, source.tensor.dims, values));
    return name;
  }
  const betaName = names.next(`${base}_beta`);
  store.addInitializer(createTensor(betaName, DataType.FLOAT, [], [beta]));
  const scaled = names.next(`${bias}_scaled`);
  out.push(makeNode('Mul', [bias, betaName], [scaled], {}, { name: names.next(`${base}_beta_mul`) }));
  return scaled;
}

/** Conv(X, W, B) → DynamicQuantizeLinear + ConvInteger + Cast + Mul (+ Add of B reshaped to [M, 1, …]). */
export function emitDynamicConv(plan: PlannedNode, context: EmitContext, out: NodeProto[]): void {
  const { node } = plan;
  const { names, store } = context;
  const base = baseName(node);
  const weight = store.quantized(plan.weight, plan.axis, { kind: 'plain' });
  const channels = weight.dims[0]!;
  // Scales broadcast against the output [N, M, spatial…]: one per output channel → [M, 1, …].
  const broadcastDims = [channels, ...weight.dims.slice(2).map(() => 1)];
  let weightScale = weight.tensors.scale.name ?? '';
  let weightZeroPoint = weight.tensors.zeroPoint.name ?? '';
  if (weight.axis !== undefined) {
    const reshaped = reshapedTensor(weight.tensors.scale, names.next(`${weight.report.name}_scale_broadcast`), broadcastDims);
    store.addInitializer(reshaped);
    weightScale = reshaped.name ?? '';
    // ONNX Runtime's ConvInteger refuses a per-channel zero point; the planner only sends symmetric
    // per-channel weights here, whose channels all share one zero point.
    const scalar = { ...weight.tensors.zeroPoint, name: names.next(`${weight.report.name}_zero_point_scalar`), dims: [] };
    scalar.rawData = weight.tensors.zeroPoint.rawData?.subarray(0, 1);
    store.addInitializer(scalar);
    weightZeroPoint = scalar.name;
  }
  const output = node.output[0] ?? '';
  const bias = node.input[2] ?? '';
  const product = bias === '' ? output : names.next(`${output}_conv`);
  emitIntegerProduct(context, out, {
    opType: 'ConvInteger',
    base,
    activation: node.input[0] ?? '',
    weightData: weight.tensors.data.name ?? '',
    weightZeroPoint,
    weightScale,
    attributes: node.attribute.map((attribute) => ({ ...attribute })),
    output: product,
  });
  if (bias === '') return;
  const source = resolveWeight(bias, context.scopes);
  let biasInput: string;
  if (source !== undefined && source.tensor.dataType === DataType.FLOAT) {
    const reshaped = reshapedTensor(source.tensor, names.next(`${bias}_broadcast`), broadcastDims);
    store.addInitializer(reshaped);
    biasInput = reshaped.name ?? '';
  } else {
    const shapeName = names.next(`${base}_bias_shape`);
    store.addInitializer(createTensor(shapeName, DataType.INT64, [broadcastDims.length], broadcastDims.map((d, i) => (i === 0 ? -1 : d))));
    biasInput = names.next(`${bias}_broadcast`);
    out.push(makeNode('Reshape', [bias, shapeName], [biasInput], {}, { name: names.next(`${base}_bias_reshape`) }));
  }
  out.push(makeNode('Add', [product, biasInput], [output], {}, { name: names.next(`${base}_bias_add`) }));
}
