/**
 * Magnitude pruning: exact sparsity per tensor and globally, what it leaves
 * dense and why, and sparse storage that shrinks the file and loads in
 * onnxruntime with the same outputs as the dense pruned model.
 */
import { describe, expect, it } from 'vitest';
import { serializeModel } from '../../../src/onnx/model-io.js';
import { tensorData } from '../../../src/onnx/tensor.js';
import type { ModelProto } from '../../../src/onnx/types.js';
import { densifySparseInitializers, pruneModel, targetCount } from '../../../src/passes/prune/index.js';
import { measureAgreement } from '../../../src/verify/prune-agreement.js';
import { runSamples } from '../../../src/verify/prune-run.js';
import { floatInput, Net, toConstantNodes } from './helpers.js';

/** x[2,64] → MatMul 64×256 + b → Relu → MatMul 256×256 + b → Relu → Gemm(transB) 10×256 + b. */
function mlp(): ModelProto {
  const net = new Net();
  let h = net.relu(net.node('Add', [net.node('MatMul', ['x', net.tensor('w1', [64, 256])], {}, 1, 'fc1'), net.tensor('b1', [256])]));
  h = net.relu(net.node('Add', [net.node('MatMul', [h, net.tensor('w2', [256, 256])], {}, 1, 'fc2'), net.tensor('b2', [256])]));
  const y = net.node('Gemm', [h, net.tensor('w3', [10, 256]), net.tensor('b3', [10])], { transB: 1 }, 1, 'fc3');
  return net.model([floatInput('x', [2, 64])], [y]);
}

function zerosOf(model: ModelProto, name: string): number {
  const tensor = model.graph!.initializer.find((t) => t.name === name)!;
  return (tensorData(tensor) as Float32Array).reduce((count, v) => count + (v === 0 ? 1 : 0), 0);
}

async function outputsOf(model: ModelProto) {
  return (await runSamples(model, { samples: 2, seed: 5, measureShapes: false, label: 'model' })).outputs;
}

