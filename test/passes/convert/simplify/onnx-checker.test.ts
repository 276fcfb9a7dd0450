/**
 * What --shape, --simplify and --fp16 write passes ONNX's own
 * onnx.checker.check_model(full_check=True) (Debian's python3-onnx): the
 * PP-OCR models and Silero VAD after each step and after all of them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ortConstantEvaluator } from '../../../../src/convert-runtime/ort-evaluator.js';
import { loadModel, serializeModel } from '../../../../src/onnx/model-io.js';
import { convertToFloat16 } from '../../../../src/passes/convert/fp16/index.js';
import { setInputShapes } from '../../../../src/passes/convert/shapes/index.js';
import { simplifyModel } from '../../../../src/passes/convert/simplify/index.js';
import { describeIf, hasPythonOnnx, onnxCheckerFailures, python } from '../helpers/corpus.js';
import { ppOcrClsModel, ppOcrDetModel, ppOcrRecModel, sileroVadModel } from '../../../helpers/paths.js';

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-convert-checker-'));
});

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const models: [string, string, Record<string, number[]>][] = [
  ['det', ppOcrDetModel, { x: [1, 3, 64, 64] }],
  ['rec', ppOcrRecModel, { x: [1, 3, 48, 320] }],
  ['cls', ppOcrClsModel, { x: [1, 3, 48, 192] }],
  ['silero', sileroVadModel, { input: [1, 512], state: [2, 1, 128] }],
];

describeIf(hasPythonOnnx(), 'onnx.checker on converted models', `${python} cannot import onnx (install Debian's python3-onnx)`, () => {
  it('accepts shapes, simplify and fp16 results (full_check)', { timeout: 60_000 }, async () => {
    const evaluate = ortConstantEvaluator();
    const files: string[] = [];
    const write = async (name: string, bytes: Uint8Array): Promise<void> => {
      const file = path.join(dir, `${name}.onnx`);
      await writeFile(file, bytes);
      files.push(file);
    };
    for (const [name, file, shapes] of models) {
      const { model } = await loadModel(file);
      const shaped = setInputShapes(model, shapes).model;
      const simple = (await simplifyModel(model, { evaluate })).model;
      await write(`${name}.shapes`, serializeModel(shaped));
      await write(`${name}.simplify`, serializeModel(simple));
      await write(`${name}.fp16`, serializeModel(convertToFloat16(model).model));
      await write(`${name}.all`, serializeModel(convertToFloat16((await simplifyModel(shaped, { evaluate })).model, { keepIoTypes: true }).model));
    }
    expect(onnxCheckerFailures(files)).toEqual([]);
  });
});
