/**
 * The contract between the inference driver and the per-operator rules, and
 * the dim arithmetic the rules share (broadcasting, axes, merging).
 */
import type { NodeProto } from '../../../onnx/types.js';
import type { Dim, KnownValue, ValueType } from './types.js';

/** What a rule may ask about the node it infers. */
export interface RuleContext {
  readonly node: NodeProto;
  /** Default-domain opset version in force. */
  readonly opset: number;
  /** Whether input `index` is given (present and not the empty name). */
  has(index: number): boolean;
  /** The type of input `index`, when given and known. */
  input(index: number): ValueType | undefined;
  /** The contents of input `index`, when known. */
  value(index: number): KnownValue | undefined;
}

/** Types of a node's outputs (undefined entries: unknown). */
export type ShapeRule = (context: RuleContext) => (ValueType | undefined)[];

/** The contents of a node's first output, computed from known inputs; undefined when not computable. */
export type ValueRule = (context: RuleContext) => KnownValue | undefined;

export const unknownType: ValueType = { elemType: undefined, dims: undefined };

/** A type of the given element type and dims. */
export function typed(elemType: number | undefined, dims: readonly Dim[] | undefined): ValueType {
  return { elemType, dims };
}

/** The axis `axis` (possibly negative) of a tensor of `rank`, or undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  const result = axis < 0 ? axis + rank : axis;
  return result >= 0 && result < rank ? result : undefined;
}

/** Two dims that must agree: the known one, or null when they conflict or neither is known. */
export function unifyDim(a: Dim, b: Dim): Dim {
  if (a === null) return b;
  if (b === null) return a;
  return a === b ? a : typeof a === 'number' && typeof b !== 'number' ? a : typeof b === 'number' && typeof a !== 'number' ? b : null;
}

/** Numpy multidirectional broadcasting of two shapes; dims that cannot be decided become null. */
export function broadcastDims(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)]! : 1;
    const y = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)]! : 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === y) out.push(x);
    else if (typeof x === 'number' && typeof y !== 'number') out.push(y === null ? null : x);
    else if (typeof y === 'number' && typeof x !== 'number') out.push(x === null ? null : y);
    else out.push(null);
  }
  return out;
}

/** Broadcast of every given shape; undefined when any rank is unknown. */
export function broadcastAll(shapes: readonly (readonly Dim[] | undefined)[]): Dim[] | undefined {
  let result: Dim[] = [];
  for (const shape of shapes) {
    if (shape === undefined) return undefined;
    result = broadcastDims(result, shape);
  }
  return result;
}

/** Merges two guesses of one shape dim by dim (a known dim wins); undefined when the ranks differ. */
export function mergeShapes(a: readonly Dim[] | undefined, b: readonly Dim[] | undefined): readonly Dim[] | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a.length !== b.length) return a;
  return a.map((dim, i) => (dim === null ? b[i]! : typeof dim === 'string' && typeof b[i] === 'number' ? b[i]! : dim));
}

/** The dims a known 1-D value describes (a shape input), or undefined. */
export function valueAsInts(value: KnownValue | undefined): number[] | undefined {
  if (value === undefined || value.dims.length > 1) return undefined;
  if (!value.values.every((v) => Number.isFinite(v) || Math.abs(v) === Infinity)) return undefined;
  return value.values.map((v) => (Number.isFinite(v) ? Math.trunc(v) : v));
}

/** A dim times a factor (Resize scales), or null when not a known size. */
export function scaleDim(dim: Dim, scale: number): Dim {
  return typeof dim === 'number' ? Math.floor(dim * scale + 1e-9) : scale === 1 ? dim : null;
}