describe('magnitude pruning reaches the exact sparsity', () => {
  for (const sparsity of [0.5, 0.9]) {
    it(`${sparsity * 100}% per layer: each weight has exactly round(s·n) zeros; biases stay dense`, () => {
      const model = mlp();
      const { model: pruned, report } = pruneModel(model, { sparsity, minElements: 0 });
      expect(report.tensors.map((t) => t.name)).toEqual(['w1', 'w2', 'w3']);
      for (const tensor of report.tensors) {
        expect(zerosOf(pruned, tensor.name), tensor.name).toBe(targetCount(sparsity, tensor.elements));
        expect(tensor.zerosAfter).toBe(targetCount(sparsity, tensor.elements));
      }
      for (const bias of ['b1', 'b2', 'b3']) expect(zerosOf(pruned, bias)).toBe(0);
    });

    it(`${sparsity * 100}% global: all selected weights together have exactly round(s·N) zeros`, () => {
      const { model: pruned, report } = pruneModel(mlp(), { sparsity, scope: 'global', minElements: 0 });
      const total = report.tensors.reduce((sum, t) => sum + t.elements, 0);
      const zeros = ['w1', 'w2', 'w3'].reduce((sum, name) => sum + zerosOf(pruned, name), 0);
      expect(zeros).toBe(targetCount(sparsity, total));
      expect(report.nonzeroParametersAfter).toBe(report.nonzeroParametersBefore - zeros);
    });
  }

  it('is exact when many weights tie at the threshold', () => {
    const net = new Net();
    const y = net.node('MatMul', ['x', net.tensor('w', [64, 64], { fill: 0.25 })], {}, 1, 'fc');
    const { model, report } = pruneModel(net.model([floatInput('x', [1, 64])], [y]), { sparsity: 0.3, minElements: 0 });
    expect(zerosOf(model, 'w')).toBe(targetCount(0.3, 4096));
    expect(report.tensors[0]!.sparsityAfter).toBeCloseTo(1229 / 4096, 10);
  });

  it('reports what it leaves dense: small weights, excluded nodes, computed weights', () => {
    const net = new Net();
    const a = net.node('MatMul', ['x', net.tensor('small', [64, 8])], {}, 1, 'small_fc');
    const b = net.node('MatMul', ['x', net.tensor('kept', [64, 64])], {}, 1, 'excluded_fc');
    const c = net.node('MatMul', [b, 'runtime_w'], {}, 1, 'dynamic_fc');
    const model = net.model([floatInput('x', [1, 64]), floatInput('runtime_w', [64, 4])], [a, c]);
    const { report } = pruneModel(model, { sparsity: 0.5, minElements: 1000, exclude: ['excluded_fc'] });
    expect(report.tensors).toEqual([]);
    expect(report.skipped).toEqual([
      { node: 'small_fc', tensor: 'small', reason: '512 elements, below --min-elements 1000' },
      { node: 'excluded_fc', tensor: 'kept', reason: 'excluded by --exclude' },
      { node: 'dynamic_fc', tensor: 'runtime_w', reason: 'the weight is computed at run time, not a constant' },
    ]);
  });

  it('prunes Conv weights and Constant-node weights', async () => {
    const net = new Net();
    const c1 = net.relu(net.conv('x', { name: 'c1', in: 3, out: 16 }));
    const y = net.conv(c1, { name: 'c2', in: 16, out: 8 });
    const model = toConstantNodes(net.model([floatInput('x', [1, 3, 8, 8])], [y]), ['c2.w']);
    const { model: pruned, report } = pruneModel(model, { sparsity: 0.5, minElements: 0 });
    expect(report.tensors.map((t) => [t.name, t.zerosAfter])).toEqual([['c1.w', 216], ['c2.w', 576]]);
    const constant = pruned.graph!.node.find((n) => n.output[0] === 'c2.w')!.attribute[0]!.t!;
    expect((tensorData(constant) as Float32Array).filter((v) => v === 0).length).toBe(576);
    expect((await outputsOf(pruned))[0]!['c2.out']!.dims).toEqual([1, 8, 8, 8]);
  });
});

