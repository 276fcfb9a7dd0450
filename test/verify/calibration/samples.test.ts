/**
 * Calibration samples from a folder: one file per sample (.pb, .npy, .json)
 * for a one-input model, one sub-folder per sample (ONNX test data set
 * layout) for several inputs; --calibration-limit; random samples; errors.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IoMeta } from '../../../src/runtime/types.js';
import { randomSamples, samplesFromDir } from '../../../src/verify/calibration/samples.js';
import { floatTensor } from '../../passes/quantize/static/static-helpers.js';
import { pbBytes, writeSamples } from './calibration-files.js';

let dir = '';
const image: IoMeta = { name: 'image', dtype: 'float32', shape: [null, 3, 4, 4] };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-samples-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('samplesFromDir', () => {
  for (const format of ['pb', 'npy', 'json'] as const) {
    it(`reads one ${format} file per sample, in name order, one at a time`, async () => {
      const folder = path.join(dir, format);
      const tensors = [1, 2, 3].map((seed) => floatTensor([1, 3, 4, 4], seed));
      await writeSamples(folder, tensors, format);
      const source = await samplesFromDir(folder, [image]);
      expect(source.count).toBe(3);
      expect(source.random).toBe(false);
      const second = await source.load(1);
      expect(second.image!.dims).toEqual([1, 3, 4, 4]);
      expect(Array.from(second.image!.data as Float32Array)).toEqual(Array.from(tensors[1]!.data as Float32Array));
    });
  }

  it('reads one sub-folder per sample for a model with several inputs; --calibration-limit takes the first ones', async () => {
    const folder = path.join(dir, 'sets');
    for (let i = 0; i < 3; i++) {
      await mkdir(path.join(folder, `test_data_set_${i}`), { recursive: true });
      await writeFile(path.join(folder, `test_data_set_${i}`, 'input_0.pb'), pbBytes(floatTensor([2, 5], i), 'a'));
      await writeFile(path.join(folder, `test_data_set_${i}`, 'input_1.pb'), pbBytes(floatTensor([2], 10 + i), 'b'));
    }
    const inputs: IoMeta[] = [{ name: 'a', dtype: 'float32', shape: [2, 5] }, { name: 'b', dtype: 'float32', shape: [2] }];
    const source = await samplesFromDir(folder, inputs, 2);
    expect(source.count).toBe(2);
    const feeds = await source.load(1);
    expect(Object.keys(feeds).sort()).toEqual(['a', 'b']);
    expect(Array.from(feeds.b!.data as Float32Array)).toEqual(Array.from(floatTensor([2], 11).data as Float32Array));
  });

  it('refuses an empty folder, loose files for several inputs, and a file that does not fit the input', async () => {
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    await expect(samplesFromDir(empty, [image])).rejects.toThrow(/holds no samples/);
    const loose = path.join(dir, 'loose');
    await writeSamples(loose, [floatTensor([2, 5], 1)], 'npy');
    await expect(samplesFromDir(loose, [image, { name: 'other', dtype: 'float32', shape: [1] }])).rejects.toThrow(/holds loose files, but the model has 2 inputs/);
    const source = await samplesFromDir(loose, [image]);
    await expect(source.load(0)).rejects.toThrow(/has shape \[2, 5\], but input 'image' takes \[\?, 3, 4, 4\]/);
    await expect(samplesFromDir(path.join(dir, 'missing'), [image])).rejects.toThrow(/cannot read the calibration folder/);
  });
});

describe('randomSamples', () => {
  it('is seeded per sample and says it is random', async () => {
    const source = randomSamples(2, [{ name: 'x', dtype: 'float32', shape: [2, 3] }], { seed: 5 });
    expect(source.random).toBe(true);
    expect(source.description).toBe('2 random samples (seed 5)');
    const [a, b, a2] = [await source.load(0), await source.load(1), await source.load(0)];
    expect(a.x!.data).toEqual(a2.x!.data);
    expect(a.x!.data).not.toEqual(b.x!.data);
  });
});
