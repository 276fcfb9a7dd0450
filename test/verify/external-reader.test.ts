/**
 * The synchronous external-data reader of the quantize job: exact bytes, one
 * reused buffer, and no reading of a file swapped or cut after its check.
 */
import { copyFile, mkdir, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExternalData } from '../../src/onnx/external-data.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { externalDataReader } from '../../src/verify/external-reader.js';
import { repoRoot } from '../helpers/paths.js';

let tempDir = '';

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-external-reader-'));
});

afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

async function copyFixture(name: string): Promise<string> {
  const dir = path.join(tempDir, name);
  await mkdir(dir);
  for (const file of ['external-data.onnx', 'external-data.bin']) await copyFile(path.join(repoRoot, 'fixtures/models', file), path.join(dir, file));
  return path.join(dir, 'external-data.onnx');
}

describe('externalDataReader', () => {
  it('reads each tensor exactly, into one reused buffer, and locates it for other threads', async () => {
    const file = await copyFixture('exact');
    const { model, dir } = await loadModel(file);
    const reader = (await externalDataReader(model, dir))!;
    const external = model.graph!.initializer.filter((tensor) => tensor.externalData.length > 0);
    expect(external.length).toBe(2);
    expect(reader.totalBytes).toBe(2304);
    const first = reader.read(external[0]!);
    expect(Array.from(first)).toEqual(Array.from(await readExternalData(external[0]!, dir)));
    const firstBuffer = first.buffer;
    const second = reader.read(external[1]!);
    expect(Array.from(second)).toEqual(Array.from(await readExternalData(external[1]!, dir)));
    expect(second.buffer).toBe(firstBuffer);
    expect(reader.locate(external[1]!)).toMatchObject({ path: path.join(dir!, 'external-data.bin'), lengthBytes: second.length, location: 'external-data.bin' });
    expect(reader.locate(model.graph!.initializer.find((tensor) => tensor.externalData.length === 0)!)).toBeUndefined();
  });

  it('refuses a data file swapped or truncated after the check', async () => {
    const file = await copyFixture('swapped');
    const { model, dir } = await loadModel(file);
    const reader = (await externalDataReader(model, dir))!;
    const [tensor] = model.graph!.initializer.filter((candidate) => candidate.externalData.length > 0);
    const dataFile = path.join(dir!, 'external-data.bin');

    await writeFile(`${dataFile}.new`, new Uint8Array(16384));
    await rename(`${dataFile}.new`, dataFile);
    expect(() => reader.read(tensor!)).toThrow(/^external data location 'external-data\.bin' of .* changed while being checked; refusing to read it$/);

    const again = await externalDataReader(model, dir);
    await truncate(dataFile, 16);
    expect(() => again!.read(tensor!)).toThrow(/^cannot read the external data of .* from 'external-data\.bin': the file ended after 16 of \d+ bytes/);
  });
});
