/**
 * What prune writes passes ONNX's own checker (Debian's python3-onnx,
 * ONNX 1.12): channel-pruned models and sparse storage as Constant
 * sparse_value pass `check_model(full_check=True)`; sparse initializers
 * (opsets before 11) pass the structural check, which verifies their
 * strictly increasing int64 indices, but not the full one, whose type
 * inference does not let a sparse tensor feed a dense operator (onnxruntime
 * densifies it when loading). Skips when that Python cannot import onnx.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, serializeModel } from '../../../src/onnx/model-io.js';
import type { ModelProto } from '../../../src/onnx/types.js';
import { pruneModel } from '../../../src/passes/prune/index.js';
import { runSamples } from '../../../src/verify/prune-run.js';
import { ppOcrDetModel } from '../../helpers/paths.js';
import { floatInput, Net } from './helpers.js';

const python = '/usr/bin/python3';
const hasOnnx = existsSync(python) && spawnSync(python, ['-c', 'import onnx'], { stdio: 'ignore', timeout: 60_000 }).status === 0;

const checkScript = `
import sys, onnx
full = sys.argv[1] == 'full'
for path in sys.argv[2:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=full)
    except Exception as error:
        print(path + ': ' + str(error).replace('\\n', ' ')[:400])
`;

/** The files the checker refuses, with its message. */
function checkerFailures(files: readonly string[], full: boolean): string[] {
  const result = spawnSync(python, ['-c', checkScript, full ? 'full' : 'basic', ...files], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${python} failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '');
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-prune-checker-'));
});
afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function write(name: string, model: ModelProto): Promise<string> {
  const file = path.join(dir, `${name}.onnx`);
  await writeFile(file, serializeModel(model));
  return file;
}

/** A residual network with a Concat, a depthwise Conv and a Flatten → Gemm head, opset `opset`. */
function network(opset: number, irVersion?: number): ModelProto {
  const net = new Net();
  const r = net.relu(net.conv('x', { name: 'c0', in: 3, out: 16 }));
  const branch = net.relu(net.bn(net.conv(r, { name: 'c1', in: 16, out: 16 }), 16));
  const sum = net.relu(net.node('Add', [r, net.conv(branch, { name: 'c2', in: 16, out: 16 })]));
  const dw = net.relu(net.conv(sum, { name: 'dw', in: 16, out: 16, group: 16 }));
  const joined = net.node('Concat', [dw, net.relu(net.conv(sum, { name: 'c3', in: 16, out: 8, stride: 1 }))], { axis: 1 });
  const pooled = net.node('MaxPool', [joined], { kernel_shape: [2, 2], strides: [2, 2] });
  const flat = net.node('Flatten', [pooled], { axis: 1 });
  const y = net.node('Gemm', [flat, net.tensor('fc.w', [10, 24 * 16]), net.tensor('fc.b', [10])], { transB: 1 }, 1, 'fc');
  const inputs = [floatInput('x', [1, 3, 8, 8])];
  if (irVersion !== undefined && irVersion < 4) inputs.push(...net.initializers.map((t) => floatInput(t.name ?? '', t.dims.map(Number))));
  return net.model(inputs, [floatInput(y, [1, 10])], { opset, ...(irVersion === undefined ? {} : { irVersion }) });
}

async function channelPruned(model: ModelProto, shapeOverrides?: Record<string, number[]>): Promise<ModelProto> {
  const reference = await runSamples(model, { samples: 1, seed: 0, measureShapes: true, label: 'model', ...(shapeOverrides === undefined ? {} : { shapeOverrides }) });
  const { model: pruned, report } = pruneModel(model, { method: 'channels', sparsity: 0.3, valueShapes: reference.shapes });
  expect(report.parametersAfter).toBeLessThan(report.parametersBefore);
  return pruned;
}

if (!hasOnnx && process.env.MLCTL_REQUIRE_CORPUS === '1') {
  throw new Error(`${python} cannot import onnx (Debian package python3-onnx), which MLCTL_REQUIRE_CORPUS=1 requires`);
}

(hasOnnx ? describe : describe.skip)(`onnx.checker on pruned models (${python} with onnx)`, () => {
  it('accepts channel-pruned models and Constant sparse_value storage (full check)', async () => {
    const files = [
      await write('channels', await channelPruned(network(13))),
      await write('sparse-constant', pruneModel(network(13), { sparsity: 0.9, minElements: 0, sparseStorage: true }).model),
    ];
    if (existsSync(ppOcrDetModel)) {
      const { model } = await loadModel(ppOcrDetModel);
      files.push(await write('det-channels', await channelPruned(model, { x: [1, 3, 64, 64] })));
      files.push(await write('det-sparse', pruneModel(model, { sparsity: 0.9, sparseStorage: true }).model));
    }
    expect(checkerFailures(files, true)).toEqual([]);
  });

  it('accepts sparse initializers of an opset 9 / IR 3 model (structural check)', async () => {
    const { model, report } = pruneModel(network(9, 3), { sparsity: 0.9, minElements: 0, sparseStorage: true });
    expect(model.graph!.sparseInitializer.length).toBeGreaterThan(0);
    expect(report.notes.join(' ')).toMatch(/onnx.checker's full check \(type inference\) does not accept them/);
    expect(checkerFailures([await write('sparse-initializer', model)], false)).toEqual([]);
  });
});
