/**
 * Shape rules of the tensor-manipulation operators: reshaping, slicing,
 * gathering, reductions, padding, resizing and the operators that make
 * tensors from shape vectors. Many read a constant input (a target shape,
 * axes, pads); when its value is not known, the rank often still is.
 */
import { DataType } from '../../../onnx/types.js';
import { constantNodeTensor, findAttribute, intAttribute, intsAttribute } from './node-attributes.js';
import { normalizeAxis, scaleDim, typed, unknownType, valueAsInts, type RuleContext, type ShapeRule } from './rule-context.js';
import type { Dim } from './types.js';

const unknownDims = (rank: number): Dim[] => new Array<Dim>(rank).fill(null);

function knownLength(c: RuleContext, index: number): number | undefined {
  const dims = c.input(index)?.dims;
  return dims?.length === 1 && typeof dims[0] === 'number' ? dims[0] : undefined;
}

function product(dims: readonly Dim[]): number | undefined {
  let result = 1;
  for (const dim of dims) {
    if (typeof dim !== 'number') return undefined;
    result *= dim;
  }
  return result;
}

const reshape: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  const target = valueAsInts(c.value(1));
  if (target === undefined) {
    const rank = knownLength(c, 1);
    return [typed(x.elemType, rank === undefined ? undefined : unknownDims(rank))];
  }
  const allowZero = intAttribute(c.node, 'allowzero', 0) === 1;
  const copied = (i: number): boolean => target[i] === 0 && !allowZero;
  const dims: Dim[] = target.map((size, i) => (copied(i) ? (x.dims?.[i] ?? null) : size === -1 ? null : size));
  const inferred = target.indexOf(-1);
  if (inferred >= 0 && x.dims !== undefined) {
    // Input dims copied by a 0 cancel out, so a symbolic batch dim does not stop the inference.
    const inputRest = product(x.dims.filter((_, i) => !copied(i)));
    const targetRest = product(dims.filter((_, i) => i !== inferred && !copied(i)));
    if (inputRest !== undefined && targetRest !== undefined && targetRest !== 0) dims[inferred] = inputRest / targetRest;
  }
  return [typed(x.elemType, dims)];
};

const flatten: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  if (x.dims === undefined) return [typed(x.elemType, [null, null])];
  const rank = x.dims.length;
  const axis = intAttribute(c.node, 'axis', 1);
  const split = axis < 0 ? axis + rank : axis;
  return [typed(x.elemType, [product(x.dims.slice(0, split)) ?? null, product(x.dims.slice(split)) ?? null])];
};

const transpose: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  if (x.dims === undefined) return [typed(x.elemType, undefined)];
  const perm = intsAttribute(c.node, 'perm') ?? x.dims.map((_, i) => x.dims!.length - 1 - i);
  return [typed(x.elemType, perm.map((axis) => x.dims![axis] ?? null))];
};

const concat: ShapeRule = (c) => {
  const inputs = c.node.input.map((_, i) => c.input(i));
  const first = inputs.find((input) => input?.dims !== undefined);
  const elemType = inputs.find((input) => input?.elemType !== undefined)?.elemType;
  if (first?.dims === undefined) return [typed(elemType, undefined)];
  const rank = first.dims.length;
  const axis = normalizeAxis(intAttribute(c.node, 'axis', 0), rank);
  if (axis === undefined) return [typed(elemType, undefined)];
  const dims = [...first.dims];
  let total: number | null = 0;
  for (const input of inputs) {
    const size = input?.dims?.[axis];
    total = typeof size === 'number' && total !== null ? total + size : null;
    input?.dims?.forEach((dim, i) => {
      if (i !== axis && dims[i] === null) dims[i] = dim;
    });
  }
  dims[axis] = total;
  return [typed(elemType, dims)];
};

