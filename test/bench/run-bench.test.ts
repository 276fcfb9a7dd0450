/**
 * The bench service on the small fixture models, in process, with few
 * iterations: phases, sweeps, interleaved pairs, baselines, providers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderJson } from '../../src/bench/render/json.js';
import type { BenchSettings, MeasuredRow } from '../../src/bench/report-types.js';
import { planWork, providerUnavailability, runBench } from '../../src/bench/run-bench.js';
import { MlctlError } from '../../src/common/errors.js';
import { CUDA_INSTALL_COMMAND } from '../../src/runtime/onnxruntime.js';
import { repoRoot } from '../helpers/paths.js';
import { defaultSettings } from './synthetic.js';

const mlp = path.join(repoRoot, 'fixtures/models/mlp.onnx');
const convNet = path.join(repoRoot, 'fixtures/models/conv-net.onnx');
const matmulChain = path.join(repoRoot, 'fixtures/models/matmul-chain.onnx');

/** Few runs, so each row takes milliseconds. */
const quick: BenchSettings = { ...defaultSettings, models: [mlp], warmup: 3, iterations: 30, intraOpThreads: [1] };
const cudaMissing = providerUnavailability('cuda') !== null;

let tempDir = '';
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-run-bench-'));
});
afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

async function thrown(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MlctlError);
    return error as MlctlError;
  }
  throw new Error('expected an MlctlError');
}

