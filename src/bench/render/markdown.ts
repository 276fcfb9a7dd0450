/**
 * The report as GitHub-flavoured Markdown (`--markdown out.md`), e.g. for a
 * CI step summary: verdict first, then gates, latency, comparisons, phases.
 */
import type { BenchReport } from '../report-types.js';
import {
  environmentLine,
  hasUnsupportedPercentile,
  measuredRows,
  providerCell,
  settingsLine,
  steadyCell,
  throughputCell,
  UNSUPPORTED_FOOTNOTE,
  verdictWord,
  warmupCell,
} from './cells.js';
import { COMPARISON_HEADER, comparisonCells, GATE_HEADER, LATENCY_HEADER, latencyCells, reportNotes } from './rows.js';
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
      GATE_HEADER,
      report.gates.map((gate) => [`${verdictIcon[gate.verdict]} ${verdictWord(gate.verdict)}`, gate.name, gate.rowLabel, gate.observed, gate.detail]),
    ));
  }
  if (measured.length > 0) {
    parts.push('### Latency (steady state)', table(
      [...LATENCY_HEADER, 'throughput'],
      measured.map((row) => [...latencyCells(row), throughputCell(row)]),
    ));
    if (hasUnsupportedPercentile(measured)) parts.push(`<sub>${cell(UNSUPPORTED_FOOTNOTE)}</sub>`);
  }
  if (report.comparisons.length > 0) {
    parts.push('### Comparisons', table(
      COMPARISON_HEADER,
      report.comparisons.map((comparison) => [
        ...comparisonCells(report, comparison),
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
  const notes = reportNotes(report, measured);
  if (notes.length > 0) parts.push('### Notes', notes.map((note) => `- ${note}`).join('\n'));
  return parts.join('\n\n') + '\n';
}