const split: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  const count = c.node.output.length;
  if (x.dims === undefined) return new Array(count).fill(typed(x.elemType, undefined));
  const axis = normalizeAxis(intAttribute(c.node, 'axis', 0), x.dims.length);
  if (axis === undefined) return new Array(count).fill(typed(x.elemType, undefined));
  const sizes = intsAttribute(c.node, 'split') ?? valueAsInts(c.value(1));
  const size = x.dims[axis];
  return c.node.output.map((_, i) => {
    const dims = [...x.dims!];
    if (sizes !== undefined) dims[axis] = sizes[i] ?? null;
    else if (typeof size === 'number') {
      const chunk = Math.ceil(size / count);
      dims[axis] = i < count - 1 ? chunk : size - chunk * (count - 1);
    } else dims[axis] = null;
    return typed(x.elemType, dims);
  });
};

/** Slice lengths per ONNX's clamping rules. */
function sliceLength(size: number, start: number, end: number, step: number): number {
  const clamp = (value: number, low: number, high: number): number => Math.min(Math.max(value, low), high);
  let s = start < 0 ? start + size : start;
  let e = end < 0 ? end + size : end;
  if (step > 0) {
    s = clamp(s, 0, size);
    e = clamp(e, 0, size);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clamp(s, -1, size - 1);
  e = clamp(e, -1, size - 1);
  return Math.max(0, Math.ceil((e - s) / step));
}

/** Starts, ends, axes and steps of a Slice node (attributes before opset 10, inputs after). */
export function sliceParams(c: RuleContext): { starts: number[]; ends: number[]; axes: number[] | undefined; steps: number[] | undefined } | undefined {
  const startsAttr = intsAttribute(c.node, 'starts');
  if (startsAttr !== undefined) {
    return { starts: startsAttr, ends: intsAttribute(c.node, 'ends') ?? [], axes: intsAttribute(c.node, 'axes'), steps: undefined };
  }
  const starts = valueAsInts(c.value(1));
  const ends = valueAsInts(c.value(2));
  if (starts === undefined || ends === undefined) return undefined;
  const axes = c.has(3) ? valueAsInts(c.value(3)) : undefined;
  const steps = c.has(4) ? valueAsInts(c.value(4)) : undefined;
  if ((c.has(3) && axes === undefined) || (c.has(4) && steps === undefined)) return undefined;
  return { starts, ends, axes, steps };
}

export function sliceDims(dims: readonly Dim[], params: NonNullable<ReturnType<typeof sliceParams>>): Dim[] | undefined {
  const out = [...dims];
  const axes = params.axes ?? params.starts.map((_, i) => i);
  for (let i = 0; i < axes.length; i++) {
    const axis = normalizeAxis(axes[i]!, dims.length);
    if (axis === undefined) return undefined;
    const size = dims[axis];
    const start = params.starts[i] ?? 0;
    const end = params.ends[i] ?? 0;
    const step = params.steps?.[i] ?? 1;
    out[axis] = typeof size === 'number' ? sliceLength(size, start, end, step) : null;
  }
  return out;
}

const slice: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  if (x.dims === undefined) return [typed(x.elemType, undefined)];
  const params = sliceParams(c);
  if (params === undefined) return [typed(x.elemType, unknownDims(x.dims.length))];
  return [typed(x.elemType, sliceDims(x.dims, params))];
};

function axesOf(c: RuleContext, inputIndex: number): number[] | undefined {
  return intsAttribute(c.node, 'axes') ?? (c.has(inputIndex) ? valueAsInts(c.value(inputIndex)) : undefined);
}

const squeeze: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  if (x.dims === undefined) return [typed(x.elemType, undefined)];
  const axes = axesOf(c, 1);
  if (axes === undefined) {
    if (c.has(1)) {
      const count = knownLength(c, 1);
      return [typed(x.elemType, count === undefined ? undefined : unknownDims(x.dims.length - count))];
    }
    if (x.dims.some((dim) => typeof dim !== 'number')) return [typed(x.elemType, undefined)];
    return [typed(x.elemType, x.dims.filter((dim) => dim !== 1))];
  }
  const drop = new Set(axes.map((axis) => normalizeAxis(axis, x.dims!.length)));
  return [typed(x.elemType, x.dims.filter((_, i) => !drop.has(i)))];
};

