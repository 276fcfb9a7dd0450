/**
 * Checked conversions of a TensorProto's `dims` (int64 in the file) to JS
 * numbers, and the wording the tensor layer uses to name a tensor in errors.
 */

import { ModelFormatError } from '../common/errors.js';
import type { TensorProto } from './types.js';

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

/** How errors name a tensor: `tensor 'w'`, or `unnamed tensor`. */
export function tensorLabel(tensor: Pick<TensorProto, 'name'>): string {
  return tensor.name === undefined || tensor.name === '' ? 'unnamed tensor' : `tensor '${tensor.name}'`;
}

/** Dims as errors show them: `[2,3]`. */
export function formatDims(dims: readonly (bigint | number)[]): string {
  return `[${dims.join(',')}]`;
}

/**
 * The number of elements of a dense tensor: the product of its dims (1 for a
 * scalar, whose dims are empty).
 *
 * @throws ModelFormatError if a dim is negative, or the product exceeds
 *   `Number.MAX_SAFE_INTEGER`.
 */
export function tensorElementCount(tensor: Pick<TensorProto, 'name' | 'dims'>): number {
  let product = 1n;
  for (const dim of tensor.dims) {
    if (dim < 0n) {
      throw new ModelFormatError(
        `${tensorLabel(tensor)}: dims ${formatDims(tensor.dims)} hold a negative dimension (${dim}); tensor dims must be 0 or more`,
      );
    }
    product *= dim;
  }
  // Checked after the loop so that a later negative dim is still reported;
  // bigint products cannot overflow.
  if (product > maxSafe) {
    throw new ModelFormatError(
      `${tensorLabel(tensor)}: dims ${formatDims(tensor.dims)} make ${product} elements, more than the ${Number.MAX_SAFE_INTEGER} mlctl supports`,
    );
  }
  return Number(product);
}

/**
 * The dims of a tensor as numbers.
 *
 * @throws ModelFormatError if a dim is negative or exceeds `Number.MAX_SAFE_INTEGER`.
 */
export function tensorDims(tensor: Pick<TensorProto, 'name' | 'dims'>): number[] {
  return tensor.dims.map((dim) => {
    if (dim < 0n || dim > maxSafe) {
      throw new ModelFormatError(
        `${tensorLabel(tensor)}: dim ${dim} in ${formatDims(tensor.dims)} is out of range; expected 0..${Number.MAX_SAFE_INTEGER}`,
      );
    }
    return Number(dim);
  });
}