describe('runBench', () => {
  it('measures one row with its phases, statistics, inputs and environment', { timeout: 20_000 }, async () => {
    const report = await runBench({ ...quick, asserts: ['p50<10s', 'throughput>1/s'] });
    expect(report).toMatchObject({ schema: 'mlctl-bench', schemaVersion: 1, verdict: 'pass' });
    expect(report.environment.onnxruntimeNodeVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.environment.providers.some((provider) => provider.name === 'cpu' && provider.available)).toBe(true);
    const row = report.rows[0] as MeasuredRow;
    expect(row).toMatchObject({
      status: 'measured',
      role: 'single',
      label: 'mlp.onnx cpu threads 1',
      key: 'mlp.onnx|cpu|batch=model|intra=1|inter=default|concurrency=1|opt=all|mode=sequential',
      provider: { requested: 'cpu', used: 'cpu' },
      inputs: [{ name: 'x', dtype: 'float32', dims: [1, 64], source: 'random' }],
      itemsPerInference: 1,
    });
    expect(row.phases.sessionCreationMs).toBeGreaterThan(0);
    expect(row.phases.firstRunMs).toBeGreaterThan(0);
    expect(row.phases.warmup).toMatchObject({ mode: 'fixed', iterations: 3, converged: null });
    expect(row.phases.steadyState).toMatchObject({ iterations: 30, stoppedBy: 'iterations' });
    expect(row.samplesMs).toHaveLength(30);
    expect(row.warmupSamplesMs).toHaveLength(3);
    expect(row.statistics.count).toBe(30);
    expect(row.statistics.percentiles.p99.supported).toBe(false);
    expect(row.statistics.percentiles.p95.supported).toBe(true);
    expect(row.throughput.inferencesPerSecond).toBeGreaterThan(0);
    expect(row.runtime.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(report.gates.map((gate) => gate.verdict)).toEqual(['pass', 'pass']);
  });

  it('sweeps batch sizes and thread counts into one row each', { timeout: 20_000 }, async () => {
    const report = await runBench({ ...quick, iterations: 10, batches: [1, 3], intraOpThreads: [1, 2] });
    const rows = report.rows as MeasuredRow[];
    expect(rows.map((row) => row.label)).toEqual([
      'mlp.onnx cpu batch 1 threads 1', 'mlp.onnx cpu batch 1 threads 2', 'mlp.onnx cpu batch 3 threads 1', 'mlp.onnx cpu batch 3 threads 2',
    ]);
    expect(rows[2]?.inputs[0]?.dims).toEqual([3, 64]);
    expect(rows[2]?.itemsPerInference).toBe(3);
    expect(rows[2]?.throughput.itemsPerSecond).toBeCloseTo(3 * rows[2]!.throughput.inferencesPerSecond, 6);
    expect(new Set(rows.map((row) => row.id)).size).toBe(4);
  });

  it('runs a candidate against a baseline interleaved, with a paired ratio and a gate', { timeout: 20_000 }, async () => {
    const report = await runBench({ ...quick, models: [convNet], vs: mlp, iterations: 40, maxRegression: 0.1 });
    expect(report.rows.map((row) => [row.role, row.target.name, row.pairId !== null])).toEqual([
      ['candidate', 'conv-net.onnx', true],
      ['baseline', 'mlp.onnx', true],
    ]);
    const [candidate, baseline] = report.rows as MeasuredRow[];
    expect(candidate!.samplesMs).toHaveLength(40);
    expect(baseline!.samplesMs).toHaveLength(40);
    expect(baseline!.label).toBe('mlp.onnx cpu threads 1 (baseline)');
    expect(report.comparisons).toHaveLength(1);
    const comparison = report.comparisons[0]!;
    expect(comparison).toMatchObject({ kind: 'vs', paired: true, statistic: 'p50', candidateRowId: candidate!.id, baselineRowId: baseline!.id });
    expect(comparison.ratio).toBeCloseTo(candidate!.statistics.percentiles.p50.value / baseline!.statistics.percentiles.p50.value, 12);
    // The convolution network is several times slower than the perceptron.
    expect(comparison.verdict).toBe('fail');
    expect(report.gates).toHaveLength(1);
    expect(report.verdict).toBe('fail');
  });

  it('compares with a saved report row by row', { timeout: 20_000 }, async () => {
    const first = await runBench({ ...quick, models: [mlp, matmulChain] });
    const saved = path.join(tempDir, 'baseline.json');
    await writeFile(saved, renderJson(first));
    const second = await runBench({ ...quick, models: [mlp], baseline: saved, maxRegression: 100 });
    expect(second.comparisons).toHaveLength(1);
    expect(second.comparisons[0]).toMatchObject({ kind: 'baseline', baselineReport: saved, paired: false, baselineRowId: first.rows[0]!.id });
    // A 10,000% tolerance cannot fail.
    expect(second.comparisons[0]?.verdict).not.toBe('fail');
  });

  it('refuses a baseline file that is not a bench report', async () => {
    const bad = path.join(tempDir, 'not-a-report.json');
    await writeFile(bad, '{"schema": "something-else"}');
    const error = await thrown(runBench({ ...quick, baseline: bad }));
    expect(error.code).toBe('MLCTL_BAD_INPUT');
    expect(error.message).toBe(`baseline '${bad}' is not a usable mlctl bench report: it has no "schema": "mlctl-bench"`);
  });

  it('refuses a missing or non-ONNX model before measuring anything (exit 3)', async () => {
    const missing = await thrown(runBench({ ...quick, models: [mlp, path.join(tempDir, 'none.onnx')] }));
    expect(missing.exitCode).toBe(3);
    expect(missing.message).toBe(`cannot read '${path.join(tempDir, 'none.onnx')}': no such file`);
    const text = path.join(tempDir, 'notes.onnx');
    await writeFile(text, 'hello, not a model\n');
    const notOnnx = await thrown(runBench({ ...quick, models: [text] }));
    expect(notOnnx.exitCode).toBe(3);
    expect(notOnnx.message).toBe(`'${text}' is a text file, not an ONNX model`);
  });

  it('refuses a --batch the model cannot take (exit 3)', { timeout: 20_000 }, async () => {
    const error = await thrown(runBench({ ...quick, models: [convNet], batches: [4] }));
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/^--batch 4 cannot be applied to '.*conv-net\.onnx': none of its inputs has a dynamic dimension \(image \[1, 3, 32, 32\]\)$/);
  });

  it.skipIf(!cudaMissing)('fails fast on a missing CUDA provider with the install command (exit 4)', async () => {
    const error = await thrown(runBench({ ...quick, executionProviders: ['cpu', 'cuda'] }));
    expect(error.code).toBe('MLCTL_EP_UNAVAILABLE');
    expect(error.exitCode).toBe(4);
    expect(error.message).toMatch(/^cannot benchmark on execution provider 'cuda': /);
    expect(error.message).toContain(CUDA_INSTALL_COMMAND);
    expect(error.hint).toBe(`run \`${CUDA_INSTALL_COMMAND}\` (needs CUDA 12 and cuDNN 9), or pass --skip-unavailable to skip it`);
  });

  it.skipIf(!cudaMissing)('skips a missing provider with a note under --skip-unavailable', { timeout: 20_000 }, async () => {
    const report = await runBench({ ...quick, executionProviders: ['cpu', 'cuda'], skipUnavailable: true, asserts: ['p50<10s'] });
    expect(report.rows.map((row) => [row.config.executionProvider, row.status])).toEqual([['cpu', 'measured'], ['cuda', 'skipped']]);
    expect(report.notes[0]).toMatch(/^skipped execution provider 'cuda': /);
    expect(report.gates).toHaveLength(1);
    expect(report.verdict).toBe('pass');
  });

  it('plans unique ids when a model is given twice and names clashing base names by path', () => {
    const work = planWork({ ...quick, models: [mlp, mlp, 'other/mlp.onnx'], intraOpThreads: null });
    const rows = work.map((item) => (item.kind === 'single' ? item.row : item.candidate));
    expect(rows.map((row) => row.target.name)).toEqual([mlp, mlp, 'other/mlp.onnx']);
    expect(new Set(rows.map((row) => row.id)).size).toBe(3);
  });
});