const unsqueeze: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  const axes = axesOf(c, 1);
  if (x.dims === undefined) return [typed(x.elemType, undefined)];
  if (axes === undefined) {
    const count = knownLength(c, 1);
    return [typed(x.elemType, count === undefined ? undefined : unknownDims(x.dims.length + count))];
  }
  const rank = x.dims.length + axes.length;
  const inserted = new Set(axes.map((axis) => normalizeAxis(axis, rank)));
  const rest = [...x.dims];
  return [typed(x.elemType, Array.from({ length: rank }, (_, i): Dim => (inserted.has(i) ? 1 : (rest.shift() ?? null))))];
};

const gather: ShapeRule = (c) => {
  const data = c.input(0) ?? unknownType;
  const indices = c.input(1)?.dims;
  if (data.dims === undefined || indices === undefined) return [typed(data.elemType, undefined)];
  const axis = normalizeAxis(intAttribute(c.node, 'axis', 0), data.dims.length);
  if (axis === undefined) return [typed(data.elemType, undefined)];
  return [typed(data.elemType, [...data.dims.slice(0, axis), ...indices, ...data.dims.slice(axis + 1)])];
};

function reduce(c: RuleContext, elemType: number | undefined): ReturnType<ShapeRule> {
  const x = c.input(0) ?? unknownType;
  const keep = intAttribute(c.node, 'keepdims', 1) === 1;
  if (x.dims === undefined) return [typed(elemType, undefined)];
  let axes = axesOf(c, 1);
  if (axes === undefined && c.has(1)) return [typed(elemType, keep ? unknownDims(x.dims.length) : undefined)];
  if (axes === undefined || axes.length === 0) {
    if (intAttribute(c.node, 'noop_with_empty_axes', 0) === 1) return [typed(elemType, x.dims)];
    axes = x.dims.map((_, i) => i);
  }
  const reduced = new Set(axes.map((axis) => normalizeAxis(axis, x.dims!.length)));
  const dims = keep ? x.dims.map((dim, i) => (reduced.has(i) ? 1 : dim)) : x.dims.filter((_, i) => !reduced.has(i));
  return [typed(elemType, dims)];
}

const argReduce: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  if (x.dims === undefined) return [typed(DataType.INT64, undefined)];
  const axis = normalizeAxis(intAttribute(c.node, 'axis', 0), x.dims.length);
  const keep = intAttribute(c.node, 'keepdims', 1) === 1;
  return [typed(DataType.INT64, keep ? x.dims.map((dim, i) => (i === axis ? 1 : dim)) : x.dims.filter((_, i) => i !== axis))];
};

const pad: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  if (x.dims === undefined) return [typed(x.elemType, undefined)];
  const pads = intsAttribute(c.node, 'pads') ?? valueAsInts(c.value(1));
  if (pads === undefined) return [typed(x.elemType, unknownDims(x.dims.length))];
  const rank = x.dims.length;
  const axes = c.has(3) ? valueAsInts(c.value(3)) : x.dims.map((_, i) => i);
  if (axes === undefined) return [typed(x.elemType, unknownDims(rank))];
  const dims = [...x.dims];
  axes.forEach((rawAxis, i) => {
    const axis = normalizeAxis(rawAxis, rank);
    if (axis === undefined) return;
    const size = dims[axis];
    dims[axis] = typeof size === 'number' ? size + (pads[i] ?? 0) + (pads[i + axes.length] ?? 0) : null;
  });
  return [typed(x.elemType, dims)];
};

