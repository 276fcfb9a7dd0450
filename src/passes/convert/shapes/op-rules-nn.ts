/**
 * Shape rules of the neural-network operators: convolutions, pooling,
 * matrix products and recurrent layers.
 */
import { DataType } from '../../../onnx/types.js';
import { intAttribute, intsAttribute, stringAttribute } from './node-attributes.js';
import { broadcastDims, typed, unknownType, type RuleContext, type ShapeRule } from './rule-context.js';
import type { Dim } from './types.js';

interface WindowParams {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
  ceilMode: boolean;
}

function windowParams(c: RuleContext, spatial: number, kernel: number[] | undefined): WindowParams | undefined {
  if (kernel === undefined || kernel.length !== spatial) return undefined;
  const ones = new Array<number>(spatial).fill(1);
  return {
    kernel,
    strides: intsAttribute(c.node, 'strides') ?? ones,
    dilations: intsAttribute(c.node, 'dilations') ?? ones,
    pads: intsAttribute(c.node, 'pads') ?? new Array<number>(2 * spatial).fill(0),
    autoPad: stringAttribute(c.node, 'auto_pad', 'NOTSET'),
    ceilMode: intAttribute(c.node, 'ceil_mode', 0) === 1,
  };
}

/** Output size of one spatial axis of a convolution or pooling window. */
function windowOutput(size: Dim, axis: number, p: WindowParams, spatial: number): Dim {
  if (typeof size !== 'number') return null;
  const stride = p.strides[axis] ?? 1;
  const effectiveKernel = ((p.kernel[axis] ?? 1) - 1) * (p.dilations[axis] ?? 1) + 1;
  if (p.autoPad === 'SAME_UPPER' || p.autoPad === 'SAME_LOWER') return Math.ceil(size / stride);
  const padded = p.autoPad === 'VALID' ? size : size + (p.pads[axis] ?? 0) + (p.pads[axis + spatial] ?? 0);
  const steps = (padded - effectiveKernel) / stride;
  const out = (p.ceilMode ? Math.ceil(steps) : Math.floor(steps)) + 1;
  // With ceil_mode, a last window starting inside the right padding is dropped (as ONNX Runtime does).
  if (p.ceilMode && (out - 1) * stride >= size + (p.pads[axis] ?? 0)) return out - 1;
  return out;
}

function convLike(c: RuleContext, outputType: number | undefined): ReturnType<ShapeRule> {
  const x = c.input(0) ?? unknownType;
  const w = c.input(1) ?? unknownType;
  if (x.dims === undefined) return [typed(outputType, undefined)];
  const spatial = x.dims.length - 2;
  const kernel = intsAttribute(c.node, 'kernel_shape') ?? (w.dims?.slice(2).every((d) => typeof d === 'number') === true ? (w.dims.slice(2) as number[]) : undefined);
  const params = windowParams(c, spatial, kernel);
  const channels = w.dims?.[0] ?? null;
  if (params === undefined) return [typed(outputType, [x.dims[0]!, channels, ...new Array<Dim>(spatial).fill(null)])];
  return [typed(outputType, [x.dims[0]!, channels, ...x.dims.slice(2).map((size, axis) => windowOutput(size, axis, params, spatial))])];
}

const convTranspose: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  const w = c.input(1) ?? unknownType;
  if (x.dims === undefined) return [typed(x.elemType, undefined)];
  const spatial = x.dims.length - 2;
  const group = intAttribute(c.node, 'group', 1);
  const m = w.dims?.[1];
  const channels = typeof m === 'number' ? m * group : null;
  const outputShape = intsAttribute(c.node, 'output_shape');
  if (outputShape !== undefined && outputShape.length === spatial) return [typed(x.elemType, [x.dims[0]!, channels, ...outputShape])];
  const kernel = intsAttribute(c.node, 'kernel_shape') ?? (w.dims?.slice(2).every((d) => typeof d === 'number') === true ? (w.dims.slice(2) as number[]) : undefined);
  const params = windowParams(c, spatial, kernel);
  const outputPadding = intsAttribute(c.node, 'output_padding') ?? new Array<number>(spatial).fill(0);
  const dims = x.dims.slice(2).map((size, axis): Dim => {
    if (params === undefined || typeof size !== 'number') return null;
    const stride = params.strides[axis] ?? 1;
    if (params.autoPad === 'SAME_UPPER' || params.autoPad === 'SAME_LOWER') return size * stride;
    const effectiveKernel = ((params.kernel[axis] ?? 1) - 1) * (params.dilations[axis] ?? 1) + 1;
    return stride * (size - 1) + (outputPadding[axis] ?? 0) + effectiveKernel - (params.pads[axis] ?? 0) - (params.pads[axis + spatial] ?? 0);
  });
  return [typed(x.elemType, [x.dims[0]!, channels, ...dims])];
};

