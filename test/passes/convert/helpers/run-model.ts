/**
 * Test helpers for the opset converter: run a ModelProto in onnxruntime
 * (through mlctl's runtime adapter), turn ONNX test-data tensors into feeds,
 * and compare outputs with numpy's `assert_allclose` rule.
 */
import { serializeModel } from '../../../../src/onnx/model-io.js';
import { decodeFloat16 } from '../../../../src/onnx/float-formats.js';
import { tensorData } from '../../../../src/onnx/tensor.js';
import { DataType, type ModelProto, type TensorProto } from '../../../../src/onnx/types.js';
import { createSession } from '../../../../src/runtime/onnxruntime.js';
import type { HostTensor, TensorData, TensorDtype } from '../../../../src/runtime/types.js';

const dtypeByDataType: Partial<Record<number, TensorDtype>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.FLOAT16]: 'float16',
  [DataType.INT8]: 'int8',
  [DataType.UINT8]: 'uint8',
  [DataType.INT16]: 'int16',
  [DataType.UINT16]: 'uint16',
  [DataType.INT32]: 'int32',
  [DataType.UINT32]: 'uint32',
  [DataType.INT64]: 'int64',
  [DataType.UINT64]: 'uint64',
  [DataType.BOOL]: 'bool',
  [DataType.STRING]: 'string',
};

/** A TensorProto as a host tensor for feeding, or undefined for types the runtime adapter does not take. */
export function tensorToHost(tensor: TensorProto): HostTensor | undefined {
  const dtype = dtypeByDataType[tensor.dataType ?? 0];
  if (dtype === undefined) return undefined;
  const values = tensorData(tensor);
  const data: TensorData = dtype === 'string'
    ? (values as Uint8Array[]).map((bytes) => new TextDecoder().decode(bytes))
    : (values as Exclude<TensorData, string[]>).slice() as TensorData;
  return { dtype, dims: tensor.dims.map(Number), data };
}

/** Runs `model` once with `feeds` in onnxruntime (CPU); the session is always released. */
export async function runModel(model: ModelProto | Uint8Array, feeds: Record<string, HostTensor>, label = 'model'): Promise<Record<string, HostTensor>> {
  const bytes = model instanceof Uint8Array ? model : serializeModel(model);
  const session = await createSession(bytes, { label, graphOptimizationLevel: 'disabled', logLevel: 'fatal' });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function asNumbers(tensor: HostTensor): number[] | string[] {
  if (tensor.dtype === 'string') return tensor.data as string[];
  if (tensor.dtype === 'float16') return Array.from(tensor.data as Uint16Array, decodeFloat16);
  return Array.from(tensor.data as ArrayLike<number | bigint>, Number);
}

/**
 * Why `actual` differs from `expected` beyond |a - e| <= atol + rtol * |e|
 * (NaN equal to NaN, same dims and dtype), or undefined when it does not.
 */
export function tensorMismatch(actual: HostTensor, expected: HostTensor, rtol = 1e-3, atol = 1e-7): string | undefined {
  if (actual.dtype !== expected.dtype) return `dtype ${actual.dtype} ≠ ${expected.dtype}`;
  if (actual.dims.join(',') !== expected.dims.join(',')) return `dims [${actual.dims.join(', ')}] ≠ [${expected.dims.join(', ')}]`;
  const a = asNumbers(actual);
  const e = asNumbers(expected);
  for (let i = 0; i < e.length; i++) {
    const x = a[i];
    const y = e[i];
    if (typeof x === 'string' || typeof y === 'string') {
      if (x !== y) return `element ${i}: '${String(x)}' ≠ '${String(y)}'`;
      continue;
    }
    if (x === undefined || y === undefined) return `element ${i} missing`;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return `element ${i}: ${x} ≠ ${y}`;
  }
  return undefined;
}

/** Compares every output of two runs; returns the first difference found. */
export function outputsMismatch(
  actual: Record<string, HostTensor>,
  expected: Record<string, HostTensor>,
  rtol = 1e-3,
  atol = 1e-7,
): string | undefined {
  for (const [name, tensor] of Object.entries(expected)) {
    const other = actual[name];
    if (other === undefined) return `output '${name}' missing`;
    const why = tensorMismatch(other, tensor, rtol, atol);
    if (why !== undefined) return `output '${name}': ${why}`;
  }
  return undefined;
}