const resize: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  if (x.dims === undefined) return [typed(x.elemType, undefined)];
  const rank = x.dims.length;
  const isUpsample = c.node.opType === 'Upsample';
  const scalesAttr = findAttribute(c.node, 'scales')?.floats;
  const scales = scalesAttr !== undefined && scalesAttr.length > 0 ? scalesAttr : c.value(isUpsample ? 1 : 2)?.values;
  const sizes = isUpsample ? undefined : c.has(3) ? valueAsInts(c.value(3)) : undefined;
  const axesAttr = intsAttribute(c.node, 'axes');
  const axes = (axesAttr ?? x.dims.map((_, i) => i)).map((axis) => normalizeAxis(axis, rank) ?? 0);
  if (sizes !== undefined && sizes.length === axes.length) {
    const dims = [...x.dims];
    axes.forEach((axis, i) => (dims[axis] = sizes[i] ?? null));
    // keep_aspect_ratio_policy changes sizes; only 'stretch' (the default) is exact.
    if (findAttribute(c.node, 'keep_aspect_ratio_policy') !== undefined) return [typed(x.elemType, unknownDims(rank))];
    return [typed(x.elemType, dims)];
  }
  if (scales !== undefined && scales.length === axes.length) {
    const dims = [...x.dims];
    axes.forEach((axis, i) => (dims[axis] = scaleDim(x.dims![axis]!, scales[i] ?? 1)));
    return [typed(x.elemType, dims)];
  }
  return [typed(x.elemType, unknownDims(rank))];
};

const expand: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  const target = valueAsInts(c.value(1));
  if (target === undefined) {
    const length = knownLength(c, 1);
    return [typed(x.elemType, length === undefined || x.dims === undefined ? undefined : unknownDims(Math.max(length, x.dims.length)))];
  }
  if (x.dims === undefined) return [typed(x.elemType, undefined)];
  const rank = Math.max(target.length, x.dims.length);
  const dims: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const a = i - (rank - x.dims.length) >= 0 ? x.dims[i - (rank - x.dims.length)]! : 1;
    const b = i - (rank - target.length) >= 0 ? target[i - (rank - target.length)]! : 1;
    dims.push(b === 1 ? a : a === 1 || a === b ? b : typeof a === 'number' ? Math.max(a, b) : b);
  }
  return [typed(x.elemType, dims)];
};

const tile: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  const repeats = valueAsInts(c.value(1));
  if (x.dims === undefined) return [typed(x.elemType, undefined)];
  if (repeats === undefined) return [typed(x.elemType, unknownDims(x.dims.length))];
  return [typed(x.elemType, x.dims.map((dim, i) => (typeof dim === 'number' ? dim * (repeats[i] ?? 1) : repeats[i] === 1 ? dim : null)))];
};

const constantOfShape: ShapeRule = (c) => {
  const valueType = findAttribute(c.node, 'value')?.t?.dataType ?? DataType.FLOAT;
  const shape = valueAsInts(c.value(0));
  if (shape !== undefined) return [typed(valueType, shape)];
  const length = knownLength(c, 0);
  return [typed(valueType, length === undefined ? undefined : unknownDims(length))];
};

const constant: ShapeRule = (c) => {
  const tensor = constantNodeTensor(c.node);
  if (tensor === undefined) return [unknownType];
  return [typed(tensor.dataType, tensor.dims.map(Number))];
};

const range: ShapeRule = (c) => {
  const start = c.value(0)?.values[0];
  const limit = c.value(1)?.values[0];
  const delta = c.value(2)?.values[0];
  const elemType = c.input(0)?.elemType;
  if (start === undefined || limit === undefined || delta === undefined || delta === 0) return [typed(elemType, [null])];
  return [typed(elemType, [Math.max(0, Math.ceil((limit - start) / delta))])];
};

const topK: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  if (x.dims === undefined) return [typed(x.elemType, undefined), typed(DataType.INT64, undefined)];
  const axis = normalizeAxis(intAttribute(c.node, 'axis', -1), x.dims.length);
  const k = intAttribute(c.node, 'k') ?? c.value(1)?.values[0] ?? null;
  const dims = x.dims.map((dim, i) => (i === axis ? k : dim));
  return [typed(x.elemType, dims), typed(DataType.INT64, dims)];
};

