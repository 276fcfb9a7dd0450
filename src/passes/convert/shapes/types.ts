/**
 * What shape and type inference knows about a value: its element type and
 * its dims, each dim a size, a symbolic name, or unknown; and, for small
 * tensors whose contents can be worked out without running the model (the
 * Shape → Gather → Concat → Reshape chains of exported models), their values.
 */

/** One dimension: a size, a symbolic name (`dim_param`), or null when nothing is known. */
export type Dim = number | string | null;

/** Element type and shape of a tensor value, as far as they are known. */
export interface ValueType {
  /** A TensorProto.DataType value; undefined when unknown. */
  elemType: number | undefined;
  /** One entry per axis; undefined when even the rank is unknown. */
  dims: readonly Dim[] | undefined;
}

/**
 * The contents of a small tensor known before running the model. Integers
 * are exact up to 2^53; larger int64 values (INT64_MAX in a Slice's `ends`)
 * become ±Infinity-like large numbers, which every consumer here clamps.
 */
export interface KnownValue {
  elemType: number;
  dims: readonly number[];
  values: readonly number[];
}

/** Everything inference found for one graph (and, through `outer`, its enclosing graphs). */
export interface GraphTypes {
  /** The type of `name`, from this graph or an enclosing one. */
  type(name: string): ValueType | undefined;
  /** The contents of `name` when known (constants and computed shape values). */
  value(name: string): KnownValue | undefined;
  /** Types found for values defined in this graph (inputs, initializers, node outputs). */
  readonly localTypes: ReadonlyMap<string, ValueType>;
}

/** The most elements a computed value may have to be tracked (shape vectors are small). */
export const MAX_KNOWN_VALUE_ELEMENTS = 1024;

/** Whether every dim is a known size. */
export function isStaticShape(dims: readonly Dim[] | undefined): dims is readonly number[] {
  return dims !== undefined && dims.every((dim) => typeof dim === 'number');
}

/** Number of elements of static dims. */
export function elementCountOf(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

/** A dim as text: `3`, `batch` or `?`. */
export function formatDim(dim: Dim): string {
  return dim === null ? '?' : String(dim);
}

/** Dims as text: `[1,3,?,?]`. */
export function formatShape(dims: readonly Dim[] | undefined): string {
  return dims === undefined ? '(unknown rank)' : `[${dims.map(formatDim).join(',')}]`;
}
