/**
 * `mlctl quantize` on a model over 2 GiB: 36 MatMul weights of [4096, 4096]
 * float32 (2.25 GiB) in one external data file. The file is sparse (made with
 * truncate): each weight holds one row of seeded values, on row 0 or row 4095,
 * and zeros elsewhere, so the test needs no 2.25 GiB of disk or RAM to set up,
 * while the tool still reads every byte (reading holes is real I/O, just
 * cheap). Checks that the weights are quantized tensor by tensor (peak
 * memory of the whole process well below the weights' size) and that every
 * quantized byte and scale is right. `--mode static` holds the model in
 * memory instead (within the bound of static-memory.ts) and hands it to
 * onnxruntime through temporary files, all removed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalMatMulChain } from '../../fixtures/lib/external-matmul-chain.js';
import { readExternalData } from '../../src/onnx/external-data.js';
import { loadModel, saveModel } from '../../src/onnx/model-io.js';
import { tensorData } from '../../src/onnx/tensor.js';
import { computeScaleZeroPoint, quantRange } from '../../src/passes/quantize/index.js';
import { createSession } from '../../src/runtime/onnxruntime.js';
import { randomCalibrationWarning } from '../../src/verify/calibration/static-quantize-job.js';
import { RUNTIME_TEMP_PREFIX } from '../../src/verify/runtime-input.js';
import { seeded } from '../passes/quantize/helpers.js';
import { canMeasurePeakRss, runCliWithPeakRss } from '../helpers/peak-rss.js';
import { assertCliBuilt } from '../helpers/run-cli.js';

const size = 4096;
const layers = 36;
const tensorBytes = size * size * 4;
const totalBytes = layers * tensorBytes;
let tempDir = '';

/** The one non-zero row of weight `i`, and where it is. */
function patch(i: number): { row: number; values: Float32Array } {
  const values = seeded(size, 100 + i, 0.5);
  // No zero column: each column's scale then comes from this row alone.
  for (let n = 0; n < size; n++) if (values[n] === 0) values[n] = 0.25;
  return { row: i % 2 === 0 ? 0 : size - 1, values };
}

/**
 * The first few wrong scales or bytes of weight `i`, quantized per column:
 * each column's one non-zero value maps to ±127 with scale |value| / 127.
 */
function wrongColumns(i: number, bytes: Int8Array, scales: Float32Array): string[] {
  const range = quantRange('int8', true, false);
  const { row, values } = patch(i);
  const wrong: string[] = [];
  for (let n = 0; n < size && wrong.length < 5; n++) {
    const scale = Math.fround(computeScaleZeroPoint(Math.min(values[n]!, 0), Math.max(values[n]!, 0), range, true).scale);
    if (scales[n] !== scale) wrong.push(`w${i} scale[${n}] = ${scales[n]}, expected ${scale}`);
    const byte = bytes[row * size + n];
    if (byte !== Math.sign(values[n]!) * 127) wrong.push(`w${i}[${row}, ${n}] = ${byte}, expected ${Math.sign(values[n]!) * 127}`);
  }
  return wrong;
}

async function writeSparseModel(dir: string): Promise<string> {
  const data = await open(path.join(dir, 'weights.bin'), 'w');
  try {
    await data.truncate(totalBytes);
    for (let i = 0; i < layers; i++) {
      const { row, values } = patch(i);
      await data.write(new Uint8Array(values.buffer), 0, values.byteLength, i * tensorBytes + row * size * 4);
    }
  } finally {
    await data.close();
  }
  const file = path.join(dir, 'large.onnx');
  await saveModel(externalMatMulChain({ layers, size, location: 'weights.bin', graphName: 'large' }), file);
  return file;
}

beforeAll(async () => {
  assertCliBuilt();
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-quantize-large-'));
});

afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