const depthToSpace: ShapeRule = (c) => {
  const x = c.input(0) ?? unknownType;
  const block = intAttribute(c.node, 'blocksize', 1);
  const [n, ch, h, w] = x.dims ?? [];
  if (x.dims?.length !== 4) return [typed(x.elemType, undefined)];
  const down = c.node.opType === 'SpaceToDepth';
  const mul = (dim: Dim | undefined, factor: number): Dim => (typeof dim === 'number' ? dim * factor : null);
  const div = (dim: Dim | undefined, factor: number): Dim => (typeof dim === 'number' ? dim / factor : null);
  return [typed(x.elemType, down
    ? [n!, mul(ch, block * block), div(h, block), div(w, block)]
    : [n!, div(ch, block * block), mul(h, block), mul(w, block)])];
};

export const tensorRules: Record<string, ShapeRule> = {
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Shape: (c) => {
    const rank = c.input(0)?.dims?.length;
    if (rank === undefined) return [typed(DataType.INT64, [null])];
    const start = normalizeAxis(Math.max(-rank, Math.min(intAttribute(c.node, 'start', 0), rank)), rank + 1) ?? 0;
    const rawEnd = intAttribute(c.node, 'end') ?? rank;
    const end = Math.max(0, Math.min(rawEnd < 0 ? rawEnd + rank : rawEnd, rank));
    return [typed(DataType.INT64, [Math.max(0, end - start)])];
  },
  Size: () => [typed(DataType.INT64, [])],
  Gather: gather,
  GatherElements: (c) => [typed(c.input(0)?.elemType, c.input(1)?.dims)],
  GatherND: (c) => [typed(c.input(0)?.elemType, undefined)],
  ReduceSum: (c) => reduce(c, c.input(0)?.elemType),
  ReduceMean: (c) => reduce(c, c.input(0)?.elemType),
  ReduceMax: (c) => reduce(c, c.input(0)?.elemType),
  ReduceMin: (c) => reduce(c, c.input(0)?.elemType),
  ReduceProd: (c) => reduce(c, c.input(0)?.elemType),
  ReduceL1: (c) => reduce(c, c.input(0)?.elemType),
  ReduceL2: (c) => reduce(c, c.input(0)?.elemType),
  ReduceLogSum: (c) => reduce(c, c.input(0)?.elemType),
  ReduceLogSumExp: (c) => reduce(c, c.input(0)?.elemType),
  ReduceSumSquare: (c) => reduce(c, c.input(0)?.elemType),
  ArgMax: argReduce,
  ArgMin: argReduce,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
  Expand: expand,
  Tile: tile,
  ConstantOfShape: constantOfShape,
  Constant: constant,
  Range: range,
  TopK: topK,
  NonZero: (c) => [typed(DataType.INT64, [c.input(0)?.dims?.length ?? null, null])],
  DepthToSpace: depthToSpace,
  SpaceToDepth: depthToSpace,
  OneHot: (c) => [typed(c.input(2)?.elemType, undefined)],
  RandomNormal: (c) => [typed(intAttribute(c.node, 'dtype', DataType.FLOAT), intsAttribute(c.node, 'shape'))],
  RandomUniform: (c) => [typed(intAttribute(c.node, 'dtype', DataType.FLOAT), intsAttribute(c.node, 'shape'))],
  Multinomial: (c) => [typed(intAttribute(c.node, 'dtype', DataType.INT32), [c.input(0)?.dims?.[0] ?? null, intAttribute(c.node, 'sample_size', 1)])],
  Compress: (c) => [typed(c.input(0)?.elemType, findAttribute(c.node, 'axis') === undefined ? [null] : c.input(0)?.dims?.map((dim, i) => (i === normalizeAxis(intAttribute(c.node, 'axis', 0), c.input(0)!.dims!.length) ? null : dim)))],
  NonMaxSuppression: () => [typed(DataType.INT64, [null, 3])],
  Unique: (c) => [typed(c.input(0)?.elemType, undefined), typed(DataType.INT64, [null]), typed(DataType.INT64, [null]), typed(DataType.INT64, [null])],
  Einsum: (c) => [typed(c.input(0)?.elemType, undefined)],
  Det: (c) => [typed(c.input(0)?.elemType, c.input(0)?.dims?.slice(0, -2))],
};
