/**
 * The report as GitHub-flavoured Markdown (`--markdown out.md`), e.g. for a
 * CI step summary: verdict first, then gates, latency, comparisons, phases.
 */
import type { BenchReport } from '../report-types.js';
import {
  cvCell,
  environmentLine,
  hasUnsupportedPercentile,
  labelOf,
  meanCell,
  measuredRows,
  outlierCell,
  percentileCell,
  percentileWithInterval,
  providerCell,
  ratioCell,
  settingsLine,
  steadyCell,
  thresholdCell,
  throughputCell,
  UNSUPPORTED_FOOTNOTE,
  verdictWord,
  warmupCell,
} from './cells.js';
import { formatDuration } from '../units.js';

/** Escapes text for a table cell. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\*/g, '\\*').replace(/[\r\n]+/g, ' ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [`| ${header.map(cell).join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

const verdictIcon = { pass: '✅', fail: '❌', inconclusive: '⚠️' } as const;

/** Renders the report as Markdown ending with a newline. */
export function renderMarkdown(report: BenchReport): string {
  const measured = measuredRows(report);
  const parts: string[] = ['## mlctl bench'];
  if (report.gates.length > 0) parts.push(`**Verdict: ${verdictIcon[report.verdict]} ${verdictWord(report.verdict)}**`);
  parts.push(`${environmentLine(report)}  \n${settingsLine(report)}`);
  if (report.gates.length > 0) {
    parts.push('### Gates', table(
      ['verdict', 'gate', 'row', 'observed', 'detail'],
      report.gates.map((gate) => [`${verdictIcon[gate.verdict]} ${verdictWord(gate.verdict)}`, gate.name, gate.rowLabel, gate.observed, gate.detail]),
    ));
  }
  if (measured.length > 0) {
    parts.push('### Latency (steady state)', table(
      ['row', 'runs', 'p50 [95% CI]', 'p90', 'p95 [95% CI]', 'p99', 'max', 'mean ± sd', 'cv', 'outliers', 'throughput'],
      measured.map((row) => {
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
          throughputCell(row),
        ];
      }),
    ));
    if (hasUnsupportedPercentile(measured)) parts.push(`<sub>${cell(UNSUPPORTED_FOOTNOTE)}</sub>`);
  }
  if (report.comparisons.length > 0) {
    parts.push('### Comparisons', table(
      ['candidate', 'baseline', 'p50 ratio (candidate / baseline)', 'threshold', 'verdict'],
      report.comparisons.map((comparison) => [
        labelOf(report, comparison.candidateRowId),
        comparison.kind === 'vs' ? labelOf(report, comparison.baselineRowId) : `${comparison.baselineRowId} in ${comparison.baselineReport ?? ''}`,
        ratioCell(comparison),
        thresholdCell(comparison),
        comparison.verdict === null ? '-' : `${verdictIcon[comparison.verdict]} ${verdictWord(comparison.verdict)}`,
      ]),
    ));
  }
  parts.push('### Phases', table(
    ['row', 'provider', 'session', 'first run', 'warm-up', 'steady state'],
    report.rows.map((row) => row.status === 'skipped'
      ? [row.label, `${row.provider.requested} (skipped)`, '-', '-', '-', row.reason]
      : [row.label, providerCell(row), formatDuration(row.phases.sessionCreationMs), formatDuration(row.phases.firstRunMs), warmupCell(row), steadyCell(row)]),
  ));
  const notes = [...report.notes, ...measured.flatMap((row) => row.notes.map((note) => `${row.label}: ${note}`))];
  if (notes.length > 0) parts.push('### Notes', notes.map((note) => `- ${note}`).join('\n'));
  return parts.join('\n\n') + '\n';
}
