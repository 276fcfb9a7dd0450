/**
 * The V2 load client (`mlctl bench --url`) against a spawned `mlctl serve`:
 * one bench report row per concurrency level, JSON and binary, failed
 * requests counted and gated.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchSettings } from '../../src/bench/report-types.js';
import { runEndpointBench } from '../../src/serve/load-client/endpoint-bench.js';
import { assertCliBuilt } from '../helpers/run-cli.js';
import { repoRoot } from '../helpers/paths.js';
import { addToRepository, cubeModel, gatherModel } from './helpers/models.js';
import { startServer, type ServerProcess } from './helpers/server.js';

let server: ServerProcess;
let root: string;

beforeAll(async () => {
  assertCliBuilt();
  root = await mkdtemp(path.join(tmpdir(), 'mlctl-serve-load-'));
  await mkdir(path.join(root, 'mlp', '1'), { recursive: true });
  await copyFile(path.join(repoRoot, 'fixtures/models/mlp.onnx'), path.join(root, 'mlp', '1', 'model.onnx'));
  // Random ids are drawn from 0..9, so about half of them miss a 5-row table: those requests get 400.
  await addToRepository(root, 'gather5', 1, gatherModel(5));
  server = await startServer([root, '--port', '0', '--log-format', 'json', '--max-batch-size', '16', '--api-key', 'k']);
}, 120_000);

afterAll(async () => {
  expect(await server?.stop()).toBe(0);
  await rm(root, { recursive: true, force: true });
});

function settings(asserts: string[] = []): BenchSettings {
  return {
    models: [],
    vs: null,
    executionProviders: ['cpu'],
    batches: null,
    intraOpThreads: null,
    interOpThreads: null,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    concurrency: 1,
    inputs: { source: 'random', seed: 0, shapes: { x: [2, 64] } },
    warmup: 'auto',
    iterations: null,
    durationMs: 300,
    timeBudgetMs: 60_000,
    minIterations: 10,
    skipUnavailable: false,
    bootstrap: { resamples: 200, confidence: 0.95, seed: 0 },
    asserts,
    baseline: null,
    maxRegression: null,
    strict: false,
  };
}

describe('runEndpointBench', () => {
  it.each([false, true])('binary=%s: one measured row per concurrency level, no failures, gates pass', async (binary) => {
    const { report, levels } = await runEndpointBench(
      { url: server.url, model: 'mlp', concurrency: [1, 4], binary, apiKey: 'k', warmupMs: 100 },
      settings(['throughput>10/s', 'p99<5s']),
    );
    expect(report.schema).toBe('mlctl-bench');
    expect(report.rows.map((row) => row.status === 'measured' && row.config.concurrency)).toEqual([1, 4]);
    for (const row of report.rows) {
      if (row.status !== 'measured') throw new Error('not measured');
      expect(row.target).toEqual({ kind: 'endpoint', url: server.url, name: 'mlp' });
      expect(row.inputs).toEqual([{ name: 'x', dtype: 'FP32', dims: [2, 64], source: 'random' }]);
      expect(row.itemsPerInference).toBe(2);
      expect(row.statistics.count).toBeGreaterThan(10);
      expect(row.throughput.inferencesPerSecond).toBeGreaterThan(10);
      expect(row.label).toContain(binary ? 'binary' : 'json');
    }
    expect(levels.every((level) => Object.keys(level.failures).length === 0)).toBe(true);
    expect(report.gates.map((gate) => [gate.name, gate.verdict])).toEqual([
      ['throughput>10/s', 'pass'], ['p99<5s', 'pass'], ['throughput>10/s', 'pass'], ['p99<5s', 'pass'],
      ['failed requests <= 0', 'pass'], ['failed requests <= 0', 'pass'],
    ]);
    expect(report.verdict).toBe('pass');
  }, 30_000);

  it('names the endpoint when the model does not exist or the key is wrong', async () => {
    await expect(runEndpointBench({ url: server.url, model: 'nope', concurrency: [1], binary: false, apiKey: 'k' }, settings()))
      .rejects.toThrow(/\/v2\/models\/nope answered 404: \{"error":"unknown model 'nope'/);
    await expect(runEndpointBench({ url: server.url, model: 'mlp', concurrency: [1], binary: false, apiKey: 'wrong' }, settings()))
      .rejects.toThrow(/answered 401/);
  }, 30_000);

  it('fails with the server\'s answer when no request succeeds', async () => {
    const all = settings();
    all.inputs = { source: 'random', seed: 0, shapes: { ids: [8] } };
    await expect(runEndpointBench({ url: server.url, model: 'gather5', concurrency: [1], binary: false, apiKey: 'k', warmupMs: 50 }, all))
      .rejects.toThrow(/no request to http:\/\/127\.0\.0\.1:\d+\/v2\/models\/gather5\/infer succeeded at concurrency 1: HTTP 400: \{"error":"model 'gather5' version 1 failed on this request's input/);
  }, 30_000);

  it('counts failed requests per level, notes them, and fails their gate', async () => {
    // One slot in the queue and eight callers: some requests are refused with 503.
    const repository = path.join(root, 'cube-repo');
    await addToRepository(repository, 'cube', 1, cubeModel());
    const busy = await startServer([repository, '--port', '0', '--log-format', 'json', '--max-queue', '1']);
    try {
      const some = settings();
      some.inputs = { source: 'random', seed: 0, shapes: { x: [160, 160] } };
      const { report, levels } = await runEndpointBench({ url: busy.url, model: 'cube', concurrency: [8], binary: true, warmupMs: 50 }, some);
      const refused = levels[0]!.failures['HTTP 503'] ?? 0;
      expect(refused).toBeGreaterThan(0);
      expect(Object.keys(levels[0]!.failures)).toEqual(['HTTP 503']);
      const row = report.rows[0]!;
      expect(row.status === 'measured' && row.notes.some((note) => note.includes(`${refused} × HTTP 503`))).toBe(true);
      expect(report.gates).toEqual([expect.objectContaining({ name: 'failed requests <= 0', verdict: 'fail', observed: `failed requests = ${refused}` })]);
      expect(report.verdict).toBe('fail');
    } finally {
      expect(await busy.stop()).toBe(0);
    }
  }, 30_000);
});

describe('mlctl bench --url (the CLI wiring)', () => {
  it('drives the server at each --concurrency level and reports one row each, with gates', { timeout: 60_000 }, async () => {
    const { runCli } = await import('../helpers/run-cli.js');
    const result = await runCli([
      'bench', '--url', server.url, '--model', 'mlp', '--api-key', 'k', '--binary',
      '--concurrency', '1,4', '--duration', '500ms', '--assert', 'p50<5s', '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as { rows: { target: { kind: string; name: string } }[]; gates: { name: string; verdict: string }[] };
    expect(report.rows).toHaveLength(2);
    expect(report.rows.every((row) => row.target.kind === 'endpoint' && row.target.name === 'mlp')).toBe(true);
    // Per level: the --assert gate and the failed-requests gate.
    expect(report.gates.map((gate) => gate.name).sort()).toEqual(['failed requests <= 0', 'failed requests <= 0', 'p50<5s', 'p50<5s']);
    expect(report.gates.every((gate) => gate.verdict === 'pass')).toBe(true);
  });

  it.each([
    [['--url', 'http://127.0.0.1:1'], 'mlctl: error: --url needs --model <name>: the model to drive on the server'],
    [['m.onnx', '--url', 'http://127.0.0.1:1', '--model', 'm'], "mlctl: error: --url benchmarks a server's model; drop the model files (m.onnx) or --url"],
    [['m.onnx', '--model', 'm'], 'mlctl: error: --model applies to --url only'],
    [['--url', 'http://127.0.0.1:1', '--model', 'm', '--vs', 'b.onnx'], 'mlctl: error: --vs does not apply to --url (the server runs the model)'],
  ])('refuses %j with exit 2', { timeout: 30_000 }, async (args, message) => {
    const { runCli } = await import('../helpers/run-cli.js');
    const result = await runCli(['bench', ...args]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(message);
  });
});
