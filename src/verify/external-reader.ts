/**
 * Synchronous reads of external tensor data for the quantize pass (which is
 * a pure, synchronous function) and its worker threads: every external
 * tensor's file and byte range is resolved and checked up front, then each
 * tensor is read with positioned reads when it is needed, so that only the
 * tensor being quantized is in memory, never all float weights at once.
 */
import { FileError } from '../common/errors.js';
import { isExternalTensor, resolveExternalData, type ExternalTensorData } from '../onnx/external-data.js';
import { describeTensor, forEachTensorProto } from '../onnx/tensor-walk.js';
import type { ModelProto, TensorProto } from '../onnx/types.js';
import type { ExternalDataReader } from '../passes/quantize/index.js';
import { readExternalRange, type ExternalRange } from './external-range.js';

export { readExternalRange, type ExternalRange } from './external-range.js';

/** The reader of one model's external tensors. */
export interface ExternalTensorReader {
  /**
   * The pass's reader: a tensor's bytes in a buffer that the next call
   * reuses (read each tensor just before using it, as the pass does).
   */
  readonly read: ExternalDataReader;
  /** Where a tensor's bytes are, for a reader on another thread; undefined for a tensor not external in this model. */
  locate(tensor: TensorProto): ExternalRange | undefined;
  /** Bytes of external data over all tensors. */
  readonly totalBytes: number;
}

function toRange(data: ExternalTensorData, label: string): ExternalRange {
  return {
    path: data.file.path,
    dev: data.file.dev,
    ino: data.file.ino,
    offset: data.offset,
    lengthBytes: data.lengthBytes,
    location: data.info.location,
    label,
  };
}

/**
 * Resolves every external tensor of `model` against `modelDir`, and returns a
 * reader for them; undefined when the model has none.
 * @throws UnsafePathError, ModelFormatError, FileError for the first tensor that fails the checks.
 */
export async function externalDataReader(model: ModelProto, modelDir: string | undefined): Promise<ExternalTensorReader | undefined> {
  const pending: { tensor: TensorProto; label: string; where: Parameters<typeof resolveExternalData>[2] }[] = [];
  forEachTensorProto(model, (tensor, where) => {
    if (isExternalTensor(tensor)) pending.push({ tensor, label: describeTensor(tensor, where), where });
  });
  if (pending.length === 0 || modelDir === undefined) return undefined;
  const ranges = new Map<TensorProto, ExternalRange>();
  let totalBytes = 0;
  for (const { tensor, label, where } of pending) {
    const range = toRange(await resolveExternalData(modelDir, tensor, where), label);
    ranges.set(tensor, range);
    totalBytes += range.lengthBytes;
  }

  // One buffer for all reads: each tensor's floats are used before the next is read.
  let buffer = new Uint8Array(0);
  const read = (tensor: TensorProto): Uint8Array => {
    const range = ranges.get(tensor);
    if (range === undefined) throw new FileError(`${describeTensor(tensor)} is not an external tensor of the loaded model`);
    // Grown in whole float32 elements, so that float views of it are always aligned.
    if (buffer.length < range.lengthBytes) buffer = new Uint8Array(Math.ceil(range.lengthBytes / 8) * 8);
    const bytes = buffer.subarray(0, range.lengthBytes);
    readExternalRange(range, bytes);
    return bytes;
  };
  return { read, locate: (tensor) => ranges.get(tensor), totalBytes };
}
