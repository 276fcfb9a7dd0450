/**
 * Helpers for the static quantization tests: small models built with the
 * builder (a residual block with Add, a Concat of two branches), ranges
 * measured by running a model with every tensor exposed (a reference
 * independent of the calibration module), and the op types of the graph
 * onnxruntime optimizes a model into.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { attrInt, makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../../../src/onnx/builder.js';
import { UniqueNameGenerator } from '../../../../src/onnx/graph.js';
import { loadModel, serializeModel } from '../../../../src/onnx/model-io.js';
import { createTensor } from '../../../../src/onnx/tensor.js';
import { DataType, type ModelProto } from '../../../../src/onnx/types.js';
import type { TensorRange } from '../../../../src/passes/quantize/static/index.js';
import { createSession } from '../../../../src/runtime/onnxruntime.js';
import { randomInputs } from '../../../../src/runtime/random-inputs.js';
import type { HostTensor } from '../../../../src/runtime/types.js';
import { seeded, weight } from '../helpers.js';

const F = DataType.FLOAT;

/** x[1,4,8,8] → Conv → Relu → Conv → Add(x) → Relu → GlobalAveragePool → Flatten → Gemm(transB) → logits[1,5]. */
export function residualModel(): ModelProto {
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'residual',
      nodes: [
        makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], { pads: [1, 1, 1, 1] }, { name: 'conv1' }),
        makeNode('Relu', ['c1'], ['r1'], {}, { name: 'relu1' }),
        makeNode('Conv', ['r1', 'w2', 'b2'], ['c2'], { pads: [1, 1, 1, 1] }, { name: 'conv2' }),
        makeNode('Add', ['c2', 'x'], ['sum'], {}, { name: 'add' }),
        makeNode('Relu', ['sum'], ['r2'], {}, { name: 'relu2' }),
        makeNode('GlobalAveragePool', ['r2'], ['gap'], {}, { name: 'gap' }),
        makeNode('Flatten', ['gap'], ['flat'], { axis: 1 }, { name: 'flatten' }),
        makeNode('Gemm', ['flat', 'fc', 'fcb'], ['logits'], { transB: attrInt(1) }, { name: 'fc' }),
      ],
      inputs: [makeTensorValueInfo('x', F, [1, 4, 8, 8])],
      outputs: [makeTensorValueInfo('logits', F, [1, 5])],
      initializers: [
        weight('w1', [4, 4, 3, 3], 11, 0.4),
        weight('b1', [4], 12, 0.1),
        weight('w2', [4, 4, 3, 3], 13, 0.4),
        weight('b2', [4], 14, 0.1),
        weight('fc', [5, 4], 15, 0.8),
        weight('fcb', [5], 16, 0.1),
      ],
    }),
  });
}

/** x[1,3,8,8] → two Conv+Relu branches → Concat → Conv → MaxPool → Reshape → MatMul → y[1,6]. */
export function concatModel(): ModelProto {
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'concat',
      nodes: [
        makeNode('Conv', ['x', 'wa'], ['a'], {}, { name: 'conv_a' }),
        makeNode('Relu', ['a'], ['ra'], {}, { name: 'relu_a' }),
        makeNode('Conv', ['x', 'wb'], ['b'], { pads: [1, 1, 1, 1] }, { name: 'conv_b' }),
        makeNode('Relu', ['b'], ['rb'], {}, { name: 'relu_b' }),
        makeNode('Concat', ['ra', 'rb'], ['cat'], { axis: 1 }, { name: 'concat' }),
        makeNode('Conv', ['cat', 'wc', 'bc'], ['c'], {}, { name: 'conv_c' }),
        makeNode('MaxPool', ['c'], ['pool'], { kernel_shape: [8, 8] }, { name: 'pool' }),
        makeNode('Reshape', ['pool', 'shape'], ['flat'], {}, { name: 'reshape' }),
        makeNode('MatMul', ['flat', 'wd'], ['y'], {}, { name: 'matmul' }),
      ],
      inputs: [makeTensorValueInfo('x', F, [1, 3, 8, 8])],
      outputs: [makeTensorValueInfo('y', F, [1, 6])],
      initializers: [
        weight('wa', [4, 3, 1, 1], 21, 0.6),
        weight('wb', [4, 3, 3, 3], 22, 0.4),
        weight('wc', [8, 8, 1, 1], 23, 0.5),
        weight('bc', [8], 24, 0.1),
        createTensor('shape', DataType.INT64, [2], [1n, 8n]),
        weight('wd', [8, 6], 25, 0.5),
      ],
    }),
  });
}

