/**
 * Working out the contents of small tensors without running the model: the
 * shape arithmetic of exported models (Shape → Gather → Unsqueeze → Concat →
 * Reshape, with Add/Mul/Div on the way). Only integer and float tensors of at
 * most MAX_KNOWN_VALUE_ELEMENTS elements are tracked.
 */
import { DataType } from '../../../onnx/types.js';
import { constantNodeTensor, findAttribute, intAttribute, readKnownValue } from './node-attributes.js';
import { normalizeAxis, type RuleContext } from './rule-context.js';
import { sliceParams } from './op-rules-tensor.js';
import { elementCountOf, isStaticShape, MAX_KNOWN_VALUE_ELEMENTS, type KnownValue, type ValueType } from './types.js';

/** Computes a node's first output from known inputs; `output` is the type inference gave it. */
export type ValueRule = (c: RuleContext, output: ValueType) => KnownValue | undefined;

const integerTypes = new Set<number>([
  DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64,
]);

function strides(dims: readonly number[]): number[] {
  const out = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) out[i] = out[i + 1]! * dims[i + 1]!;
  return out;
}

/** The flat index in `dims` of multi-index `index`, reading broadcast axes (size 1) at 0. */
function broadcastIndex(index: readonly number[], dims: readonly number[]): number {
  const offset = index.length - dims.length;
  const step = strides(dims);
  let flat = 0;
  dims.forEach((size, axis) => {
    flat += (size === 1 ? 0 : index[axis + offset]!) * step[axis]!;
  });
  return flat;
}

function unravel(flat: number, dims: readonly number[]): number[] {
  const index = new Array<number>(dims.length).fill(0);
  for (let axis = dims.length - 1; axis >= 0; axis--) {
    index[axis] = flat % dims[axis]!;
    flat = Math.floor(flat / dims[axis]!);
  }
  return index;
}

function withinLimit(dims: readonly number[] | undefined): dims is readonly number[] {
  return dims !== undefined && elementCountOf(dims) <= MAX_KNOWN_VALUE_ELEMENTS;
}

function elementwise(combine: (values: number[], elemType: number) => number): ValueRule {
  return (c, output) => {
    if (!isStaticShape(output.dims) || !withinLimit(output.dims)) return undefined;
    const inputs: KnownValue[] = [];
    for (let i = 0; i < c.node.input.length; i++) {
      const value = c.value(i);
      if (value === undefined) return undefined;
      inputs.push(value);
    }
    const elemType = inputs[0]!.elemType;
    const dims = output.dims;
    const values = Array.from({ length: elementCountOf(dims) }, (_, flat) => {
      const index = unravel(flat, dims);
      return combine(inputs.map((input) => input.values[broadcastIndex(index, input.dims)]!), elemType);
    });
    return { elemType: output.elemType ?? elemType, dims, values };
  };
}

function integerDivide(a: number, b: number, elemType: number): number {
  if (!integerTypes.has(elemType)) return a / b;
  return b === 0 ? 0 : Math.trunc(a / b);
}

/** Same elements, new dims (Reshape, Squeeze, Unsqueeze, Flatten, Identity). */
const sameValues: ValueRule = (c, output) => {
  const value = c.value(0);
  if (value === undefined) return undefined;
  const dims = isStaticShape(output.dims) ? output.dims : value.dims;
  return elementCountOf(dims) === value.values.length ? { elemType: value.elemType, dims, values: value.values } : undefined;
};

function castValue(value: number, to: number): number {
  if (to === DataType.BOOL) return value !== 0 ? 1 : 0;
  if (integerTypes.has(to)) return Number.isFinite(value) ? Math.trunc(value) : value;
  return value;
}

const gather: ValueRule = (c, output) => {
  const data = c.value(0);
  const indices = c.value(1);
  if (data === undefined || indices === undefined || !isStaticShape(output.dims) || !withinLimit(output.dims)) return undefined;
  const axis = normalizeAxis(intAttribute(c.node, 'axis', 0), data.dims.length);
  if (axis === undefined) return undefined;
  const size = data.dims[axis]!;
  const dataStrides = strides(data.dims);
  const outDims = output.dims;
  const values: number[] = [];
  for (let flat = 0; flat < elementCountOf(outDims); flat++) {
    const index = unravel(flat, outDims);
    const indexPart = index.slice(axis, axis + indices.dims.length);
    let which = indices.values[indexPart.reduce((acc, v, i) => acc * indices.dims[i]! + v, 0)]!;
    if (which < 0) which += size;
    if (which < 0 || which >= size) return undefined;
    const source = [...index.slice(0, axis), which, ...index.slice(axis + indices.dims.length)];
    values.push(data.values[source.reduce((acc, v, i) => acc + v * dataStrides[i]!, 0)]!);
  }
  return { elemType: data.elemType, dims: outDims, values };
};

const slice: ValueRule = (c, output) => {
  const data = c.value(0);
  const params = sliceParams(c);
  if (data === undefined || params === undefined || !isStaticShape(output.dims)) return undefined;
  const rank = data.dims.length;
  const starts = new Array<number>(rank).fill(0);
  const steps = new Array<number>(rank).fill(1);
  const axes = params.axes ?? params.starts.map((_, i) => i);
  for (let i = 0; i < axes.length; i++) {
    const axis = normalizeAxis(axes[i]!, rank);
    if (axis === undefined) return undefined;
    const size = data.dims[axis]!;
    const step = params.steps?.[i] ?? 1;
    let start = params.starts[i] ?? 0;
    if (start < 0) start += size;
    start = step > 0 ? Math.min(Math.max(start, 0), size) : Math.min(Math.max(start, -1), size - 1);
    starts[axis] = start;
    steps[axis] = step;
  }
  const dataStrides = strides(data.dims);
  const values: number[] = [];
  for (let flat = 0; flat < elementCountOf(output.dims); flat++) {
    const index = unravel(flat, output.dims);
    values.push(data.values[index.reduce((acc, v, axis) => acc + (starts[axis]! + v * steps[axis]!) * dataStrides[axis]!, 0)]!);
  }
  return { elemType: data.elemType, dims: output.dims, values };
};

