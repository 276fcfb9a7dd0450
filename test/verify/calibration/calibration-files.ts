/**
 * Writing calibration samples as users have them: `.pb` TensorProto files
 * (ONNX test data sets), `.npy` arrays, JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeMessage } from '../../../src/onnx/codec.js';
import { createTensor } from '../../../src/onnx/tensor.js';
import { DataType } from '../../../src/onnx/types.js';
import type { HostTensor } from '../../../src/runtime/types.js';

/** A float32 tensor as a serialized TensorProto. */
export function pbBytes(tensor: HostTensor, name?: string): Uint8Array {
  const proto = createTensor(name ?? '', DataType.FLOAT, tensor.dims, tensor.data as Float32Array);
  return encodeMessage('TensorProto', name === undefined ? { ...proto, name: undefined } : proto);
}

/** A float32 tensor as a version 1 `.npy` file. */
export function npyBytes(tensor: HostTensor): Uint8Array {
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const data = tensor.data as Float32Array;
  const bytes = new Uint8Array(10 + header.length + data.byteLength);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return bytes;
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