/** Seeded feeds for every input of `model` (dynamic dims 2). */
export async function feedsFor(model: ModelProto, seed: number): Promise<Record<string, HostTensor>> {
  const session = await createSession(serializeModel(model), { logLevel: 'fatal' });
  try {
    return randomInputs(session.inputs, { seed, defaultDim: 2 });
  } finally {
    await session.release();
  }
}

/**
 * Min/max of every float tensor of `model` (graph inputs and node outputs)
 * over `samples`, measured by exposing all of them at once.
 */
export async function directRanges(model: ModelProto, samples: readonly Record<string, HostTensor>[]): Promise<Map<string, TensorRange>> {
  const graph = model.graph!;
  const names = graph.node.flatMap((n) => n.output).filter((n) => n !== '' && !graph.output.some((o) => o.name === n));
  const exposed = { ...model, graph: { ...graph, output: [...graph.output, ...names.map((name) => ({ name, metadataProps: [] }))] } };
  const session = await createSession(serializeModel(exposed), { logLevel: 'fatal' });
  const ranges = new Map<string, TensorRange>();
  const observe = (name: string, tensor: HostTensor): void => {
    if (tensor.dtype !== 'float32') return;
    let min = Infinity;
    let max = -Infinity;
    for (const v of tensor.data as Float32Array) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const previous = ranges.get(name);
    ranges.set(name, previous === undefined ? { min, max } : { min: Math.min(previous.min, min), max: Math.max(previous.max, max) });
  };
  try {
    for (const feeds of samples) {
      for (const [name, tensor] of Object.entries(feeds)) observe(name, tensor);
      const outputs = await session.run(feeds);
      for (const name of names) observe(name, outputs[name]!);
    }
  } finally {
    await session.release();
  }
  return ranges;
}

/** The op types (with domain when not the default) of the graph onnxruntime optimizes `model` into, with counts. */
export async function optimizedOpTypes(model: ModelProto): Promise<Record<string, number>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-static-'));
  try {
    const file = path.join(dir, 'optimized.onnx');
    const session = await createSession(serializeModel(model), { optimizedModelPath: file, logLevel: 'fatal' });
    await session.release();
    const { model: optimized } = await loadModel(file);
    const counts: Record<string, number> = {};
    for (const node of optimized.graph!.node) {
      const key = node.opType ?? '';
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A float32 tensor of seeded values. */
export function floatTensor(dims: number[], seed: number, amplitude = 1): HostTensor {
  return { dtype: 'float32', dims, data: seeded(dims.reduce((a, b) => a * b, 1), seed, amplitude) };
}

/**
 * A synthetic page for a text detector: light background and lines of dark
 * strokes (shifted by `offset`), normalized with ImageNet mean and std as
 * PP-OCR's preprocessing does.
 */
export function textPage(height: number, width: number, offset = 0): HostTensor {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const data = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const row = y + offset;
        const line = Math.floor(row / 20);
        const ink = row % 20 > 6 && row % 20 < 14 && x > 6 + line * 5 && x < width - 6 && ((x + offset) >> 2) % 3 !== 0;
        data[(c * height + y) * width + x] = ((ink ? 0.1 : 0.95) - mean[c]!) / std[c]!;
      }
    }
  }
  return { dtype: 'float32', dims: [1, 3, height, width], data };
}

/** A `newName` for the graph rewrites that avoids every name of `model`, as prepareForStatic's does. */
export function freshNames(model: ModelProto): (base: string) => string {
  const names = UniqueNameGenerator.fromModel(model);
  return (base) => names.next(base);
}
