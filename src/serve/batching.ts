/**
 * Concatenating requests along the first dimension for one run, and splitting
 * the run's outputs back into one slice per request.
 */
import type { HostTensor, TensorData } from '../runtime/types.js';

type TypedData = Exclude<TensorData, string[]>;

/**
 * A key equal for requests whose inputs can be concatenated: the same dims
 * apart from the first for every input.
 */
export function batchKey(inputs: Record<string, HostTensor>): string {
  let key = '';
  for (const name of Object.keys(inputs).sort()) key += `${name}:${inputs[name]!.dims.slice(1).join('x')};`;
  return key;
}

function concatData(parts: readonly TensorData[], total: number): TensorData {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as string[][]).flat();
  const Constructor = (first as TypedData).constructor as new (length: number) => TypedData;
  const out = new Constructor(total);
  let offset = 0;
  for (const part of parts as TypedData[]) {
    (out as Float32Array).set(part as Float32Array, offset);
    offset += part.length;
  }
  return out;
}

/**
 * One feed per input holding every request's tensor, in order, along the
 * first dimension. All requests must share {@link batchKey}.
 */
export function concatFeeds(requests: readonly Record<string, HostTensor>[]): Record<string, HostTensor> {
  const first = requests[0]!;
  if (requests.length === 1) return first;
  const feeds: Record<string, HostTensor> = {};
  for (const [name, tensor] of Object.entries(first)) {
    const parts = requests.map((request) => request[name]!);
    const batch = parts.reduce((sum, part) => sum + part.dims[0]!, 0);
    const total = parts.reduce((sum, part) => sum + part.data.length, 0);
    feeds[name] = { dtype: tensor.dtype, dims: [batch, ...tensor.dims.slice(1)], data: concatData(parts.map((part) => part.data), total) };
  }
  return feeds;
}

/** Thrown when an output does not follow the batch dimension, so it cannot be split. */
export class BatchSplitError extends Error {}

/**
 * Slices of the batched outputs, one record per request (views, not copies).
 * @param sizes each request's first dimension, in the order they were concatenated.
 * @throws BatchSplitError when an output's first dimension is not the total batch size.
 */
export function splitOutputs(outputs: Record<string, HostTensor>, sizes: readonly number[]): Record<string, HostTensor>[] {
  if (sizes.length === 1) return [outputs];
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const results = sizes.map((): Record<string, HostTensor> => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    if (tensor.dims[0] !== total) {
      throw new BatchSplitError(`output '${name}' has shape [${tensor.dims.join(', ')}], whose first dimension is not the batch size ${total}`);
    }
    const perItem = tensor.dims.slice(1).reduce((product, dim) => product * dim, 1);
    let offset = 0;
    sizes.forEach((size, index) => {
      const start = offset * perItem;
      const end = (offset + size) * perItem;
      const data = Array.isArray(tensor.data) ? tensor.data.slice(start, end) : (tensor.data as TypedData).subarray(start, end);
      results[index]![name] = { dtype: tensor.dtype, dims: [size, ...tensor.dims.slice(1)], data: data as TensorData };
      offset += size;
    });
  }
  return results;
}
