/**
 * From `mlctl bench` command-line options (strings, as commander gives them)
 * to validated {@link BenchSettings} and output targets. Every mistake is a
 * UsageError (exit 2) quoting the value, raised before anything is measured.
 */
import { UsageError } from '../common/errors.js';
import { parseShapeSpec } from '../common/shape-spec.js';
import type { ExecutionProviderName, GraphOptimizationLevel } from '../runtime/types.js';
import { parseAssertion } from './assertions.js';
import { DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES } from './bootstrap.js';
import type { BenchSettings } from './report-types.js';
import { parseDurationMs, parseIntegerList, parsePercent, parsePositiveInteger } from './units.js';

/** Options of `mlctl bench`, as parsed by commander (camelCase keys). */
export interface BenchCliOptions {
  ep: string;
  skipUnavailable?: boolean;
  batch?: string;
  threads?: string;
  interOpThreads?: string;
  graphOptimization: string;
  executionMode: string;
  /** Calls in flight (default 1); with --url, levels such as 1,4,16,64. */
  concurrency?: string;
  seed: string;
  shape: string[];
  inputs?: string;
  warmup: string;
  iterations?: string;
  duration?: string;
  timeBudget: string;
  assert: string[];
  baseline?: string;
  maxRegression?: string;
  vs?: string;
  strict?: boolean;
  /** true: JSON on stdout; a path: JSON in that file (`-` is stdout). */
  json?: string | boolean;
  markdown?: string;
  junit?: string;
  html?: string;
  force?: boolean;
  /** Load-client mode: the base URL of a KServe V2 server to drive instead of local models. */
  url?: string;
  /** With --url: the model name on the server. */
  model?: string;
  /** With --url: the model version (the server's default when absent). */
  modelVersion?: string;
  /** With --url: send tensors as Triton binary data instead of JSON. */
  binary?: boolean;
  /** With --url: bearer API key (default: env MLCTL_API_KEY). */
  apiKey?: string;
  /** With --url: failed requests tolerated per concurrency level (default 0). */
  maxFailures?: string;
}

/** Execution providers mlctl knows how to ask for. */
export const KNOWN_PROVIDERS: readonly ExecutionProviderName[] = ['cpu', 'cuda', 'tensorrt', 'webgpu', 'dml', 'coreml'];
/** Steady-state time when neither --iterations nor --duration is given. */
export const DEFAULT_DURATION_MS = 3000;
/** Fewest steady-state runs of a duration-bound row. */
export const MIN_ITERATIONS = 10;
/**
 * Intra-op threads of `--vs` sessions unless --threads says otherwise. Two
 * interleaved sessions with thread pools steal each other's cores (an idle
 * pool spins for a while after its run); on a busy 2-CPU machine this made a
 * model 1.4× slower measure as 1.04× in 2 of 20 runs, and 0 of 20 with one
 * thread (benchmarks/RESULTS.md).
 */
export const VS_DEFAULT_INTRA_OP_THREADS = 1;

/** Where each report goes; undefined when not asked for. */
export interface OutputTargets {
  /** 'stdout' or a file path. */
  json?: string;
  markdown?: string;
  junit?: string;
  html?: string;
}

function parseProviders(text: string): ExecutionProviderName[] {
  const names = text.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (names.length === 0) throw new UsageError(`--ep '${text}' names no execution provider; expected e.g. cpu or cpu,cuda`);
  for (const name of names) {
    if (!KNOWN_PROVIDERS.includes(name as ExecutionProviderName)) {
      throw new UsageError(`--ep '${name}' is not an execution provider mlctl knows; expected ${KNOWN_PROVIDERS.join(', ')}`);
    }
  }
  return [...new Set(names)] as ExecutionProviderName[];
}


function parseWarmup(text: string): number | 'auto' {
  if (text.trim().toLowerCase() === 'auto') return 'auto';
  if (!/^\s*\d+\s*$/.test(text)) throw new UsageError(`--warmup '${text}' is neither 'auto' nor a number of runs`);
  return Number(text);
}

function parseSeed(text: string): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > 0xffffffff) throw new UsageError(`--seed '${text}' is not an integer from 0 to 4294967295`);
  return value;
}

function choice<T extends string>(text: string, option: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T)) throw new UsageError(`${option} '${text}' is not one of ${allowed.join(', ')}`);
  return text as T;
}

/**
 * Validates the options and fills in defaults.
 * @throws UsageError for a bad value or a combination that does not make sense.
 */
