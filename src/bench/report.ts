/**
 * Completing a report from measured rows: the interleaved comparisons'
 * ratios, assertion gates, comparisons with a saved baseline, the overall
 * verdict. Shared by every producer of rows (models here, a load client's
 * requests elsewhere).
 */
import type { Assertion } from './assertions.js';
import { compareWithBaseline, environmentDifferences } from './baseline.js';
import { pairedPercentileRatio } from './bootstrap.js';
import { assertionGates, blockRatios, overallVerdict, regressionVerdict } from './gates.js';
import {
  BENCH_SCHEMA,
  BENCH_SCHEMA_VERSION,
  type BenchReport,
  type BenchRow,
  type BenchSettings,
  type Comparison,
  type EnvironmentFingerprint,
  type GateResult,
  type MeasuredRow,
} from './report-types.js';

/**
 * The p50 ratio of an interleaved candidate/baseline pair (rows whose samples
 * were taken round by round), with its paired bootstrap interval and, when
 * `settings.maxRegression` is set, its verdict.
 */
export function interleavedComparison(candidate: MeasuredRow, baseline: MeasuredRow, settings: BenchSettings): Comparison {
  const estimate = pairedPercentileRatio(candidate.samplesMs, baseline.samplesMs, 50, settings.bootstrap);
  const blocks = blockRatios(candidate.samplesMs, baseline.samplesMs);
  return {
    kind: 'vs',
    candidateRowId: candidate.id,
    baselineRowId: baseline.id,
    baselineReport: null,
    statistic: 'p50',
    ratio: estimate.ratio,
    interval: estimate.interval,
    paired: true,
    blockRatios: blocks,
    maxRegression: settings.maxRegression,
    verdict: settings.maxRegression === null ? null : regressionVerdict(estimate.interval, settings.maxRegression, blocks),
  };
}

/** What {@link assembleReport} needs. */
export interface ReportParts {
  settings: BenchSettings;
  environment: EnvironmentFingerprint;
  /** ISO time the run started. */
  createdAt: string;
  /** performance.now() when the run started. */
  started: number;
  rows: BenchRow[];
  /** Comparisons made so far (interleaved ones). */
  comparisons: Comparison[];
  /** Gates decided so far (interleaved comparisons); assertion gates are put first. */
  gates: GateResult[];
  notes: string[];
  assertions: readonly Assertion[];
  /** The saved report of `--baseline`, already loaded. */
  baseline: BenchReport | undefined;
}

/** Evaluates the remaining gates and returns the finished report. */
export function assembleReport(parts: ReportParts): BenchReport {
  const { settings, environment, rows } = parts;
  const comparisons = [...parts.comparisons];
  const gates = [...assertionGates(parts.assertions, rows), ...parts.gates];
  const notes = [...parts.notes];
  if (parts.baseline !== undefined && settings.baseline !== null) {
    const outcome = compareWithBaseline(rows, parts.baseline, settings.baseline, settings.maxRegression, settings.bootstrap);
    comparisons.push(...outcome.comparisons);
    gates.push(...outcome.gates);
    notes.push(...outcome.notes);
    const differences = environmentDifferences(environment, parts.baseline.environment ?? {});
    if (differences.length > 0) notes.push(`the baseline was measured elsewhere (${differences.join('; ')}): ratios include that difference`);
  }
  if (rows.length > 0 && rows.every((row) => row.status === 'skipped')) notes.push('every row was skipped: nothing was measured');
  return {
    schema: BENCH_SCHEMA,
    schemaVersion: BENCH_SCHEMA_VERSION,
    createdAt: parts.createdAt,
    durationMs: performance.now() - parts.started,
    environment,
    settings,
    rows,
    comparisons,
    gates,
    verdict: overallVerdict(gates),
    notes,
  };
}
