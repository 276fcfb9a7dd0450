/**
 * Helpers for the convert-pass tests (simplify, fp16, shapes): small models
 * built by hand, seeded data, and running models in onnxruntime.
 */
import { expect } from 'vitest';
import { makeGraph, makeModel, type GraphSpec } from '../../../../src/onnx/builder.js';
import { forEachNode } from '../../../../src/onnx/graph.js';
import { serializeModel } from '../../../../src/onnx/model-io.js';
import { createTensor } from '../../../../src/onnx/tensor.js';
import { DataType, type ModelProto, type TensorProto } from '../../../../src/onnx/types.js';
import { createSession } from '../../../../src/runtime/onnxruntime.js';
import type { HostTensor } from '../../../../src/runtime/types.js';
import { feedAs, widenFloat16 } from '../../../../src/convert-runtime/host-tensors.js';
import { cosine } from '../../../helpers/metrics.js';
import { seeded } from '../../../helpers/seeded.js';
export { cosine, seeded };

const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A float32 initializer of seeded values. */
export function weight(name: string, dims: number[], seed: number, amplitude = 0.5): TensorProto {
  return createTensor(name, DataType.FLOAT, dims, seeded(count(dims), seed, amplitude));
}

/** A float32 host tensor of seeded values. */
export function input(dims: number[], seed: number, amplitude = 1): HostTensor {
  return { dtype: 'float32', dims, data: seeded(count(dims), seed, amplitude) };
}

/** A model of one graph at the given opset (default 13). */
export function model(spec: Omit<GraphSpec, 'name'>, opset = 13): ModelProto {
  return makeModel({ graph: makeGraph({ name: 'test', ...spec }), opsets: { '': opset } });
}

/**
 * Runs a model once; float32 feeds are narrowed to float16 where the model
 * takes float16, and float16 outputs are widened to float32.
 */
export async function run(m: ModelProto, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await createSession(serializeModel(m), { logLevel: 'fatal' });
  try {
    const given: Record<string, HostTensor> = {};
    for (const meta of session.inputs) if (feeds[meta.name] !== undefined) given[meta.name] = feedAs(feeds[meta.name]!, meta.dtype);
    const outputs = await session.run(given);
    return Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, widenFloat16(tensor)]));
  } finally {
    await session.release();
  }
}

/** Expects two float outputs to agree within |a − b| ≤ atol + rtol·|a|. */
export function expectClose(actual: HostTensor, expected: HostTensor, rtol = 1e-5, atol = 1e-6): void {
  expect(actual.dims).toEqual(expected.dims);
  const a = actual.data as Float32Array;
  const b = expected.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) - rtol * Math.abs(b[i]!));
  expect(worst).toBeLessThanOrEqual(atol);
}


/** Operator counts of every graph of a model. */
export function opCounts(m: ModelProto): Record<string, number> {
  const counts: Record<string, number> = {};
  forEachNode(m, (node) => {
    counts[node.opType ?? '?'] = (counts[node.opType ?? '?'] ?? 0) + 1;
  });
  return counts;
}
