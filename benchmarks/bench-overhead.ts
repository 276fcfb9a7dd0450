/**
 * Overhead of `mlctl bench`'s measurement: on a tiny model, the p50 that
 * mlctl reports against the p50 of a bare `await session.run()` loop timed in
 * the same process. Target: within 5% or 2 µs.
 *
 * Usage: npx tsx benchmarks/bench-overhead.ts [--rounds N (default 11)] [--iterations N (default 5000)]
 *
 * Three arms per round, in rotating order, each with its own fresh session
 * (intra-op threads 1, the same seeded input, a fixed warm-up of 500 runs):
 * - bare: onnxruntime-node's InferenceSession.run with ort.Tensor feeds made once,
 *   timed with performance.now() around each await (the loop a user would write);
 * - adapter: the same loop over mlctl's runtime adapter (RuntimeSession.run);
 * - mlctl: runBench() with --iterations N --warmup 500 --threads 1, its reported p50.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import type { BenchSettings, MeasuredRow } from '../src/bench/report-types.js';
import { runBench } from '../src/bench/run-bench.js';
import { createSession } from '../src/runtime/onnxruntime.js';
import { randomInputs } from '../src/runtime/random-inputs.js';
import { markdownTable, median, quantile } from './lib/measure.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = path.join(repoRoot, 'fixtures/models/mlp.onnx');
const WARMUP = 500;
const TARGET = { relative: 0.05, absoluteMs: 0.002 } as const;

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '11' }, iterations: { type: 'string', default: '5000' } } });
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);

function nearestRankP50(samples: number[]): number {
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}

async function bareLoop(): Promise<number> {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const meta = session.inputMetadata.map((input) => ({ name: input.name, dtype: 'float32' as const, shape: input.isTensor ? input.shape.map((dim) => (dim === '' ? null : dim)) : [] }));
    const host = randomInputs(meta, { seed: 0 });
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(host)) feeds[name] = new ort.Tensor('float32', tensor.data as Float32Array, tensor.dims);
    for (let i = 0; i < WARMUP; i++) await session.run(feeds);
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const started = performance.now();
      await session.run(feeds);
      samples.push(performance.now() - started);
    }
    return nearestRankP50(samples);
  } finally {
    await session.release();
  }
}

async function adapterLoop(): Promise<number> {
  const session = await createSession(model, { intraOpThreads: 1 });
  try {
    const feeds = randomInputs(session.inputs, { seed: 0 });
    for (let i = 0; i < WARMUP; i++) await session.run(feeds);
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const started = performance.now();
      await session.run(feeds);
      samples.push(performance.now() - started);
    }
    return nearestRankP50(samples);
  } finally {
    await session.release();
  }
}

const settings: BenchSettings = {
  models: [model], vs: null, executionProviders: ['cpu'], batches: null, intraOpThreads: [1], interOpThreads: null,
  graphOptimizationLevel: 'all', executionMode: 'sequential', concurrency: 1, inputs: { source: 'random', seed: 0, shapes: {} },
  warmup: WARMUP, iterations, durationMs: null, timeBudgetMs: 600_000, minIterations: 10, skipUnavailable: false,
  bootstrap: { resamples: 2000, confidence: 0.95, seed: 0 }, asserts: [], baseline: null, maxRegression: null, strict: false,
};

async function mlctlBench(): Promise<number> {
  const report = await runBench(settings);
  return (report.rows[0] as MeasuredRow).statistics.percentiles.p50.value;
}

const arms = { bare: bareLoop, adapter: adapterLoop, mlctl: mlctlBench } as const;
type Arm = keyof typeof arms;
const names = Object.keys(arms) as Arm[];
const results: Record<Arm, number[]> = { bare: [], adapter: [], mlctl: [] };

// One untimed pass of every arm: loads the native library and JIT-compiles the loops.
for (const arm of names) await arms[arm]();
for (let round = 0; round < rounds; round++) {
  const order = names.map((_, index) => names[(index + round) % names.length]!);
  for (const arm of order) results[arm].push(await arms[arm]());
}

const us = (ms: number): string => `${(ms * 1000).toFixed(2)} µs`;
const differences = results.mlctl.map((value, index) => value - results.bare[index]!);
const ratios = results.mlctl.map((value, index) => value / results.bare[index]!);
const adapterDifferences = results.adapter.map((value, index) => value - results.bare[index]!);
const medianDifference = median(differences);
const medianRatio = median(ratios);
const pass = Math.abs(medianDifference) <= TARGET.absoluteMs || Math.abs(medianRatio - 1) <= TARGET.relative;

console.log(`model ${path.relative(repoRoot, model)}, ${rounds} rounds × ${iterations} runs per arm, warm-up ${WARMUP}, intra-op threads 1`);
console.log(`${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} CPUs), Node ${process.version}\n`);
console.log(markdownTable(['arm', 'p50 (median of rounds)', 'p50 range over rounds'], names.map((arm) => [
  arm, us(median(results[arm])), `${us(Math.min(...results[arm]))} – ${us(Math.max(...results[arm]))}`,
])));
console.log();
console.log(markdownTable(['measure', 'median', 'IQR', 'target', ''], [
  ['mlctl p50 − bare p50', us(medianDifference), `${us(quantile(differences, 0.25))} – ${us(quantile(differences, 0.75))}`, '≤ 2 µs or ≤ 5%', pass ? 'PASS' : 'MISS'],
  ['mlctl p50 / bare p50', `${medianRatio.toFixed(3)}×`, `${quantile(ratios, 0.25).toFixed(3)} – ${quantile(ratios, 0.75).toFixed(3)}`, '', ''],
  ['adapter p50 − bare p50', us(median(adapterDifferences)), `${us(quantile(adapterDifferences, 0.25))} – ${us(quantile(adapterDifferences, 0.75))}`, '(for reference)', ''],
]));
process.exitCode = pass ? 0 : 1;
