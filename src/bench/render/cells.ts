/**
 * Text of the cells every renderer shows, so the table, Markdown, JUnit and
 * HTML reports print the same numbers the same way.
 */
import { describeRatio } from '../gates.js';
import type { BenchReport, Comparison, MeasuredRow, Verdict } from '../report-types.js';
import type { PercentileEstimate } from '../statistics.js';
import { formatDuration, formatMiB, formatPercent, formatRate } from '../units.js';

/** Marks a percentile the sample cannot support. */
export const UNSUPPORTED_MARK = '*';

/** `1.23 ms`, or `1.23 ms*` when unsupported. */
export function percentileCell(estimate: PercentileEstimate): string {
  return formatDuration(estimate.value) + (estimate.supported ? '' : UNSUPPORTED_MARK);
}

/** `1.23 ms [1.20–1.26]`: the value with its confidence interval when there is one. */
export function percentileWithInterval(estimate: PercentileEstimate): string {
  const value = percentileCell(estimate);
  if (estimate.interval === null) return value;
  return `${value} [${formatDuration(estimate.interval.low)}–${formatDuration(estimate.interval.high)}]`;
}

/** Whether any row shows an unsupported percentile (then the footnote is printed). */
export function hasUnsupportedPercentile(rows: readonly MeasuredRow[]): boolean {
  return rows.some((row) => Object.values(row.statistics.percentiles).some((estimate) => !estimate.supported));
}

/** The footnote explaining {@link UNSUPPORTED_MARK}. */
export const UNSUPPORTED_FOOTNOTE =
  `${UNSUPPORTED_MARK} too few samples for this percentile (p90 needs 10, p95 20, p99 100): the value is the sample maximum, an upper bound, not an estimate.`;

/** `1.23 ms ± 0.05 ms`. */
export function meanCell(row: MeasuredRow): string {
  return `${formatDuration(row.statistics.mean)} ± ${formatDuration(row.statistics.stddev)}`;
}

/** `3 (0 low, 3 high)`. */
export function outlierCell(row: MeasuredRow): string {
  const { low, high } = row.statistics.outliers;
  return low + high === 0 ? '0' : `${low + high} (${low} low, ${high} high)`;
}

export function cvCell(row: MeasuredRow): string {
  return formatPercent(row.statistics.cv);
}

/** `812/s` or `812/s (6,496 items/s)` when an inference holds several items. */
export function throughputCell(row: MeasuredRow): string {
  const inferences = formatRate(row.throughput.inferencesPerSecond);
  return row.itemsPerInference > 1 ? `${inferences} (${formatRate(row.throughput.itemsPerSecond)} items)` : inferences;
}

/** `cpu` when used = requested, else `cuda → cpu`. */
export function providerCell(row: Pick<MeasuredRow, 'provider'>): string {
  const { requested, used } = row.provider;
  return requested === used ? requested : `${requested} → ${used ?? 'none'}`;
}

/** `auto: 1,200 runs, 310 ms` / `fixed: 10 runs, 2.1 ms` (with `, not settled` when auto did not converge). */
export function warmupCell(row: MeasuredRow): string {
  const { warmup } = row.phases;
  const settled = warmup.converged === false ? ', not settled' : '';
  return `${warmup.mode}: ${warmup.iterations.toLocaleString('en-US')} runs, ${formatDuration(warmup.durationMs)}${settled}`;
}

/** `4,000 runs, 3.00 s`. */
export function steadyCell(row: MeasuredRow): string {
  const { steadyState } = row.phases;
  const stopped = steadyState.stoppedBy === 'time-budget' ? ' (time budget)' : '';
  return `${steadyState.iterations.toLocaleString('en-US')} runs, ${formatDuration(steadyState.durationMs)}${stopped}`;
}

/** `1.2 ms in 3` GC pauses. */
export function gcCell(row: MeasuredRow): string {
  return `${formatDuration(row.runtime.gcPauseMs)} in ${row.runtime.gcCount}`;
}

/** p99 event-loop delay. */
export function loopDelayCell(row: MeasuredRow): string {
  return row.runtime.eventLoopDelay === null ? '-' : formatDuration(row.runtime.eventLoopDelay.p99Ms);
}

export function rssCell(row: MeasuredRow): string {
  return formatMiB(row.runtime.peakRssBytes);
}

/** Upper-case verdict word. */
export function verdictWord(verdict: Verdict | null): string {
  return verdict === null ? 'REPORTED' : verdict.toUpperCase();
}

/** `≤ +10.0%` or `-` without a threshold. */
export function thresholdCell(comparison: Comparison): string {
  return comparison.maxRegression === null ? '-' : `≤ +${formatPercent(comparison.maxRegression)}`;
}

export function ratioCell(comparison: Comparison): string {
  return describeRatio(comparison);
}

/** Label of a row id in the report (falls back to the id, e.g. for rows of a baseline file). */
export function labelOf(report: BenchReport, id: string): string {
  return report.rows.find((row) => row.id === id)?.label ?? id;
}

/** The measured rows. */
export function measuredRows(report: BenchReport): MeasuredRow[] {
  return report.rows.filter((row): row is MeasuredRow => row.status === 'measured');
}

/** One line about where the numbers come from. */
export function environmentLine(report: BenchReport): string {
  const env = report.environment;
  return `mlctl ${env.mlctlVersion}, onnxruntime-node ${env.onnxruntimeNodeVersion}, Node ${env.nodeVersion}, ` +
    `${env.os.type} ${env.os.release} ${env.os.arch}, ${env.cpu.model} (${env.cpu.availableParallelism} CPUs)`;
}

/** One line about how inputs were made and how sampling ran. */
export function settingsLine(report: BenchReport): string {
  const s = report.settings;
  const inputs = s.inputs.source === 'random' ? `random inputs (seed ${s.inputs.seed})` : `inputs from ${s.inputs.dir}`;
  const steady = s.iterations !== null ? `${s.iterations} runs` : `${formatDuration(s.durationMs ?? 0)}`;
  const threads = s.intraOpThreads === null ? 'default threads' : `intra-op threads ${s.intraOpThreads.join(',')}`;
  return `${inputs}; warm-up ${s.warmup}; steady state ${steady}; ${threads}; graph optimization ${s.graphOptimizationLevel}; ${s.executionMode} execution`;
}
