/**
 * A synchronous reader of external tensor data for the quantize pass (which
 * is a pure, synchronous function): every external tensor's file and byte
 * range is resolved and checked up front, then each tensor is read with one
 * positioned read when the pass asks for it, so only one float weight needs
 * to be in memory at a time.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { FileError } from '../common/errors.js';
import { isExternalTensor, resolveExternalData, type ExternalTensorData } from '../onnx/external-data.js';
import { describeTensor, forEachTensorProto } from '../onnx/tensor-walk.js';
import type { ModelProto, TensorProto } from '../onnx/types.js';
import type { ExternalDataReader } from '../passes/quantize/index.js';

/**
 * Resolves every external tensor of `model` against `modelDir`, and returns a
 * reader for them; undefined when the model has none.
 * @throws UnsafePathError, ModelFormatError, FileError for the first tensor that fails the checks.
 */
export async function externalDataReader(model: ModelProto, modelDir: string | undefined): Promise<ExternalDataReader | undefined> {
  const pending: { tensor: TensorProto; label: string; where: Parameters<typeof resolveExternalData>[2] }[] = [];
  forEachTensorProto(model, (tensor, where) => {
    if (isExternalTensor(tensor)) pending.push({ tensor, label: describeTensor(tensor, where), where });
  });
  if (pending.length === 0 || modelDir === undefined) return undefined;
  const resolved = new Map<TensorProto, { data: ExternalTensorData; label: string }>();
  for (const { tensor, label, where } of pending) resolved.set(tensor, { data: await resolveExternalData(modelDir, tensor, where), label });

  return (tensor: TensorProto): Uint8Array => {
    const entry = resolved.get(tensor);
    if (entry === undefined) throw new FileError(`${describeTensor(tensor)} is not an external tensor of the loaded model`);
    const { data, label } = entry;
    const bytes = new Uint8Array(data.lengthBytes);
    let fd: number | undefined;
    try {
      fd = openSync(data.file.path, 'r');
      let done = 0;
      while (done < bytes.length) {
        const read = readSync(fd, bytes, done, bytes.length - done, data.offset + done);
        if (read === 0) throw new Error(`the file ended after ${done} of ${bytes.length} bytes`);
        done += read;
      }
    } catch (error) {
      throw new FileError(`cannot read the external data of ${label} from '${data.info.location}': ${(error as Error).message}`, { cause: error });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return bytes;
  };
}
