/**
 * `mlctl bench <model.onnx...>`: latency benchmarks with gates a CI job can
 * trust. The option table is below; the work is in src/bench.
 */
import { UsageError } from '../../common/errors.js';
import { defineCommand } from '../command-definition.js';
import type { BenchCliOptions } from '../../bench/options.js';

/** Collects a repeatable option into a list. */
function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? (previous as string[]) : []), value];
}

export const benchCommand = defineCommand<[models: string[]], BenchCliOptions>({
  name: 'bench',
  summary: 'measure inference latency and throughput, with CI gates',
  description:
    'Benchmark ONNX models on onnxruntime: session creation, first run, warm-up and steady state reported apart; ' +
    'nearest-rank percentiles with bootstrap confidence intervals (a percentile the sample cannot support is marked); ' +
    'gates (--assert, --baseline, --vs) that pass, fail, or report inconclusive when the data cannot tell. ' +
    'Exit codes: 0 pass (or inconclusive without --strict), 1 a gate failed, 2 usage, 3 bad model or input, 4 provider or runtime failure.',
  arguments: [{ name: 'models', description: 'the .onnx files to benchmark (candidates when --vs is given; none with --url)', variadic: true, required: false }],
  options: [
    { flags: '--ep <providers>', description: 'execution providers, comma-separated: cpu, cuda, tensorrt, ... (one row each)', defaultValue: 'cpu' },
    { flags: '--skip-unavailable', description: 'skip an unavailable execution provider with a note instead of failing (exit 4)' },
    { flags: '--batch <sizes>', description: "batch sizes, comma-separated (one row each); sets each input's first dynamic dimension" },
    { flags: '--threads <counts>', description: 'intra-op thread counts, comma-separated (one row each); default: the runtime chooses (1 with --vs)' },
    { flags: '--inter-op-threads <n>', description: 'threads across operators (with --execution-mode parallel)' },
    { flags: '--graph-optimization <level>', description: 'graph optimization level', choices: ['disabled', 'basic', 'extended', 'all'], defaultValue: 'all' },
    { flags: '--execution-mode <mode>', description: 'run independent operators one after another or in parallel', choices: ['sequential', 'parallel'], defaultValue: 'sequential' },
    { flags: '--concurrency <n>', description: 'run() calls in flight at once (throughput mode; default 1); with --url, levels, e.g. 1,4,16,64 (the default there)' },
    { flags: '--url <server>', description: 'drive a KServe V2 server (mlctl serve, Triton, KServe) instead of local models, like perf_analyzer' },
    { flags: '--model <name>', description: 'with --url: the model to drive' },
    { flags: '--model-version <v>', description: "with --url: the model version (default: the server's default)" },
    { flags: '--binary', description: "with --url: send tensors with Triton's binary tensor data extension instead of JSON" },
    { flags: '--api-key <key>', description: 'with --url: bearer API key (default: environment variable MLCTL_API_KEY)' },
    { flags: '--max-failures <n>', description: 'with --url: failed requests tolerated per concurrency level (default 0)' },
    { flags: '--seed <n>', description: 'seed of the random inputs and of the bootstrap', defaultValue: '0' },
    { flags: '--shape <name=dims>', description: 'shape of a random input, e.g. input=1x3x224x224 (repeatable)', parse: collect, defaultValue: [] },
    { flags: '--inputs <dir>', description: 'read inputs from <dir>: one .pb (TensorProto), .npy or .json file per input, named after it' },
    { flags: '--warmup <n|auto>', description: "warm-up runs, or 'auto': until successive windows agree within 5%", defaultValue: 'auto' },
    { flags: '--iterations <n>', description: 'steady-state runs per row (rounds with --vs)' },
    { flags: '--duration <time>', description: 'steady-state time per row, e.g. 10s (default 3s unless --iterations)' },
    { flags: '--time-budget <time>', description: 'hard limit on warm-up plus steady state of each row', defaultValue: '10m' },
    { flags: '--assert <expr>', description: "gate on a statistic, e.g. 'p95<20ms', 'mean<=2ms', 'throughput>500/s', 'cv<5%' (repeatable)", parse: collect, defaultValue: [] },
    { flags: '--baseline <report.json>', description: 'compare with a report written by --json' },
    { flags: '--max-regression <percent>', description: 'fail when slower than the baseline by more than this, e.g. 10% (whole confidence interval beyond it)' },
    { flags: '--vs <baseline.onnx>', description: 'benchmark each model against this one, interleaved in one process, and report the p50 ratio (one intra-op thread unless --threads)' },
    { flags: '--strict', description: 'exit 1 on inconclusive gates too' },
    { flags: '--json [path]', description: 'write the JSON report (schema mlctl-bench 1) to path, or print only it on stdout' },
    { flags: '--markdown <path>', description: 'write a Markdown report (e.g. for a CI step summary)' },
    { flags: '--junit <path>', description: 'write JUnit XML, one test case per gate' },
    { flags: '--html <path>', description: 'write a self-contained HTML report with a histogram and a timeline per row' },
    { flags: '--force', description: 'overwrite existing report files' },
  ],
  examples: [
    'mlctl bench model.onnx',
    "mlctl bench model.onnx --batch 1,8,32 --threads 1,2 --assert 'p95<20ms' --junit bench.xml",
    'mlctl bench model.int8.onnx --vs model.onnx --max-regression 10%',
    'mlctl bench model.onnx --json base.json && mlctl bench model.onnx --baseline base.json --max-regression 10%',
    'mlctl bench model.onnx --ep cpu,cuda --skip-unavailable --html report.html',
  ],

  async run([models], options, context) {
    const { settingsFromOptions, outputTargets } = await import('../../bench/options.js');
    const { checkOutputTargets, gateOutcome, stdoutText, writeReportFiles } = await import('../../bench/outputs.js');
    const { runBench } = await import('../../bench/run-bench.js');
    const { withSpinner } = await import('../spinner.js');

    const settings = settingsFromOptions(models, options);
    const targets = outputTargets(options);
    await checkOutputTargets(targets, options.force === true);
    const report = options.url === undefined
      ? await runBench(settings, { wrapRow: (text, task) => withSpinner(context.stderr, `Benchmarking ${text}`, task) })
      : await withSpinner(context.stderr, `Driving ${options.url}`, () => benchEndpoint(options, settings));
    await writeReportFiles(report, targets, options.force === true);
    context.stdout.write(await stdoutText(report, targets));

    const outcome = gateOutcome(report, settings.strict);
    for (const warning of outcome.warnings) context.stderr.write(`mlctl: warning: ${warning}\n`);
    if (outcome.error !== undefined) throw outcome.error;
  },
});

/** The load-client mode: `--url` with `--model`, one row per concurrency level. */
async function benchEndpoint(options: BenchCliOptions, settings: import('../../bench/report-types.js').BenchSettings): Promise<import('../../bench/report-types.js').BenchReport> {
  const { endpointConcurrency } = await import('../../bench/options.js');
  const { runEndpointBench } = await import('../../serve/load-client/endpoint-bench.js');
  const { loadBaselineReport } = await import('../../bench/baseline.js');
  const maxFailures = options.maxFailures === undefined ? 0 : Number(options.maxFailures);
  if (!Number.isSafeInteger(maxFailures) || maxFailures < 0) throw new UsageError(`--max-failures '${options.maxFailures}' is not a non-negative integer`);
  const baseline = settings.baseline === null ? undefined : await loadBaselineReport(settings.baseline);
  const result = await runEndpointBench({
    url: options.url!,
    model: options.model!,
    version: options.modelVersion,
    concurrency: endpointConcurrency(options),
    binary: options.binary === true,
    apiKey: options.apiKey ?? process.env.MLCTL_API_KEY,
    maxFailures,
  }, settings, baseline);
  return result.report;
}
