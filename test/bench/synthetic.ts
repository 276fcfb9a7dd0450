/**
 * Synthetic bench rows and reports for gate and renderer tests: the numbers
 * are computed from given samples exactly as a real run computes them.
 */
import type { BenchReport, BenchRow, BenchSettings, MeasuredRow, RowConfig } from '../../src/bench/report-types.js';
import { BENCH_SCHEMA, BENCH_SCHEMA_VERSION } from '../../src/bench/report-types.js';
import { overallVerdict } from '../../src/bench/gates.js';
import { summarizeSamples } from '../../src/bench/statistics.js';
import { mulberry32 } from '../../src/runtime/random-inputs.js';

export const defaultConfig: RowConfig = {
  executionProvider: 'cpu',
  batch: null,
  intraOpThreads: null,
  interOpThreads: null,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  concurrency: 1,
};

/** `count` latencies around `centerMs` with ±`spread` relative uniform noise, seeded. */
export function noisySamples(count: number, centerMs: number, spread = 0.05, seed = 1): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => centerMs * (1 + spread * (2 * random() - 1)));
}

/** A measured row whose statistics come from `samplesMs`. */
export function syntheticRow(samplesMs: number[], overrides: Partial<MeasuredRow> = {}): MeasuredRow {
  const total = samplesMs.reduce((sum, value) => sum + value, 0);
  const name = overrides.target?.name ?? 'model.onnx';
  return {
    id: `${name}|cpu`,
    key: `${name}|cpu`,
    label: `${name} cpu`,
    target: { kind: 'model', path: `/models/${name}`, name },
    role: 'single',
    pairId: null,
    config: defaultConfig,
    status: 'measured',
    provider: { requested: 'cpu', used: 'cpu' },
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, 4], source: 'random' }],
    itemsPerInference: 1,
    phases: {
      sessionCreationMs: 12,
      firstRunMs: 3,
      warmup: { mode: 'auto', iterations: 10, durationMs: 5, converged: true },
      steadyState: { iterations: samplesMs.length, durationMs: total, stoppedBy: 'iterations' },
    },
    statistics: summarizeSamples(samplesMs, { resamples: 200 }),
    throughput: { inferencesPerSecond: samplesMs.length / (total / 1000), itemsPerSecond: samplesMs.length / (total / 1000) },
    runtime: { gcPauseMs: 0.5, gcCount: 2, eventLoopDelay: { meanMs: 10, p50Ms: 10, p99Ms: 11, maxMs: 12 }, peakRssBytes: 100 * 2 ** 20 },
    samplesMs,
    warmupSamplesMs: samplesMs.slice(0, 10).map((value) => value * 2),
    notes: [],
    ...overrides,
  };
}

export const defaultSettings: BenchSettings = {
  models: ['/models/model.onnx'],
  vs: null,
  executionProviders: ['cpu'],
  batches: null,
  intraOpThreads: null,
  interOpThreads: null,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  concurrency: 1,
  inputs: { source: 'random', seed: 0, shapes: {} },
  warmup: 'auto',
  iterations: 100,
  durationMs: null,
  timeBudgetMs: 600_000,
  minIterations: 10,
  skipUnavailable: false,
  bootstrap: { resamples: 200, confidence: 0.95, seed: 0 },
  asserts: [],
  baseline: null,
  maxRegression: null,
  strict: false,
};

/** A report around the given rows and gates. */
export function syntheticReport(rows: BenchRow[], extra: Partial<BenchReport> = {}): BenchReport {
  const gates = extra.gates ?? [];
  return {
    schema: BENCH_SCHEMA,
    schemaVersion: BENCH_SCHEMA_VERSION,
    createdAt: '2025-01-01T00:00:00.000Z',
    durationMs: 1234,
    environment: {
      mlctlVersion: '0.1.0',
      onnxruntimeNodeVersion: '1.30.0',
      nodeVersion: 'v20.0.0',
      v8Version: '11',
      os: { type: 'Linux', platform: 'linux', release: '6', arch: 'x64' },
      cpu: { model: 'Test CPU', logicalCpus: 2, availableParallelism: 2, speedMHz: 0 },
      totalMemoryBytes: 2 ** 33,
      providers: [{ name: 'cpu', available: true }],
      ci: false,
    },
    settings: defaultSettings,
    rows,
    comparisons: [],
    notes: [],
    ...extra,
    gates,
    verdict: extra.verdict ?? overallVerdict(gates),
  };
}
