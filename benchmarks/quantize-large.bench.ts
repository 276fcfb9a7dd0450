/**
 * `mlctl quantize` on a model over 2 GiB: 40 MatMuls with [4096, 4096]
 * float32 weights (2.5 GiB of seeded random values, not a sparse file) in one
 * external data file. Each run is the built CLI in a fresh child process, as
 * a user runs it, with its wall time and peak resident set (VmHWM, all
 * threads): without verification, with the output's weights in external data
 * (`--external-data`), and the default command with verification.
 *
 * Usage: npm run build && npx tsx benchmarks/quantize-large.bench.ts [--reps N (default 3)] [--layers N (default 40)]
 *
 * The baseline is a child process copying the same bytes (model and data
 * file) in 64 MiB pieces, then fsync: the least a tool that rewrites the
 * weights must do. Runs alternate with it (B A, A B, …); medians are reported.
 * The data lives in benchmarks/.data/large/ (git-ignored) and is made on first use.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomNormalFloat32 } from '../fixtures/materialize-light.js';
import { externalMatMulChain } from '../fixtures/lib/external-matmul-chain.js';
import { saveModel } from '../src/onnx/model-io.js';
import { runNodeChild, type ChildRun } from './lib/child-process.js';
import { formatMiB, formatRatio, markdownTable, median } from './lib/measure.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(repoRoot, 'benchmarks/.data/large');
const cli = path.join(repoRoot, 'bin/mlctl.js');
const size = 4096;
const tensorBytes = size * size * 4;

async function createModel(file: string, layers: number): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const dataFile = `${file}.weights`;
  const handle = await open(dataFile, 'w');
  try {
    for (let i = 0; i < layers; i++) {
      const values = randomNormalFloat32(size * size, Math.sqrt(1 / size), 1000 + i);
      await handle.write(new Uint8Array(values.buffer), 0, tensorBytes, i * tensorBytes);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  const model = externalMatMulChain({ layers, size, location: path.basename(dataFile), graphName: 'large_matmul_chain', producerName: 'mlctl-bench' });
  await saveModel(model, file, { force: true });
}

/** The baseline: read and write the model's bytes in 64 MiB pieces, then fsync, in a child process. */
const copyScript = `
import { open } from 'node:fs/promises';
const args = process.argv.slice(1);
const buffer = new Uint8Array(64 * 2 ** 20);
for (let i = 0; i < args.length; i += 2) {
  const input = await open(args[i], 'r');
  const output = await open(args[i + 1], 'w');
  for (let position = 0; ; ) {
    const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    await output.write(buffer, 0, bytesRead, position);
    position += bytesRead;
  }
  await output.sync();
  await input.close();
  await output.close();
}`;

interface Outcome {
  timingsMs: { load: number; quantize: number; verify: number; save: number; total: number };
  output?: { sizeBytes: number; externalData?: { sizeBytes: number } };
  verification?: { worstCosine: number | null };
}

async function quantizeRun(input: string, output: string, flags: readonly string[]): Promise<{ run: ChildRun; outcome: Outcome }> {
  const run = await runNodeChild([cli, 'quantize', input, '-o', output, '--force', '--json', ...flags]);
  if (run.exitCode !== 0) throw new Error(`mlctl quantize ${flags.join(' ')} exited ${run.exitCode}: ${run.stderr}`);
  return { run, outcome: JSON.parse(run.stdout) as Outcome };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, layers: { type: 'string', default: '40' } } });
  const repetitions = Number(values.reps);
  const layers = Number(values.layers);
  const input = path.join(dataDir, `matmul-chain-${layers}x${size}.onnx`);
  if (!existsSync(input) || !existsSync(`${input}.weights`)) {
    process.stderr.write(`generating ${input} (${formatMiB(layers * tensorBytes)} of weights)\n`);
    await createModel(input, layers);
  }
  const weightBytes = (await stat(`${input}.weights`)).size;
  const output = path.join(dataDir, 'quantized.onnx');
  const copies = [path.join(dataDir, 'copy.onnx'), path.join(dataDir, 'copy.weights')];
  const cleanup = async (): Promise<void> => {
    for (const file of [output, `${output}.data`, ...copies]) await rm(file, { force: true });
  };

  const baseline: ChildRun[] = [];
  const variants = [
    { label: '--no-verify (one output file)', flags: ['--no-verify'] },
    { label: '--no-verify --external-data', flags: ['--no-verify', '--external-data'] },
  ];
  const runs = variants.map(() => [] as { run: ChildRun; outcome: Outcome }[]);
  const copy = (): Promise<ChildRun> => runNodeChild(['--input-type=module', '-e', copyScript, input, copies[0]!, `${input}.weights`, copies[1]!]);
  for (let rep = 0; rep < repetitions; rep++) {
    for (const [index, variant] of variants.entries()) {
      // Alternate the order, so that a drift in machine speed favours neither.
      if (rep % 2 === 0) {
        baseline.push(await copy());
        await cleanup();
        runs[index]!.push(await quantizeRun(input, output, variant.flags));
      } else {
        runs[index]!.push(await quantizeRun(input, output, variant.flags));
        await cleanup();
        baseline.push(await copy());
      }
      await cleanup();
    }
  }
  const verified = await quantizeRun(input, output, []);
  await cleanup();

  const baselineMs = median(baseline.map((run) => run.wallMs));
  const rows = variants.map((variant, index) => {
    const list = runs[index]!;
    const ratios = list.map((entry, rep) => entry.run.wallMs / baseline[rep * variants.length + index]!.wallMs);
    const peak = median(list.map((entry) => entry.run.peakRssBytes));
    const outcome = list[0]!.outcome;
    const written = (outcome.output?.sizeBytes ?? 0) + (outcome.output?.externalData?.sizeBytes ?? 0);
    return [
      variant.label,
      `${median(list.map((entry) => entry.run.wallMs)).toFixed(0)} ms`,
      `quantize ${median(list.map((entry) => entry.outcome.timingsMs.quantize)).toFixed(0)} ms, save ${median(list.map((entry) => entry.outcome.timingsMs.save)).toFixed(0)} ms`,
      formatRatio(ratios),
      formatMiB(peak),
      `${((peak / weightBytes) * 100).toFixed(0)} %`,
      formatMiB(written),
    ];
  });
  rows.push([
    'default (with verification)',
    `${verified.run.wallMs.toFixed(0)} ms`,
    `quantize ${verified.outcome.timingsMs.quantize.toFixed(0)} ms, verify ${verified.outcome.timingsMs.verify.toFixed(0)} ms, lowest cosine ${verified.outcome.verification?.worstCosine?.toFixed(5) ?? '-'}`,
    `${(verified.run.wallMs / baselineMs).toFixed(2)}× (one run)`,
    formatMiB(verified.run.peakRssBytes),
    `${((verified.run.peakRssBytes / weightBytes) * 100).toFixed(0)} %`,
    '',
  ]);
  rows.push(['baseline: copy model + weights, fsync', `${baselineMs.toFixed(0)} ms`, '', '', formatMiB(median(baseline.map((run) => run.peakRssBytes))), '', formatMiB(weightBytes)]);

  process.stdout.write(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${formatMiB(totalmem())} RAM, Node ${process.version}\n`);
  process.stdout.write(`Model: ${layers} × MatMul [${size}, ${size}] float32, ${formatMiB(weightBytes)} of weights in external data; ${repetitions} repetitions\n\n`);
  process.stdout.write(markdownTable(['run', 'wall (median)', 'phases (median)', 'ratio to baseline (IQR)', 'peak RSS', 'RSS / weights', 'written'], rows) + '\n');
}

await main();
