/**
 * The quantize job's output files: weights go to a data file next to the
 * output when the model would exceed the inline limit (lowered here, so that
 * the path protobuf's 2 GiB limit takes in real use runs on small models),
 * when asked, or when float weights stay in the input's external data; the
 * result loads and runs in onnxruntime and computes what the one-file output does.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/common/hash.js';
import { isExternalTensor } from '../../src/onnx/external-data.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { provenanceKeys } from '../../src/onnx/provenance.js';
import { createSession } from '../../src/runtime/onnxruntime.js';
import type { HostTensor } from '../../src/runtime/types.js';
import { runQuantizeJob, type QuantizeJob } from '../../src/verify/quantize-job.js';
import { repoRoot } from '../helpers/paths.js';

const fixture = (file: string): string => path.join(repoRoot, 'fixtures/models', file);
let tempDir = '';

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-quantize-job-'));
});

afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

function job(input: string, output: string, extra: Partial<QuantizeJob> = {}): QuantizeJob {
  return { input, output, verify: false, options: { minElements: 0 }, toolVersion: 'test', parameters: {}, ...extra };
}

/** Runs a model file (onnxruntime reads its external data itself) on fixed inputs. */
async function runFile(file: string, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await createSession(file, { logLevel: 'fatal' });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const feeds = (width: number): Record<string, HostTensor> => ({
  x: { dtype: 'float32', dims: [2, width], data: Float32Array.from({ length: 2 * width }, (_, i) => Math.cos(i)) },
});

async function externalInput(name: string): Promise<string> {
  const dir = path.join(tempDir, name);
  await mkdir(dir);
  await copyFile(fixture('external-data.onnx'), path.join(dir, 'external-data.onnx'));
  await copyFile(fixture('external-data.bin'), path.join(dir, 'external-data.bin'));
  return path.join(dir, 'external-data.onnx');
}

describe('quantize job output: one file or external data', () => {
  it('writes the weights to <output>.data over the inline limit, and the result runs like the one-file output', async () => {
    const input = fixture('matmul-chain.onnx');
    const inline = path.join(tempDir, 'chain.inline.onnx');
    const split = path.join(tempDir, 'chain.split.onnx');
    const whole = await runQuantizeJob(job(input, inline));
    expect(whole.output!.externalData).toBeUndefined();

    const outcome = await runQuantizeJob(job(input, split, { inlineLimitBytes: 1024 }));
    expect(outcome.output!.externalData).toEqual({ path: `${split}.data`, sizeBytes: expect.any(Number) as number });
    const { model } = await loadModel(split);
    // Tensors of 1 KiB and more move (ONNX's own threshold); the smallest weight, 24 × 8 int8, stays inline.
    const quantized = model.graph!.initializer.filter((tensor) => tensor.name?.endsWith('_quantized') === true);
    expect(quantized.map((tensor) => [tensor.name, isExternalTensor(tensor)])).toEqual([
      ['w0_quantized', true],
      ['w1_quantized', true],
      ['w2_quantized', false],
    ]);
    expect(quantized[0]!.externalData.find((entry) => entry.key === 'location')?.value).toBe('chain.split.onnx.data');
    expect(model.metadataProps.find((entry) => entry.key === provenanceKeys.sourceSha256)?.value).toBe(await sha256File(input));

    const width = Number(model.graph!.input[0]!.type!.tensorType!.shape!.dim[1]!.dimValue);
    expect(await runFile(split, feeds(width))).toEqual(await runFile(inline, feeds(width)));
  });

  it('writes external data when asked, and when float weights stay in the input\'s data file', async () => {
    const asked = path.join(tempDir, 'asked.onnx');
    expect((await runQuantizeJob(job(fixture('matmul-chain.onnx'), asked, { externalData: true }))).output!.externalData?.path).toBe(`${asked}.data`);

    const input = await externalInput('kept');
    const reference = await runQuantizeJob(job(input, path.join(tempDir, 'kept.inline.onnx')));
    expect(reference.output!.externalData).toBeUndefined();

    // One MatMul left in float keeps its weight in the input's external data: the output copies it into its own data file.
    const kept = path.join(tempDir, 'kept.onnx');
    const excluded = reference.report.nodes[0]!.node;
    const outcome = await runQuantizeJob(job(input, kept, { options: { minElements: 0, exclude: [excluded] } }));
    expect(outcome.report.nodes.map((node) => node.action)).toEqual(['skipped', 'dynamic']);
    expect(outcome.output!.externalData?.path).toBe(`${kept}.data`);
    const { model } = await loadModel(kept);
    const stillExternal = model.graph!.initializer.filter(isExternalTensor);
    expect(stillExternal.map((tensor) => [tensor.dataType, tensor.externalData.find((entry) => entry.key === 'location')?.value])).toEqual([[1, 'kept.onnx.data']]);

    const original = (await runFile(input, feeds(32)))['y']!.data as Float32Array;
    const quantizedOutput = (await runFile(kept, feeds(32)))['y']!.data as Float32Array;
    expect(quantizedOutput.length).toBe(original.length);
    expect(Array.from(quantizedOutput).every((value, i) => Math.abs(value - original[i]!) < 0.05)).toBe(true);
    expect((await runFile(asked, feeds(32)))['y']).toBeDefined();
  });

  it('verifies a model with external data: onnxruntime reads the original from its path', async () => {
    const input = await externalInput('verified');
    const outcome = await runQuantizeJob(job(input, path.join(tempDir, 'verified.onnx'), { verify: true }));
    expect(outcome.verificationSkipped).toBeUndefined();
    expect(outcome.verification!.worstCosine).toBeGreaterThan(0.999);
  });

  it('leaves neither file behind when the data file exists already', async () => {
    const target = path.join(tempDir, 'clash.onnx');
    await copyFile(fixture('mlp.onnx'), `${target}.data`);
    const before = await readdir(tempDir);
    await expect(runQuantizeJob(job(fixture('matmul-chain.onnx'), target, { externalData: true }))).rejects.toMatchObject({ code: 'MLCTL_OUTPUT_EXISTS' });
    expect(existsSync(target)).toBe(false);
    expect(await readdir(tempDir)).toEqual(before);
  });
});
