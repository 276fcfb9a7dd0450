/**
 * The report as plain-text tables for a terminal (`mlctl bench` without
 * `--json` on stdout): latency, throughput and phases, comparisons, gates.
 */
import Table from 'cli-table3';
import type { BenchReport } from '../report-types.js';
import {
  environmentLine,
  gcCell,
  hasUnsupportedPercentile,
  loopDelayCell,
  measuredRows,
  providerCell,
  rssCell,
  settingsLine,
  steadyCell,
  throughputCell,
  UNSUPPORTED_FOOTNOTE,
  verdictWord,
  warmupCell,
} from './cells.js';
import { COMPARISON_HEADER, comparisonCells, LATENCY_HEADER, latencyCells, reportNotes } from './rows.js';
import { formatDuration } from '../units.js';

function newTable(head: readonly string[]): Table.Table {
  // No colours: output is often piped, and tests compare it as text.
  return new Table({ head: [...head], style: { head: [], border: [], compact: true } });
}

function latencyTable(report: BenchReport): string {
  const table = newTable(LATENCY_HEADER);
  for (const row of measuredRows(report)) table.push(latencyCells(row));
  return `Latency (steady state)\n${table.toString()}`;
}

function phaseTable(report: BenchReport): string {
  const table = newTable(['row', 'provider', 'throughput', 'session', 'first run', 'warm-up', 'steady state', 'GC', 'loop delay p99', 'peak RSS']);
  for (const row of report.rows) {
    if (row.status === 'skipped') {
      table.push([row.label, `${row.provider.requested} (skipped)`, { colSpan: 8, content: row.reason }]);
      continue;
    }
    table.push([
      row.label,
      providerCell(row),
      throughputCell(row),
      formatDuration(row.phases.sessionCreationMs),
      formatDuration(row.phases.firstRunMs),
      warmupCell(row),
      steadyCell(row),
      gcCell(row),
      loopDelayCell(row),
      rssCell(row),
    ]);
  }
  return `Throughput and phases\n${table.toString()}`;
}

function comparisonTable(report: BenchReport): string {
  const table = newTable(COMPARISON_HEADER);
  for (const comparison of report.comparisons) table.push([...comparisonCells(report, comparison), verdictWord(comparison.verdict)]);
  return `Comparisons\n${table.toString()}`;
}

/** Gate lines: `PASS  p95<20ms  mlp.onnx cpu: p95 = 1.20 ms < 20.0 ms`. */
export function gateLines(report: BenchReport): string[] {
  return report.gates.map((gate) => `${verdictWord(gate.verdict).padEnd(12)} ${gate.name}  ${gate.rowLabel}: ${gate.detail}`);
}

/**
 * Renders the report as titled tables separated by blank lines, then the
 * footnote, the gates and the notes. The text ends with a newline.
 */
export function renderTable(report: BenchReport): string {
  const measured = measuredRows(report);
  const sections: string[] = [`mlctl bench: ${environmentLine(report)}\n${settingsLine(report)}`];
  if (measured.length > 0) sections.push(latencyTable(report));
  sections.push(phaseTable(report));
  if (report.comparisons.length > 0) sections.push(comparisonTable(report));
  if (hasUnsupportedPercentile(measured)) sections.push(UNSUPPORTED_FOOTNOTE);
  if (report.gates.length > 0) sections.push(`Gates: ${verdictWord(report.verdict)}\n${gateLines(report).join('\n')}`);
  const notes = reportNotes(report, measured);
  if (notes.length > 0) sections.push(notes.map((note) => `note: ${note}`).join('\n'));
  return sections.join('\n\n') + '\n';
}
