/**
 * Verification in onnxruntime: metrics of a known perturbation, and the
 * node-by-node fallback when the quantized model does not run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../src/onnx/builder.js';
import { serializeModel } from '../../src/onnx/model-io.js';
import { createTensor } from '../../src/onnx/tensor.js';
import { DataType, type ModelProto } from '../../src/onnx/types.js';
import { quantizeModel, type QuantizeResult } from '../../src/passes/quantize/index.js';
import { convIntegerWeightTypes } from '../../src/verify/capabilities.js';
import { compareWithReference, quantizeWithFallback, runReference } from '../../src/verify/verify-model.js';
import { weight } from '../passes/quantize/helpers.js';

const F = DataType.FLOAT;

/** y = x · s with a constant s: the identity for s = 1. */
function scaled(factor: number): ModelProto {
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'scale',
      nodes: [makeNode('Mul', ['x', 's'], ['y'])],
      inputs: [makeTensorValueInfo('x', F, [4, 10])],
      outputs: [makeTensorValueInfo('y', F, [4, 10])],
      initializers: [createTensor('s', F, [], [factor])],
    }),
  });
}

describe('verification metrics in onnxruntime', () => {
  it('measures a known perturbation: outputs scaled by 1.1', async () => {
    const reference = await runReference(serializeModel(scaled(1)), { seed: 3 });
    const x = reference.feeds['x']!.data as Float32Array;
    const maxAbs = Math.max(...Array.from(x, Math.abs));
    const result = await compareWithReference(reference, serializeModel(scaled(1.1)));
    const [y] = result.outputs;
    // b = 1.1·a: same direction (cosine 1), ‖b − a‖ / ‖a‖ = 0.1, max |b − a| = 0.1·max |a|; argmax unchanged.
    expect(y!.cosine).toBeCloseTo(1, 6);
    expect(y!.relativeL2).toBeCloseTo(0.1, 5);
    expect(y!.maxAbsError).toBeCloseTo(Math.fround(Math.fround(1.1) * maxAbs) - maxAbs, 5);
    expect(y!.top1Agreement).toBe(1);
    expect(result.inputs).toEqual([{ name: 'x', dtype: 'float32', dims: [4, 10], random: true }]);
  });

  it('uses given feeds instead of random ones', async () => {
    const feeds = { x: { dtype: 'float32' as const, dims: [4, 10], data: new Float32Array(40).fill(2) } };
    const reference = await runReference(serializeModel(scaled(1)), { feeds });
    expect(Array.from(reference.outputs['y']!.data as Float32Array).every((v) => v === 2)).toBe(true);
    expect(reference.inputs[0]!.random).toBe(false);
  });

  it('reads inputs from a folder, and blames the files when the original cannot run on them', async () => {
    // y = a + b over two dynamic lengths: files of lengths 3 and 4 fit each input's shape but not each other.
    const add = makeModel({
      opsets: { '': 13 },
      graph: makeGraph({
        name: 'add',
        nodes: [makeNode('Add', ['a', 'b'], ['y'])],
        inputs: [makeTensorValueInfo('a', F, ['n']), makeTensorValueInfo('b', F, ['m'])],
        outputs: [makeTensorValueInfo('y', F, ['k'])],
      }),
    });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-verify-inputs-'));
    try {
      await writeFile(path.join(dir, 'a.json'), '[1, 2, 3]');
      await writeFile(path.join(dir, 'b.json'), '[10, 20, 30]');
      const reference = await runReference(serializeModel(add), { inputsDir: dir });
      expect(Array.from(reference.outputs['y']!.data as Float32Array)).toEqual([11, 22, 33]);
      expect(reference.inputs.map((input) => [input.name, input.random, input.file])).toEqual([
        ['a', false, path.join(dir, 'a.json')],
        ['b', false, path.join(dir, 'b.json')],
      ]);

      await writeFile(path.join(dir, 'b.json'), '[10, 20, 30, 40]');
      const error = await runReference(serializeModel(add), { inputsDir: dir }).catch((thrown: unknown) => thrown);
      expect(error).toMatchObject({ code: 'MLCTL_BAD_INPUT' });
      expect((error as Error).message).toMatch(new RegExp(`^the original model does not run on the inputs in '${dir}': `));
      // Not taken for an original that does not run at all: the job must stop, not skip verification.
      await expect(quantizeWithFallback(serializeModel(add), () => quantizeModel(add), { inputsDir: dir })).rejects.toMatchObject({ code: 'MLCTL_BAD_INPUT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** image → Conv(w1) → Relu → Conv(w2) → y: both Convs get ConvInteger. */
function twoConvs(): ModelProto {
  return makeModel({
    opsets: { '': 13 },
    graph: makeGraph({
      name: 'convs',
      nodes: [
        makeNode('Conv', ['image', 'w1'], ['c1'], { pads: [1, 1, 1, 1] }, { name: 'conv1' }),
        makeNode('Relu', ['c1'], ['r1'], {}, { name: 'relu' }),
        makeNode('Conv', ['r1', 'w2'], ['y'], { pads: [1, 1, 1, 1] }, { name: 'conv2' }),
      ],
      inputs: [makeTensorValueInfo('image', F, [1, 3, 8, 8])],
      outputs: [makeTensorValueInfo('y', F, [1, 4, 8, 8])],
      initializers: [weight('w1', [6, 3, 3, 3], 1), weight('w2', [4, 6, 3, 3], 2)],
    }),
  });
}

/**
 * Breaks the ConvInteger made from `broken` after quantizing: per-channel
 * weight zero points, which onnxruntime's ConvInteger refuses when it runs.
 */
function quantizeBreaking(model: ModelProto, broken: string, renameNodes = false): (forceFloat: readonly string[]) => QuantizeResult {
  return (forceFloat) => {
    const result = quantizeModel(model, { minElements: 0, convInteger: true, convIntegerWeightTypes: ['int8'], forceFloat });
    const graph = result.model.graph!;
    const nodes = graph.node.map((node) => {
      if (node.opType !== 'ConvInteger' || node.name !== `${broken}_quant`) return renameNodes ? { ...node, name: '' } : node;
      const weightName = node.input[1]!;
      const channels = Number(graph.initializer.find((t) => t.name === weightName)!.dims[0]);
      const zeroPoints = `${broken}_per_channel_zero_points`;
      graph.initializer.push(createTensor(zeroPoints, DataType.INT8, [channels], new Array<number>(channels).fill(0)));
      return { ...node, name: renameNodes ? '' : node.name, input: [node.input[0]!, node.input[1]!, node.input[2]!, zeroPoints] };
    });
    return { ...result, model: { ...result.model, graph: { ...graph, node: nodes } } };
  };
}

describe('quantizeWithFallback', () => {
  it('probes the weight types onnxruntime ConvInteger takes', async () => {
    const types = await convIntegerWeightTypes();
    expect(types).toContain('uint8');
  });

  it('leaves the node the runtime names in float and keeps the rest quantized', async () => {
    const model = twoConvs();
    const outcome = await quantizeWithFallback(serializeModel(model), quantizeBreaking(model, 'conv2'));
    expect(outcome.fallbacks.map((f) => [f.node, f.opType])).toEqual([['conv2', 'Conv']]);
    expect(outcome.fallbacks[0]!.reason).toMatch(/ConvInteger/);
    expect(outcome.result.report.nodes.map((n) => [n.node, n.action])).toEqual([['conv1', 'dynamic'], ['conv2', 'skipped']]);
    expect(outcome.verification!.worstCosine!).toBeGreaterThan(0.99);
  });

  it('finds the culprit by bisection when the message names no node it made', async () => {
    const model = twoConvs();
    const outcome = await quantizeWithFallback(serializeModel(model), quantizeBreaking(model, 'conv1', true));
    expect(outcome.fallbacks.map((f) => f.node)).toEqual(['conv1']);
    expect(outcome.result.report.nodes.map((n) => n.action)).toEqual(['skipped', 'dynamic']);
    expect(outcome.verification!.worstCosine!).toBeGreaterThan(0.99);
  });

  it('reports, without failing, when the original itself does not run', async () => {
    const model = scaled(1);
    const broken = serializeModel({ ...model, graph: { ...model.graph!, node: [makeNode('NoSuchOp', ['x'], ['y'])] } });
    const outcome = await quantizeWithFallback(broken, () => quantizeModel(model));
    expect(outcome.verification).toBeUndefined();
    expect(outcome.referenceError).toMatch(/NoSuchOp/);
  });
});
