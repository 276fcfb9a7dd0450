/**
 * Model layer load/save benchmark: `loadModel` against `fs.promises.readFile`
 * and `saveModel` against `fs.promises.writeFile` + fsync, on two large
 * models, plus the peak RSS of a load+save in a fresh process.
 *
 * Usage: npx tsx benchmarks/model-io.bench.ts [--reps N (default 15)] [--model matmul-chain|vgg19] [--regenerate]
 *
 * The models are generated into benchmarks/.data/ (git-ignored) on first use:
 * - matmul-chain: 25 MatMuls with [2048, 2048] float32 initializers in raw_data (400 MiB);
 * - vgg19: VGG19 from ../shared/corpus/onnx-light materialized with random weights (548 MiB).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { materializeLightFile, randomNormalFloat32 } from '../fixtures/materialize-light.js';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../src/onnx/builder.js';
import { encodeMessageChunks } from '../src/onnx/codec.js';
import { decodeModel, loadModel, saveModel } from '../src/onnx/model-io.js';
import { DataType, type TensorProto } from '../src/onnx/types.js';
import { writeFileSynced } from './lib/files.js';
import { formatMiB, formatRatio, markdownTable, median, timePaired, timeSync, verdict, type PairedTiming } from './lib/measure.js';

const thisFile = fileURLToPath(import.meta.url);
const repoRoot = path.resolve(path.dirname(thisFile), '..');
const dataDir = path.join(repoRoot, 'benchmarks/.data');
const corpusDir = path.resolve(repoRoot, '../shared/corpus/onnx-light');

const targets = { loadRatio: 1.2, saveRatio: 1.5, peakRssPerFileSize: 2.2 } as const;

interface BenchModel {
  id: string;
  description: string;
  file: string;
  create: (file: string) => Promise<void>;
}

const matmulCount = 25;
const matmulSize = 2048;

async function createMatmulChain(file: string): Promise<void> {
  const initializers: TensorProto[] = [];
  const nodes = [];
  for (let i = 0; i < matmulCount; i++) {
    const values = randomNormalFloat32(matmulSize * matmulSize, Math.sqrt(1 / matmulSize), i + 1);
    initializers.push({
      name: `w${i}`,
      dataType: DataType.FLOAT,
      dims: [BigInt(matmulSize), BigInt(matmulSize)],
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
      floatData: [], int32Data: [], stringData: [], int64Data: [], externalData: [], doubleData: [], uint64Data: [], metadataProps: [],
    });
    nodes.push(makeNode('MatMul', [i === 0 ? 'x' : `h${i}`, `w${i}`], [i === matmulCount - 1 ? 'y' : `h${i + 1}`], {}, { name: `matmul${i}` }));
  }
  const graph = makeGraph({
    name: 'matmul_chain',
    nodes,
    inputs: [makeTensorValueInfo('x', DataType.FLOAT, ['batch', matmulSize])],
    outputs: [makeTensorValueInfo('y', DataType.FLOAT, ['batch', matmulSize])],
    initializers,
  });
  await saveModel(makeModel({ graph, opsets: { '': 17 }, producerName: 'mlctl-bench' }), file, { force: true });
}

const models: BenchModel[] = [
  {
    id: 'matmul-chain',
    description: `${matmulCount} × MatMul [${matmulSize},${matmulSize}] f32, raw_data`,
    file: path.join(dataDir, 'matmul-chain.onnx'),
    create: createMatmulChain,
  },
  {
    id: 'vgg19',
    description: 'VGG19 (onnx-light, materialized, seed 1)',
    file: path.join(dataDir, 'vgg19.onnx'),
    create: async (file) => {
      await materializeLightFile(path.join(corpusDir, 'light_vgg19.onnx'), file, { seed: 1, force: true });
    },
  },
];

// --- Child process: one load+save (or its plain-fs baseline) in a fresh process, reporting peak RSS.

type ChildTask = 'mlctl' | 'fs';

interface ChildReport {
  peakRssBytes: number;
}

/** Peak resident set of this process: VmHWM where /proc exists, else maxRSS. */
async function peakRssBytes(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => undefined);
  const match = status?.match(/^VmHWM:\s+(\d+) kB$/m);
  return match !== undefined && match !== null ? Number(match[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

async function childMain(task: ChildTask, source: string, target: string): Promise<void> {
  if (task === 'mlctl') {
    const { model } = await loadModel(source);
    await saveModel(model, target, { force: true });
  } else {
    await writeFileSynced(target, await readFile(source));
  }
  const report: ChildReport = { peakRssBytes: await peakRssBytes() };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** Runs a child of this script under the same loader (tsx) and returns its report. */
function runChild(task: ChildTask | 'idle', source: string, target: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, thisFile, '--child', task, source, target], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`child '${task}' exited with code ${code}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildReport);
    });
  });
}

// --- Timed steps.

const execFileAsync = promisify(execFile);

async function assertSameBytes(a: string, b: string): Promise<void> {
  try {
    await execFileAsync('cmp', ['-s', a, b]);
  } catch (error) {
    throw new Error(`round trip is not byte-identical: cmp '${a}' '${b}' failed`, { cause: error });
  }
}

interface ModelResult {
  model: BenchModel;
  sizeBytes: number;
  load: PairedTiming;
  save: PairedTiming;
  rss: { mlctl: number[]; fs: number[]; idle: number[] };
  /** CPU-only parts of load and save, on bytes already in memory. */
  decodeMs: number;
  encodeMs: number;
}

async function benchModel(model: BenchModel, repetitions: number): Promise<ModelResult> {
  const sizeBytes = (await stat(model.file)).size;
  const load = await timePaired(() => readFile(model.file), () => loadModel(model.file), { repetitions });

  const { model: loaded, bytes } = await loadModel(model.file);
  const baselineTarget = path.join(dataDir, `${model.id}.baseline-save.tmp`);
  const candidateTarget = path.join(dataDir, `${model.id}.mlctl-save.onnx`);
  const cleanup = async (): Promise<void> => {
    await rm(baselineTarget, { force: true });
    await rm(candidateTarget, { force: true });
  };
  await cleanup();
  let checked = false;
  const save = await timePaired(
    () => writeFileSynced(baselineTarget, bytes),
    async () => {
      await saveModel(loaded, candidateTarget);
      if (!checked) {
        await assertSameBytes(model.file, candidateTarget);
        checked = true;
      }
    },
    { repetitions, cleanup },
  );

  const decodeMs = timeSync(() => decodeModel(bytes, model.file), repetitions);
  const encodeMs = timeSync(() => encodeMessageChunks('ModelProto', loaded), repetitions);

  // Fresh processes, interleaved; 'idle' is the runtime's own footprint for reference.
  const rss = { mlctl: [] as number[], fs: [] as number[], idle: [] as number[] };
  const rssTarget = path.join(dataDir, `${model.id}.rss-save.tmp`);
  for (let rep = 0; rep < 3; rep++) {
    for (const task of ['mlctl', 'fs', 'idle'] as const) {
      rss[task].push((await runChild(task, model.file, rssTarget)).peakRssBytes);
      await rm(rssTarget, { force: true });
    }
  }
  return { model, sizeBytes, load, save, rss, decodeMs, encodeMs };
}

function formatMs(values: readonly number[]): string {
  return `${median(values).toFixed(0)} ms`;
}

function render(results: readonly ModelResult[], repetitions: number): string {
  const rows: string[][] = [];
  for (const { model, sizeBytes, load, save, rss, decodeMs, encodeMs } of results) {
    const loadRatio = median(load.ratios);
    const saveRatio = median(save.ratios);
    const rssRatio = median(rss.mlctl) / sizeBytes;
    const loadBaselineMs = median(load.baselineMs);
    const saveBaselineMs = median(save.baselineMs);
    rows.push(
      [model.id, formatMiB(sizeBytes), 'loadModel / readFile', formatMs(load.candidateMs), formatMs(load.baselineMs), formatRatio(load.ratios), `≤ ${targets.loadRatio}×`, verdict(loadRatio, targets.loadRatio)],
      [model.id, formatMiB(sizeBytes), '  of which decode (bytes in memory)', `${decodeMs.toFixed(1)} ms`, formatMs(load.baselineMs), `${(decodeMs / loadBaselineMs).toFixed(3)}×`, '', ''],
      [model.id, formatMiB(sizeBytes), 'saveModel / (writeFile + fsync)', formatMs(save.candidateMs), formatMs(save.baselineMs), formatRatio(save.ratios), `≤ ${targets.saveRatio}×`, verdict(saveRatio, targets.saveRatio)],
      [model.id, formatMiB(sizeBytes), '  of which encode (to chunks in memory)', `${encodeMs.toFixed(1)} ms`, formatMs(save.baselineMs), `${(encodeMs / saveBaselineMs).toFixed(3)}×`, '', ''],
      [model.id, formatMiB(sizeBytes), 'peak RSS of load+save / file size', formatMiB(median(rss.mlctl)), formatMiB(sizeBytes), `${rssRatio.toFixed(2)}×`, `≤ ${targets.peakRssPerFileSize}×`, verdict(rssRatio, targets.peakRssPerFileSize)],
    );
  }
  const table = markdownTable(['model', 'size', 'measure', 'mlctl (median)', 'baseline (median)', 'ratio (IQR)', 'target', ''], rows);
  const rssNotes = results.map(({ model, sizeBytes, rss }) =>
    `${model.id}: readFile+writeFile child ${(median(rss.fs) / sizeBytes).toFixed(2)}× file size; an idle child (node + tsx) ${formatMiB(median(rss.idle))}`,
  );
  return [
    table,
    '',
    `Ratios are medians of the per-repetition ratios over ${repetitions} interleaved repetitions (A B, B A, …) after one warm-up of each,`,
    'with their interquartile range; the millisecond columns are medians of absolute times, for orientation only (they drift on a shared machine).',
    'The decode/encode rows time the model layer\'s CPU work alone (median of the same number of runs) against the I/O baseline\'s median.',
    'Load: the file is in the page cache for both. Save: saveModel writes a temp file, fsyncs it, then links it into place;',
    'the baseline is fs.promises.writeFile of the same bytes to the same folder followed by an fsync of that file.',
    'Peak RSS: VmHWM of a fresh child process doing one loadModel + saveModel (median of 3), against the file size; for reference:',
    ...rssNotes.map((note) => `  ${note}`),
    'Each saved file was checked byte-identical to its source with cmp.',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '15' },
      model: { type: 'string', multiple: true },
      regenerate: { type: 'boolean', default: false },
      child: { type: 'string' },
    },
    allowPositionals: true,
    strict: false,
  });
  if (typeof values.child === 'string') {
    const [source, target] = process.argv.slice(-2) as [string, string];
    if (values.child === 'idle') process.stdout.write(`${JSON.stringify({ peakRssBytes: await peakRssBytes() })}\n`);
    else await childMain(values.child as ChildTask, source, target);
    return;
  }
  const repetitions = Number(values.reps);
  if (!Number.isInteger(repetitions) || repetitions < 1) throw new Error(`--reps must be a positive integer, got '${String(values.reps)}'`);
  const wanted = Array.isArray(values.model) ? values.model.map(String) : models.map((m) => m.id);
  const unknown = wanted.filter((id) => !models.some((m) => m.id === id));
  if (unknown.length > 0) throw new Error(`unknown --model '${unknown[0]}'; expected one of ${models.map((m) => m.id).join(', ')}`);

  await mkdir(dataDir, { recursive: true });
  console.log(`node ${process.version}, ${cpus().length} cores, ${repetitions} repetitions`);
  const results: ModelResult[] = [];
  for (const model of models.filter((m) => wanted.includes(m.id))) {
    if (values.regenerate === true || !(await stat(model.file).catch(() => undefined))?.isFile()) {
      console.log(`generating ${path.relative(repoRoot, model.file)} (${model.description}) …`);
      await model.create(model.file);
    }
    console.log(`measuring ${model.id} …`);
    results.push(await benchModel(model, repetitions));
  }
  console.log(`\n${render(results, repetitions)}`);
  const missed = results.some(({ sizeBytes, load, save, rss }) =>
    median(load.ratios) > targets.loadRatio || median(save.ratios) > targets.saveRatio || median(rss.mlctl) / sizeBytes > targets.peakRssPerFileSize);
  if (missed) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