function pool(c: RuleContext): ReturnType<ShapeRule> {
  const x = c.input(0) ?? unknownType;
  if (x.dims === undefined) return [typed(x.elemType, undefined), typed(DataType.INT64, undefined)];
  const spatial = x.dims.length - 2;
  const params = windowParams(c, spatial, intsAttribute(c.node, 'kernel_shape'));
  const dims: Dim[] = [x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map((size, axis) => (params === undefined ? null : windowOutput(size, axis, params, spatial)))];
  return [typed(x.elemType, dims), typed(DataType.INT64, dims)];
}

const globalPool: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  return [typed(x.elemType, x.dims?.map((dim, i) => (i < 2 ? dim : 1)))];
};

function matmulDims(a: readonly Dim[] | undefined, b: readonly Dim[] | undefined): Dim[] | undefined {
  if (a === undefined || b === undefined || a.length === 0 || b.length === 0) return undefined;
  const left = a.length === 1 ? [1, a[0]!] : a;
  const right = b.length === 1 ? [b[0]!, 1] : b;
  const batch = broadcastDims(left.slice(0, -2), right.slice(0, -2));
  const out: Dim[] = [...batch, left[left.length - 2]!, right[right.length - 1]!];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

const gemm: ShapeRule = (c) => {
  const a = c.input(0)?.dims;
  const b = c.input(1)?.dims;
  const m = a?.length === 2 ? a[intAttribute(c.node, 'transA', 0) === 1 ? 1 : 0]! : null;
  const n = b?.length === 2 ? b[intAttribute(c.node, 'transB', 0) === 1 ? 0 : 1]! : null;
  return [typed(c.input(0)?.elemType, [m, n])];
};

/** LSTM, GRU and RNN: Y [seq, directions, batch, hidden] and Y_h (and LSTM's Y_c) [directions, batch, hidden] (layout 0). */
const recurrent: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  const directions = stringAttribute(c.node, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
  const hidden = intAttribute(c.node, 'hidden_size') ?? null;
  const batchFirst = intAttribute(c.node, 'layout', 0) === 1;
  const seq = x.dims?.[batchFirst ? 1 : 0] ?? null;
  const batch = x.dims?.[batchFirst ? 0 : 1] ?? null;
  const y: Dim[] = batchFirst ? [batch, seq, directions, hidden] : [seq, directions, batch, hidden];
  const state: Dim[] = batchFirst ? [batch, directions, hidden] : [directions, batch, hidden];
  return [typed(x.elemType, y), typed(x.elemType, state), typed(x.elemType, state)];
};

export const nnRules: Record<string, ShapeRule> = {
  Conv: (c) => convLike(c, c.input(0)?.elemType),
  ConvInteger: (c) => convLike(c, DataType.INT32),
  QLinearConv: (c) => convLike(c, c.input(7)?.elemType),
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  MatMul: (c) => [typed(c.input(0)?.elemType, matmulDims(c.input(0)?.dims, c.input(1)?.dims))],
  MatMulInteger: (c) => [typed(DataType.INT32, matmulDims(c.input(0)?.dims, c.input(1)?.dims))],
  QLinearMatMul: (c) => [typed(c.input(7)?.elemType, matmulDims(c.input(0)?.dims, c.input(3)?.dims))],
  Gemm: gemm,
  LSTM: recurrent,
  GRU: recurrent,
  RNN: recurrent,
};
