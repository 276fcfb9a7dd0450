import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readExternalData } from '../../src/onnx/external-data.js';
import { loadModel, serializeModel } from '../../src/onnx/model-io.js';
import { tensorData } from '../../src/onnx/tensor.js';
import { externalFloatTensor, float32Bytes, floatValueInfo, graphLiteral, modelLiteral, nodeLiteral } from '../helpers/proto-literals.js';

describe('external data files larger than 2 GiB', () => {
  it('reads a tensor stored past the 2 GiB mark of a 3 GiB file without reading the file whole', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-external-large-'));
    try {
      // A sparse 3 GiB file (no disk blocks used) with 4 floats written at 2.5 GiB:
      // Node's readFile refuses files over 2 GiB, so only a positioned read can get them.
      const dataFile = path.join(dir, 'weights.bin');
      const offset = 2.5 * 2 ** 30;
      await writeFile(dataFile, '');
      await truncate(dataFile, 3 * 2 ** 30);
      const handle = await open(dataFile, 'r+');
      await handle.write(float32Bytes([1.5, -2, 3.25, 4]), 0, 16, offset);
      await handle.close();

      const model = modelLiteral(graphLiteral({
        name: 'main',
        initializer: [externalFloatTensor('W', [4], { location: 'weights.bin', offset: String(offset), length: '16' })],
        input: [floatValueInfo('X', [4])],
        output: [floatValueInfo('Y', [4])],
        node: [nodeLiteral('Add', ['X', 'W'], ['Y'])],
      }));
      const modelFile = path.join(dir, 'model.onnx');
      await writeFile(modelFile, serializeModel(model));

      const loaded = await loadModel(modelFile);
      const tensor = loaded.model.graph!.initializer[0]!;
      const raw = await readExternalData(tensor, loaded.dir);
      expect(raw.length).toBe(16);
      expect(Array.from(tensorData(tensor, { raw }) as Float32Array)).toEqual([1.5, -2, 3.25, 4]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