describe('--sparse-storage', () => {
  it('at 90% makes the file at least 3× smaller and gives outputs identical to the dense pruned model', async () => {
    const model = mlp();
    const dense = pruneModel(model, { sparsity: 0.9, minElements: 0 });
    const sparse = pruneModel(model, { sparsity: 0.9, minElements: 0, sparseStorage: true });
    expect(sparse.report.tensors.every((t) => t.storage === 'sparse')).toBe(true);
    const graph = sparse.model.graph!;
    const constants = graph.node.filter((n) => n.opType === 'Constant');
    expect(constants.map((n) => [n.output[0], n.attribute.map((a) => a.name)])).toEqual([['w1', ['sparse_value']], ['w2', ['sparse_value']], ['w3', ['sparse_value']]]);
    expect(graph.initializer.map((t) => t.name)).toEqual(['b1', 'b2', 'b3']);
    expect(graph.input.map((i) => i.name)).toEqual(['x']);
    for (const node of constants) {
      const tensor = node.attribute[0]!.sparseTensor!;
      const indices = tensorData(tensor.indices!) as BigInt64Array;
      expect(tensor.indices!.dataType).toBe(7);
      expect(tensor.indices!.dims).toEqual([BigInt(indices.length)]);
      expect(indices.every((value, i) => i === 0 || value > indices[i - 1]!)).toBe(true);
    }
    expect(sparse.report.nonzeroParametersAfter).toBe(dense.report.nonzeroParametersAfter);
    expect(sparse.report.parametersAfter).toBe(dense.report.parametersAfter);
    const denseBytes = serializeModel(dense.model).length;
    const sparseBytes = serializeModel(sparse.model).length;
    expect(denseBytes / sparseBytes).toBeGreaterThanOrEqual(3);
    const [denseOut, sparseOut] = [await outputsOf(dense.model), await outputsOf(sparse.model)];
    expect(measureAgreement(denseOut, sparseOut).maxAbsError).toBe(0);
  });

  it('densifySparseInitializers gives back exactly the dense pruned weights', () => {
    const dense = pruneModel(mlp(), { sparsity: 0.9, minElements: 0 }).model;
    const restored = densifySparseInitializers(pruneModel(mlp(), { sparsity: 0.9, minElements: 0, sparseStorage: true }).model);
    expect(restored.graph!.node.filter((n) => n.attribute.some((a) => a.name === 'sparse_value'))).toEqual([]);
    for (const name of ['w1', 'w2', 'w3']) {
      const constant = restored.graph!.node.find((n) => n.output[0] === name)!.attribute[0]!.t!;
      const initializer = dense.graph!.initializer.find((t) => t.name === name)!;
      expect(Array.from(tensorData(constant) as Float32Array), name).toEqual(Array.from(tensorData(initializer) as Float32Array));
    }
  });

  it('keeps a tensor dense when sparse would not be smaller, and says so', () => {
    const { report } = pruneModel(mlp(), { sparsity: 0.5, minElements: 0, sparseStorage: true });
    expect(report.tensors.every((t) => t.storage === 'dense')).toBe(true);
    expect(report.skipped[0]!.reason).toMatch(/^kept dense: its \d+ non-zeros would take \d+ bytes sparse, not less than \d+ dense$/);
  });

  it('below opset 11 uses sparse initializers, raising an IR 3 model to IR 6 and keeping its initializers constant', async () => {
    const net = new Net();
    const y = net.node('Gemm', ['x', net.tensor('w', [16, 64]), net.tensor('b', [16])], { transB: 1 }, 1, 'fc');
    const inputs = [floatInput('x', [1, 64]), floatInput('w', [16, 64]), floatInput('b', [16])];
    const model = net.model(inputs, [y], { opset: 9, irVersion: 3 });
    const { model: pruned, report } = pruneModel(model, { sparsity: 0.9, minElements: 0, sparseStorage: true });
    expect(pruned.irVersion).toBe(6n);
    expect(pruned.graph!.sparseInitializer.map((t) => t.values?.name)).toEqual(['w']);
    expect(pruned.graph!.input.map((i) => i.name)).toEqual(['x']);
    expect(report.notes.join('\n')).toMatch(/IR version raised from 3 to 6/);
    const densePruned = pruneModel(model, { sparsity: 0.9, minElements: 0 }).model;
    expect(measureAgreement(await outputsOf(densePruned), await outputsOf(pruned)).maxAbsError).toBe(0);
  });

  it('stores a Constant-node weight as that Constant\'s sparse_value', async () => {
    const net = new Net();
    const y = net.node('MatMul', ['x', net.tensor('w', [64, 64])], {}, 1, 'fc');
    const model = toConstantNodes(net.model([floatInput('x', [1, 64])], [y]), ['w']);
    const { model: pruned } = pruneModel(model, { sparsity: 0.95, minElements: 0, sparseStorage: true });
    expect(pruned.graph!.node.map((n) => `${n.opType}:${n.name ?? ''}`)).toEqual(['Constant:w.const', 'MatMul:fc']);
    expect(pruned.graph!.node[0]!.attribute[0]!.sparseTensor!.values!.dims).toEqual([BigInt(4096 - targetCount(0.95, 4096))]);
    const again = pruneModel(pruned, { sparsity: 0.95, minElements: 0 });
    expect(again.report.skipped[0]!.reason).toBe('the weight is already stored sparse');
    const densePruned = pruneModel(model, { sparsity: 0.95, minElements: 0 }).model;
    expect(measureAgreement(await outputsOf(densePruned), await outputsOf(pruned)).maxAbsError).toBe(0);
  });
});
