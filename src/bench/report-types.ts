/**
 * The bench report: what `mlctl bench --json` writes (schema `mlctl-bench`,
 * version 1) and what every renderer and gate reads. Times are milliseconds
 * (fields end in `Ms`), rates are per second, sizes are bytes.
 *
 * The types do not depend on how samples were produced: a load client that
 * times HTTP requests fills the same rows (target kind `endpoint`) and reuses
 * the statistics, gates and renderers.
 *
 * Compatibility: fields may be added within a schema version; renaming,
 * removing or changing the meaning of a field bumps `schemaVersion`.
 */
import type { ExecutionProviderName, GraphOptimizationLevel, ProviderStatus } from '../runtime/types.js';
import type { ConfidenceInterval } from './bootstrap.js';
import type { SampleStatistics } from './statistics.js';

export const BENCH_SCHEMA = 'mlctl-bench';
export const BENCH_SCHEMA_VERSION = 1;

/** Outcome of a gate: clearly fine, clearly failed, or not decidable from the data. */
export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** Where the numbers come from, to judge whether two reports are comparable. */
export interface EnvironmentFingerprint {
  mlctlVersion: string;
  onnxruntimeNodeVersion: string;
  nodeVersion: string;
  v8Version: string;
  os: { type: string; platform: string; release: string; arch: string };
  cpu: { model: string; logicalCpus: number; availableParallelism: number; speedMHz: number };
  totalMemoryBytes: number;
  /** Execution providers of the installed onnxruntime-node and whether each can be used. */
  providers: ProviderStatus[];
  /** Whether the CI environment variable was set. */
  ci: boolean;
}

/** Where inputs came from. */
export type InputSettings =
  | { source: 'random'; seed: number; shapes: Record<string, number[]> }
  | { source: 'files'; dir: string };

/** The run's settings, echoed from the command line after defaults are applied. */
export interface BenchSettings {
  models: string[];
  /** Baseline model of an interleaved comparison (`--vs`), or null. */
  vs: string | null;
  executionProviders: ExecutionProviderName[];
  /** `--batch` values, or null when the model's shapes were used. */
  batches: number[] | null;
  /** `--threads` (intra-op) values, or null for the runtime's default. */
  intraOpThreads: number[] | null;
  interOpThreads: number | null;
  graphOptimizationLevel: GraphOptimizationLevel;
  executionMode: 'sequential' | 'parallel';
  concurrency: number;
  inputs: InputSettings;
  warmup: number | 'auto';
  /** Steady-state runs per row, or null when `durationMs` decides. */
  iterations: number | null;
  /** Steady-state time per row, or null when `iterations` decides. */
  durationMs: number | null;
  /** Hard limit on warm-up plus steady state of one row. */
  timeBudgetMs: number;
  /** Fewest steady-state runs a duration-bound row takes (unless the time budget runs out). */
  minIterations: number;
  skipUnavailable: boolean;
  bootstrap: { resamples: number; confidence: number; seed: number };
  asserts: string[];
  baseline: string | null;
  /** Largest tolerated slowdown as a fraction (0.1 = 10%), or null. */
  maxRegression: number | null;
  strict: boolean;
}

/** What was benchmarked. */
export type BenchTarget =
  | { kind: 'model'; path: string; name: string }
  | { kind: 'endpoint'; url: string; name: string };

/** The session settings of one row (one combination of the sweeps). */
export interface RowConfig {
  executionProvider: ExecutionProviderName;
  batch: number | null;
  intraOpThreads: number | null;
  interOpThreads: number | null;
  graphOptimizationLevel: GraphOptimizationLevel;
  executionMode: 'sequential' | 'parallel';
  concurrency: number;
}

/** One fed input. */
export interface InputDescription {
  name: string;
  dtype: string;
  dims: number[];
  /** `random` or the file it was read from. */
  source: string;
}

/** Phases of a row, reported apart so first-run and warm-up costs never mix into the statistics. */
export interface PhaseTimes {
  sessionCreationMs: number;
  firstRunMs: number;
  warmup: {
    mode: 'fixed' | 'auto';
    iterations: number;
    durationMs: number;
    /** For `auto`: whether successive windows agreed before the warm-up limit; null for a fixed count. */
    converged: boolean | null;
  };
  steadyState: {
    iterations: number;
    durationMs: number;
    /** What ended the steady state. */
    stoppedBy: 'iterations' | 'duration' | 'time-budget';
  };
}

