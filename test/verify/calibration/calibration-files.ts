/**
 * Writing calibration samples as users have them: `.pb` TensorProto files
 * (ONNX test data sets), `.npy` arrays, JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { npyBytes } from '../../../fixtures/lib/npy-file.js';
import { encodeMessage } from '../../../src/onnx/codec.js';
import { createTensor } from '../../../src/onnx/tensor.js';
import { DataType } from '../../../src/onnx/types.js';
import type { HostTensor } from '../../../src/runtime/types.js';

/** A float32 tensor as a serialized TensorProto. */
export function pbBytes(tensor: HostTensor, name?: string): Uint8Array {
  const proto = createTensor(name ?? '', DataType.FLOAT, tensor.dims, tensor.data as Float32Array);
  return encodeMessage('TensorProto', name === undefined ? { ...proto, name: undefined } : proto);
}

/** Writes one file per sample into `dir` (`sample_<i>.<ext>`). */
export async function writeSamples(dir: string, samples: readonly HostTensor[], format: 'pb' | 'npy' | 'json'): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all(
    samples.map((tensor, i) => {
      const file = path.join(dir, `sample_${i}.${format}`);
      if (format === 'pb') return writeFile(file, pbBytes(tensor));
      if (format === 'npy') return writeFile(file, npyBytes(tensor));
      return writeFile(file, JSON.stringify({ dims: tensor.dims, data: Array.from(tensor.data as Float32Array) }));
    }),
  );
}
