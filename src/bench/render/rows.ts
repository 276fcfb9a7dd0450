/**
 * Table rows more than one report shows: the same columns in the same order,
 * unescaped, so the table, Markdown and HTML renderers only format them
 * (escape, mark verdicts, add a column of their own).
 */
import type { BenchReport, Comparison, MeasuredRow } from '../report-types.js';
import { formatDuration } from '../units.js';
import { cvCell, labelOf, meanCell, outlierCell, percentileCell, percentileWithInterval, ratioCell, thresholdCell } from './cells.js';

/** Columns of the steady-state latency table, filled by {@link latencyCells}. */
export const LATENCY_HEADER: readonly string[] = ['row', 'runs', 'p50 [95% CI]', 'p90', 'p95 [95% CI]', 'p99', 'max', 'mean ± sd', 'cv', 'outliers'];

/** One measured row's latency cells, in {@link LATENCY_HEADER} order. */
export function latencyCells(row: MeasuredRow): string[] {
  const { percentiles } = row.statistics;
  return [
    row.label,
    row.statistics.count.toLocaleString('en-US'),
    percentileWithInterval(percentiles.p50),
    percentileCell(percentiles.p90),
    percentileWithInterval(percentiles.p95),
    percentileCell(percentiles.p99),
    formatDuration(row.statistics.max),
    meanCell(row),
    cvCell(row),
    outlierCell(row),
  ];
}

/** Columns of the comparisons table; the last, `verdict`, each renderer fills its own way. */
export const COMPARISON_HEADER: readonly string[] = ['candidate', 'baseline', 'p50 ratio (candidate / baseline)', 'threshold', 'verdict'];

/**
 * Candidate, baseline, ratio and threshold of a comparison: every column of
 * {@link COMPARISON_HEADER} but the verdict. A `baseline` comparison names the
 * row and the saved report it came from.
 */
export function comparisonCells(report: BenchReport, comparison: Comparison): string[] {
  const baseline = comparison.kind === 'vs' ? labelOf(report, comparison.baselineRowId) : `${comparison.baselineRowId} in ${comparison.baselineReport ?? ''}`;
  return [labelOf(report, comparison.candidateRowId), baseline, ratioCell(comparison), thresholdCell(comparison)];
}

/** Columns of the gates table (Markdown and HTML). */
export const GATE_HEADER: readonly string[] = ['verdict', 'gate', 'row', 'observed', 'detail'];

/** The report's notes, then each measured row's notes prefixed with the row's label. */
export function reportNotes(report: BenchReport, measured: readonly MeasuredRow[]): string[] {
  return [...report.notes, ...measured.flatMap((row) => row.notes.map((note) => `${row.label}: ${note}`))];
}