const concat: ValueRule = (c, output) => {
  const parts: KnownValue[] = [];
  for (let i = 0; i < c.node.input.length; i++) {
    if (!c.has(i)) continue;
    const value = c.value(i);
    if (value === undefined) return undefined;
    parts.push(value);
  }
  if (parts.length === 0 || !isStaticShape(output.dims) || !withinLimit(output.dims)) return undefined;
  const axis = normalizeAxis(intAttribute(c.node, 'axis', 0), output.dims.length);
  if (axis === undefined) return undefined;
  const outer = elementCountOf(output.dims.slice(0, axis));
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const part of parts) {
      const block = elementCountOf(part.dims.slice(axis));
      values.push(...part.values.slice(o * block, (o + 1) * block));
    }
  }
  return { elemType: parts[0]!.elemType, dims: output.dims, values };
};

const shape: ValueRule = (c, output) => {
  const dims = c.input(0)?.dims;
  if (!isStaticShape(dims) || !isStaticShape(output.dims)) return undefined;
  const rank = dims.length;
  const clampAxis = (axis: number): number => Math.max(0, Math.min(axis < 0 ? axis + rank : axis, rank));
  const start = clampAxis(intAttribute(c.node, 'start', 0));
  const end = clampAxis(intAttribute(c.node, 'end') ?? rank);
  return { elemType: DataType.INT64, dims: output.dims, values: dims.slice(start, Math.max(start, end)) };
};

const constantOfShape: ValueRule = (c, output) => {
  if (!isStaticShape(output.dims) || !withinLimit(output.dims)) return undefined;
  const tensor = findAttribute(c.node, 'value')?.t;
  const fill = tensor === undefined ? 0 : readKnownValue(tensor, 1)?.values[0];
  if (fill === undefined) return undefined;
  return { elemType: output.elemType ?? DataType.FLOAT, dims: output.dims, values: new Array<number>(elementCountOf(output.dims)).fill(fill) };
};

const range: ValueRule = (c, output) => {
  const start = c.value(0)?.values[0];
  const delta = c.value(2)?.values[0];
  if (start === undefined || delta === undefined || !isStaticShape(output.dims) || !withinLimit(output.dims)) return undefined;
  return { elemType: c.value(0)!.elemType, dims: output.dims, values: Array.from({ length: output.dims[0] ?? 0 }, (_, i) => start + i * delta) };
};

function fullReduce(combine: (values: readonly number[]) => number): ValueRule {
  return (c, output) => {
    const value = c.value(0);
    if (value === undefined || !isStaticShape(output.dims) || elementCountOf(output.dims) !== 1) return undefined;
    return { elemType: value.elemType, dims: output.dims, values: [combine(value.values)] };
  };
}

export const valueRules: Record<string, ValueRule> = {
  Constant: (c) => {
    const tensor = constantNodeTensor(c.node);
    return tensor === undefined ? undefined : readKnownValue(tensor, MAX_KNOWN_VALUE_ELEMENTS);
  },
  Identity: sameValues,
  Reshape: sameValues,
  Squeeze: sameValues,
  Unsqueeze: sameValues,
  Flatten: sameValues,
  Shape: shape,
  Size: (c) => {
    const dims = c.input(0)?.dims;
    return isStaticShape(dims) ? { elemType: DataType.INT64, dims: [], values: [elementCountOf(dims)] } : undefined;
  },
  Cast: (c, output) => {
    const value = c.value(0);
    const to = intAttribute(c.node, 'to');
    if (value === undefined || to === undefined) return undefined;
    return { elemType: to, dims: isStaticShape(output.dims) ? output.dims : value.dims, values: value.values.map((v) => castValue(v, to)) };
  },
  Gather: gather,
  Slice: slice,
  Concat: concat,
  Add: elementwise(([a, b]) => a! + b!),
  Sub: elementwise(([a, b]) => a! - b!),
  Mul: elementwise(([a, b]) => a! * b!),
  Div: elementwise(([a, b], elemType) => integerDivide(a!, b!, elemType)),
  Neg: elementwise(([a]) => -a!),
  Abs: elementwise(([a]) => Math.abs(a!)),
  Max: elementwise((values) => Math.max(...values)),
  Min: elementwise((values) => Math.min(...values)),
  Equal: elementwise(([a, b]) => (a === b ? 1 : 0)),
  Less: elementwise(([a, b]) => (a! < b! ? 1 : 0)),
  Greater: elementwise(([a, b]) => (a! > b! ? 1 : 0)),
  Not: elementwise(([a]) => (a === 0 ? 1 : 0)),
  Where: elementwise(([condition, a, b]) => (condition !== 0 ? a! : b!)),
  ConstantOfShape: constantOfShape,
  Range: range,
  ReduceProd: fullReduce((values) => values.reduce((a, b) => a * b, 1)),
  ReduceSum: fullReduce((values) => values.reduce((a, b) => a + b, 0)),
};