export function settingsFromOptions(models: readonly string[], options: BenchCliOptions): BenchSettings {
  if (options.url !== undefined) return endpointSettings(models, options);
  if (models.length === 0) throw new UsageError('no model given; expected mlctl bench <model.onnx...> (or --url <server> --model <name>)');
  for (const flag of ['model', 'modelVersion', 'binary', 'apiKey', 'maxFailures'] as const) {
    if (options[flag] !== undefined) throw new UsageError(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --url only`);
  }
  if (options.iterations !== undefined && options.duration !== undefined) {
    throw new UsageError('--iterations and --duration both say when to stop; give one of them');
  }
  if (options.inputs !== undefined && (options.batch !== undefined || options.shape.length > 0)) {
    throw new UsageError('--inputs gives the tensors themselves; --batch and --shape apply to random inputs only');
  }
  const concurrency = parsePositiveInteger(options.concurrency ?? '1', '--concurrency');
  if (options.vs !== undefined && concurrency > 1) {
    throw new UsageError('--vs runs the two models interleaved, one call at a time; it cannot be combined with --concurrency');
  }
  if (options.maxRegression !== undefined && options.vs === undefined && options.baseline === undefined) {
    throw new UsageError('--max-regression needs something to compare with: --vs <baseline.onnx> or --baseline <report.json>');
  }
  for (const text of options.assert) parseAssertion(text);
  const shapes = Object.fromEntries(options.shape.map(parseShapeSpec));
  const seed = parseSeed(options.seed);
  const iterations = options.iterations === undefined ? null : parsePositiveInteger(options.iterations, '--iterations');
  return {
    models: [...models],
    vs: options.vs ?? null,
    executionProviders: parseProviders(options.ep),
    batches: options.batch === undefined ? null : parseIntegerList(options.batch, '--batch'),
    intraOpThreads: options.threads !== undefined
      ? parseIntegerList(options.threads, '--threads')
      : options.vs !== undefined ? [VS_DEFAULT_INTRA_OP_THREADS] : null,
    interOpThreads: options.interOpThreads === undefined ? null : parsePositiveInteger(options.interOpThreads, '--inter-op-threads'),
    graphOptimizationLevel: choice<GraphOptimizationLevel>(options.graphOptimization, '--graph-optimization', ['disabled', 'basic', 'extended', 'all']),
    executionMode: choice(options.executionMode, '--execution-mode', ['sequential', 'parallel'] as const),
    concurrency,
    inputs: options.inputs === undefined ? { source: 'random', seed, shapes } : { source: 'files', dir: options.inputs },
    warmup: parseWarmup(options.warmup),
    iterations,
    durationMs: iterations !== null ? null : options.duration === undefined ? DEFAULT_DURATION_MS : parseDurationMs(options.duration, '--duration'),
    timeBudgetMs: parseDurationMs(options.timeBudget, '--time-budget'),
    minIterations: MIN_ITERATIONS,
    skipUnavailable: options.skipUnavailable === true,
    bootstrap: { resamples: DEFAULT_RESAMPLES, confidence: DEFAULT_CONFIDENCE, seed },
    asserts: [...options.assert],
    baseline: options.baseline ?? null,
    maxRegression: options.maxRegression === undefined ? null : parsePercent(options.maxRegression, '--max-regression'),
    strict: options.strict === true,
  };
}

/** Where the reports go, from --json, --markdown, --junit and --html. */
export function outputTargets(options: BenchCliOptions): OutputTargets {
  const targets: OutputTargets = {};
  if (options.json !== undefined && options.json !== false) targets.json = options.json === true || options.json === '-' ? 'stdout' : options.json;
  if (options.markdown !== undefined) targets.markdown = options.markdown;
  if (options.junit !== undefined) targets.junit = options.junit;
  if (options.html !== undefined) targets.html = options.html;
  const files = Object.values(targets).filter((target) => target !== 'stdout');
  const repeated = files.find((file, index) => files.indexOf(file) !== index);
  if (repeated !== undefined) throw new UsageError(`'${repeated}' is given for two reports; give each report its own file`);
  return targets;
}

/**
 * Settings of the load-client mode (`--url`): a server's model instead of
 * local files. Session options do not apply; `--concurrency` is a list of
 * levels there (see {@link endpointConcurrency}).
 */
function endpointSettings(models: readonly string[], options: BenchCliOptions): BenchSettings {
  if (models.length > 0) throw new UsageError(`--url benchmarks a server's model; drop the model files (${models.join(', ')}) or --url`);
  if (options.model === undefined || options.model === '') throw new UsageError('--url needs --model <name>: the model to drive on the server');
  for (const [flag, value] of [['--vs', options.vs], ['--batch', options.batch], ['--threads', options.threads], ['--inputs', options.inputs], ['--iterations', options.iterations]] as const) {
    if (value !== undefined) throw new UsageError(`${flag} does not apply to --url (the server runs the model)`);
  }
  return settingsFromOptions([options.url!], { ...options, url: undefined, model: undefined, modelVersion: undefined, binary: undefined, apiKey: undefined, maxFailures: undefined, concurrency: '1' });
}

/** `--concurrency` with --url: levels, comma-separated, e.g. 1,4,16,64 (default: those four). */
export function endpointConcurrency(options: BenchCliOptions): number[] {
  return options.concurrency === undefined ? [1, 4, 16, 64] : parseIntegerList(options.concurrency, '--concurrency');
}