describe('mlctl quantize on a model over 2 GiB', () => {
  it.skipIf(!canMeasurePeakRss)('quantizes 2.25 GiB of external weights tensor by tensor, into external data', { timeout: 120_000 }, async () => {
    const input = await writeSparseModel(tempDir);
    const output = path.join(tempDir, 'large.int8.onnx');
    const result = await runCliWithPeakRss(['quantize', input, '-o', output, '--no-verify', '--external-data', '--json'], { timeoutMs: 110_000 });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const outcome = JSON.parse(result.stdout) as {
      report: { nodesQuantized: number; weightBytesBefore: number };
      output: { externalData: { path: string; sizeBytes: number } };
      timingsMs: Record<string, number>;
    };
    expect(outcome.report.nodesQuantized).toBe(layers);
    expect(outcome.report.weightBytesBefore).toBe(totalBytes);
    expect(outcome.output.externalData.path).toBe(`${output}.data`);

    // The int8 result (a quarter of the weights) is held until it is written; the floats never are, all at once.
    expect(result.peakRssBytes).toBeLessThan(0.45 * totalBytes);
    const times = Object.entries(outcome.timingsMs).map(([phase, ms]) => `${phase} ${Math.round(ms)} ms`).join(', ');
    console.info(`quantize of ${(totalBytes / 2 ** 30).toFixed(2)} GiB of external weights: peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB; ${times}`);

    const { model, dir } = await loadModel(output);
    for (let i = 0; i < layers; i++) {
      const data = model.graph!.initializer.find((tensor) => tensor.name === `w${i}_quantized`)!;
      const scaleTensor = model.graph!.initializer.find((tensor) => tensor.name === `w${i}_scale`)!;
      // 16 KiB of scales: over the 1 KiB threshold, so in the data file too.
      const scales = tensorData(scaleTensor, { raw: await readExternalData(scaleTensor, dir) }) as Float32Array;
      const bytes = new Int8Array((await readExternalData(data, dir)).buffer);
      const wrong = wrongColumns(i, bytes, scales);
      let nonZero = 0;
      for (let k = 0; k < bytes.length; k++) if (bytes[k] !== 0) nonZero++;
      if (nonZero !== size) wrong.push(`w${i} has ${nonZero} non-zero bytes, expected ${size}`);
      expect(wrong).toEqual([]);
    }
    expect(existsSync(input)).toBe(true);
  });

  it.skipIf(!canMeasurePeakRss)('--mode static quantizes it too: calibrates and verifies through temporary files, leaving none behind', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(path.join(tempDir, 'static-'));
    const input = await writeSparseModel(dir);
    const output = path.join(dir, 'large.qdq.onnx');
    // The child's os.tmpdir(): a private one, so that no other test's temporary folders count.
    const childTmp = await mkdtemp(path.join(tempDir, 'tmp-'));
    const seen = new Set<string>();
    const watch = setInterval(() => {
      readdir(childTmp).then((names) => names.forEach((name) => seen.add(name)), () => undefined);
    }, 100);
    let result: Awaited<ReturnType<typeof runCliWithPeakRss>>;
    try {
      result = await runCliWithPeakRss(['quantize', input, '-o', output, '--mode', 'static', '--calibration-random', '1', '--json'], {
        timeoutMs: 110_000,
        env: { TMPDIR: childTmp },
      });
    } finally {
      clearInterval(watch);
    }
    expect(result.stderr).toBe(`mlctl: warning: ${randomCalibrationWarning(1)}\n`);
    expect(result.exitCode).toBe(0);
    const outcome = JSON.parse(result.stdout) as {
      report: { nodesQuantized: number; weightBytesBefore: number; weights: { name: string; axis: number | null }[] };
      verification: { metrics: { worstCosine: number } };
      output: { path: string; sizeBytes: number; externalData?: unknown };
      timingsMs: Record<string, number>;
    };
    expect(outcome.report.nodesQuantized).toBe(layers);
    expect(outcome.report.weightBytesBefore).toBe(totalBytes);
    // Per channel along MatMul's output columns (axis 1 of [K, N]).
    expect(new Set(outcome.report.weights.map((w) => w.axis))).toEqual(new Set([1]));
    expect(outcome.verification.metrics.worstCosine).toBeGreaterThan(0.99);
    // int8 weights, a quarter of 2.25 GiB: under protobuf's limit, so one file.
    expect(outcome.output.externalData).toBeUndefined();
    expect(outcome.output.sizeBytes).toBeLessThan(totalBytes / 3);

    // A temporary copy went to onnxruntime (the prepared model, over 2 GiB) and is gone.
    expect([...seen].some((name) => name.startsWith(RUNTIME_TEMP_PREFIX)), [...seen].join(', ')).toBe(true);
    expect((await readdir(childTmp)).filter((name) => name.startsWith(RUNTIME_TEMP_PREFIX))).toEqual([]);

    // The bound static-memory.ts documents: weights + int8 copy + onnxruntime's copy, 2.25 × the weights; 1 GiB of slack for the process.
    expect(result.peakRssBytes).toBeLessThan(2.25 * totalBytes + 2 ** 30);
    const times = Object.entries(outcome.timingsMs).map(([phase, ms]) => `${phase} ${Math.round(ms)} ms`).join(', ');
    console.info(`quantize --mode static of ${(totalBytes / 2 ** 30).toFixed(2)} GiB of external weights: peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB; ${times}`);

    const { model } = await loadModel(output);
    for (const i of [0, 1, 17, layers - 1]) {
      const data = model.graph!.initializer.find((tensor) => tensor.name === `w${i}_quantized`)!;
      const scales = tensorData(model.graph!.initializer.find((tensor) => tensor.name === `w${i}_scale`)!) as Float32Array;
      const bytes = new Int8Array(data.rawData!.buffer, data.rawData!.byteOffset, data.rawData!.byteLength);
      expect(wrongColumns(i, bytes, scales)).toEqual([]);
    }
    const session = await createSession(output, { logLevel: 'fatal' });
    try {
      const y = (await session.run({ x: { dtype: 'float32', dims: [1, size], data: seeded(size, 1) } })).y!;
      expect(y.dims).toEqual([1, size]);
    } finally {
      await session.release();
    }
  });
});
