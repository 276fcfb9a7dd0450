/**
 * The two models of the serve load benchmark, generated with seeded weights:
 * - tiny: four chained 512×512 MatMuls on x[batch, 512] (about 70 µs per
 *   inference on one 2-core machine);
 * - medium: a small conv net on image[batch, 3, 64, 64] (five 3×3
 *   convolutions up to 128 channels, ≥ 10 ms per inference there).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { randomNormalFloat32 } from '../fixtures/materialize-light.js';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../src/onnx/builder.js';
import { saveModel } from '../src/onnx/model-io.js';
import { createTensor } from '../src/onnx/tensor-create.js';
import { DataType, type ModelProto, type NodeProto, type TensorProto } from '../src/onnx/types.js';

/** Four [512, 512] MatMuls. */
export function tinyModel(): ModelProto {
  const size = 512;
  const initializers: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  for (let i = 0; i < 4; i++) {
    initializers.push(createTensor(`w${i}`, DataType.FLOAT, [size, size], randomNormalFloat32(size * size, Math.sqrt(1 / size), i + 1)));
    nodes.push(makeNode('MatMul', [i === 0 ? 'x' : `h${i}`, `w${i}`], [i === 3 ? 'y' : `h${i + 1}`]));
  }
  return makeModel({
    graph: makeGraph({
      name: 'tiny',
      nodes,
      inputs: [makeTensorValueInfo('x', DataType.FLOAT, ['batch', size])],
      outputs: [makeTensorValueInfo('y', DataType.FLOAT, ['batch', size])],
      initializers,
    }),
    opsets: { '': 13 },
  });
}

/** Conv3x3(3→32), Conv3x3(32→64), Conv3x3(64→128), 2 × Conv3x3(128→128), each with Relu; GlobalAveragePool, Flatten, Gemm(128→10). */
export function mediumModel(): ModelProto {
  const channels = [3, 32, 64, 128, 128, 128];
  const initializers: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  let previous = 'image';
  for (let i = 0; i < channels.length - 1; i++) {
    const inChannels = channels[i]!;
    const outChannels = channels[i + 1]!;
    initializers.push(createTensor(`conv${i}.w`, DataType.FLOAT, [outChannels, inChannels, 3, 3], randomNormalFloat32(outChannels * inChannels * 9, Math.sqrt(2 / (inChannels * 9)), 10 + i)));
    initializers.push(createTensor(`conv${i}.b`, DataType.FLOAT, [outChannels], new Float32Array(outChannels)));
    nodes.push(makeNode('Conv', [previous, `conv${i}.w`, `conv${i}.b`], [`c${i}`], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }));
    nodes.push(makeNode('Relu', [`c${i}`], [`r${i}`]));
    previous = `r${i}`;
  }
  initializers.push(createTensor('fc.w', DataType.FLOAT, [128, 10], randomNormalFloat32(1280, 0.1, 99)));
  initializers.push(createTensor('fc.b', DataType.FLOAT, [10], new Float32Array(10)));
  nodes.push(makeNode('GlobalAveragePool', [previous], ['pooled']));
  nodes.push(makeNode('Flatten', ['pooled'], ['flat']));
  nodes.push(makeNode('Gemm', ['flat', 'fc.w', 'fc.b'], ['logits']));
  return makeModel({
    graph: makeGraph({
      name: 'medium',
      nodes,
      inputs: [makeTensorValueInfo('image', DataType.FLOAT, ['batch', 3, 64, 64])],
      outputs: [makeTensorValueInfo('logits', DataType.FLOAT, ['batch', 10])],
      initializers,
    }),
    opsets: { '': 13 },
  });
}

/** Writes both models as a model repository (`<root>/tiny/1/model.onnx`, `<root>/medium/1/model.onnx`). */
export async function writeServeModels(root: string): Promise<{ tiny: string; medium: string }> {
  const files = { tiny: path.join(root, 'tiny', '1', 'model.onnx'), medium: path.join(root, 'medium', '1', 'model.onnx') };
  await mkdir(path.dirname(files.tiny), { recursive: true });
  await mkdir(path.dirname(files.medium), { recursive: true });
  await saveModel(tinyModel(), files.tiny, { force: true });
  await saveModel(mediumModel(), files.medium, { force: true });
  return files;
}