/** What the JavaScript runtime did while the steady state ran, to tell its noise from model time. */
export interface RuntimeNoise {
  /** Total garbage-collection pause time (perf_hooks `gc` entries). */
  gcPauseMs: number;
  gcCount: number;
  /** Event-loop delay (perf_hooks monitorEventLoopDelay); onnxruntime-node runs each inference on the loop, so it includes model time. */
  eventLoopDelay: { meanMs: number; p50Ms: number; p99Ms: number; maxMs: number } | null;
  /**
   * Peak resident set size of the process so far (the operating system's high-water
   * mark: it includes earlier rows and mlctl's validation read of each model file).
   */
  peakRssBytes: number;
}

interface RowBase {
  /** Unique within the report. */
  id: string;
  /** Matches the same target and settings across reports (used by `--baseline`). */
  key: string;
  /** Short human name, e.g. `mlp.onnx cpu batch 8 threads 2`. */
  label: string;
  target: BenchTarget;
  /** `single` for a plain row; `candidate`/`baseline` for the two halves of an interleaved comparison. */
  role: 'single' | 'candidate' | 'baseline';
  /** Shared by the two rows of one interleaved comparison; null otherwise. */
  pairId: string | null;
  config: RowConfig;
}

/** A row that ran. */
export interface MeasuredRow extends RowBase {
  status: 'measured';
  /** The provider asked for and the one the session was created with (mlctl never falls back). */
  provider: { requested: ExecutionProviderName; used: ExecutionProviderName };
  inputs: InputDescription[];
  /** Items per inference for items/s: the first dimension of the first input (the batch), else 1. */
  itemsPerInference: number;
  phases: PhaseTimes;
  /** Statistics of the steady-state samples, in milliseconds. */
  statistics: SampleStatistics;
  throughput: { inferencesPerSecond: number; itemsPerSecond: number };
  runtime: RuntimeNoise;
  /** Steady-state latencies in completion order. */
  samplesMs: number[];
  warmupSamplesMs: number[];
  notes: string[];
}

/** A row that was not run (`--skip-unavailable`). */
export interface SkippedRow extends RowBase {
  status: 'skipped';
  provider: { requested: ExecutionProviderName; used: null };
  reason: string;
}

export type BenchRow = MeasuredRow | SkippedRow;

/** A candidate/baseline ratio of a statistic with its confidence interval. */
export interface Comparison {
  /** `vs`: interleaved in this run; `baseline`: against a saved report. */
  kind: 'vs' | 'baseline';
  candidateRowId: string;
  /** The baseline row's id (in this report for `vs`, in the baseline file for `baseline`). */
  baselineRowId: string;
  /** The baseline report file for `baseline`; null for `vs`. */
  baselineReport: string | null;
  statistic: 'p50';
  /** candidate / baseline: above 1 means the candidate is slower. */
  ratio: number;
  interval: ConfidenceInterval;
  /** Whether the interval came from a paired (interleaved) bootstrap. */
  paired: boolean;
  /**
   * Interleaved runs: the ratio in each of five blocks of consecutive rounds (null for short runs
   * and for `baseline`); a block on the other side of the threshold makes the verdict inconclusive.
   */
  blockRatios: number[] | null;
  maxRegression: number | null;
  /** Null when no `--max-regression` was given. */
  verdict: Verdict | null;
}

/** One checked gate, for one row. */
export interface GateResult {
  kind: 'assert' | 'vs' | 'baseline';
  /** The assertion as written, or a description of the comparison. */
  name: string;
  rowId: string;
  rowLabel: string;
  verdict: Verdict;
  /** What was measured, e.g. `p95 = 12.3 ms`. */
  observed: string;
  /** Why it passed, failed or was inconclusive. */
  detail: string;
}

/** The whole report. */
export interface BenchReport {
  schema: typeof BENCH_SCHEMA;
  schemaVersion: typeof BENCH_SCHEMA_VERSION;
  /** ISO 8601 time the run started. */
  createdAt: string;
  /** Wall time of the whole run. */
  durationMs: number;
  environment: EnvironmentFingerprint;
  settings: BenchSettings;
  rows: BenchRow[];
  comparisons: Comparison[];
  gates: GateResult[];
  /** `fail` if any gate failed, else `inconclusive` if any was, else `pass` (also with no gates). */
  verdict: Verdict;
  /** Warnings about the run as a whole (skipped providers, noisy machine, …). */
  notes: string[];
}
