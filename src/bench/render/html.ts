/**
 * The report as one self-contained HTML page (`--html out.html`): inline
 * CSS and inline SVG charts (a histogram and a timeline per row), no
 * scripts, no fonts, nothing fetched from the network.
 */
import type { BenchReport, MeasuredRow, Verdict } from '../report-types.js';
import { formatDuration } from '../units.js';
import {
  cvCell,
  environmentLine,
  gcCell,
  hasUnsupportedPercentile,
  loopDelayCell,
  meanCell,
  measuredRows,
  outlierCell,
  percentileWithInterval,
  providerCell,
  rssCell,
  settingsLine,
  steadyCell,
  throughputCell,
  UNSUPPORTED_FOOTNOTE,
  verdictWord,
  warmupCell,
} from './cells.js';
import { escapeXml as esc } from './escape.js';
import { COMPARISON_HEADER, comparisonCells, GATE_HEADER } from './rows.js';
import { histogramSvg, timelineSvg } from './svg.js';

const styles = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 980px; color: #1a202c; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; } h3 { font-size: 1.05rem; margin-top: 1.5rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #cbd5e0; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #edf2f7; }
.pass { color: #276749; font-weight: 600; } .fail { color: #c53030; font-weight: 600; } .inconclusive { color: #b7791f; font-weight: 600; }
.meta { color: #4a5568; font-size: 0.9rem; } .note { color: #744210; }
svg { display: block; margin: 0.5rem 0; max-width: 100%; height: auto; }
`;

function verdictSpan(verdict: Verdict | null): string {
  return verdict === null ? 'reported' : `<span class="${verdict}">${esc(verdictWord(verdict))}</span>`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = `<tr>${header.map((cell) => `<th>${esc(cell)}</th>`).join('')}</tr>`;
  // Cells are escaped by the callers, which may add markup (verdict spans).
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n${head}\n${body}\n</table>`;
}

function rowSection(row: MeasuredRow): string {
  const { percentiles } = row.statistics;
  const facts: [string, string][] = [
    ['provider', providerCell(row)],
    ['inputs', row.inputs.map((input) => `${input.name}: ${input.dtype} [${input.dims.join(', ')}] (${input.source})`).join('; ')],
    ['runs', row.statistics.count.toLocaleString('en-US')],
    ['min', formatDuration(row.statistics.min)],
    ['p50 [95% CI]', percentileWithInterval(percentiles.p50)],
    ['p90', percentileWithInterval(percentiles.p90)],
    ['p95 [95% CI]', percentileWithInterval(percentiles.p95)],
    ['p99', percentileWithInterval(percentiles.p99)],
    ['max', formatDuration(row.statistics.max)],
    ['mean ± sd', meanCell(row)],
    ['cv', cvCell(row)],
    ['outliers (Tukey)', outlierCell(row)],
    ['throughput', throughputCell(row)],
    ['session creation', formatDuration(row.phases.sessionCreationMs)],
    ['first run', formatDuration(row.phases.firstRunMs)],
    ['warm-up', warmupCell(row)],
    ['steady state', steadyCell(row)],
    ['GC pauses', gcCell(row)],
    ['event-loop delay p99', loopDelayCell(row)],
    ['peak RSS', rssCell(row)],
  ];
  const markers = [
    { label: 'p50', valueMs: percentiles.p50.value },
    ...(percentiles.p95.supported ? [{ label: 'p95', valueMs: percentiles.p95.value }] : []),
  ];
  return [
    `<h3>${esc(row.label)}</h3>`,
    table(['statistic', 'value'], facts.map(([name, value]) => [esc(name), esc(value)])),
    histogramSvg(row.samplesMs, markers, `Latency histogram of ${row.label}`),
    timelineSvg(row.warmupSamplesMs, row.samplesMs, `Latency of each run of ${row.label}`),
    ...row.notes.map((note) => `<p class="note">${esc(note)}</p>`),
  ].join('\n');
}

/** Renders the report as a complete HTML document. */
export function renderHtml(report: BenchReport): string {
  const measured = measuredRows(report);
  const parts: string[] = [
    `<h1>mlctl bench${report.gates.length > 0 ? ` — ${verdictSpan(report.verdict)}` : ''}</h1>`,
    `<p class="meta">${esc(report.createdAt)}<br>${esc(environmentLine(report))}<br>${esc(settingsLine(report))}</p>`,
  ];
  if (report.gates.length > 0) {
    parts.push('<h2>Gates</h2>', table(
      GATE_HEADER,
      report.gates.map((gate) => [verdictSpan(gate.verdict), esc(gate.name), esc(gate.rowLabel), esc(gate.observed), esc(gate.detail)]),
    ));
  }
  if (report.comparisons.length > 0) {
    parts.push('<h2>Comparisons</h2>', table(
      COMPARISON_HEADER,
      report.comparisons.map((comparison) => [...comparisonCells(report, comparison).map(esc), verdictSpan(comparison.verdict)]),
    ));
  }
  parts.push('<h2>Rows</h2>');
  for (const row of report.rows) {
    parts.push(row.status === 'measured' ? rowSection(row) : `<h3>${esc(row.label)}</h3>\n<p class="note">skipped: ${esc(row.reason)}</p>`);
  }
  if (hasUnsupportedPercentile(measured)) parts.push(`<p class="meta">${esc(UNSUPPORTED_FOOTNOTE)}</p>`);
  if (report.notes.length > 0) parts.push('<h2>Notes</h2>', `<ul>${report.notes.map((note) => `<li>${esc(note)}</li>`).join('')}</ul>`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>mlctl bench report</title>',
    `<style>${styles}</style>`,
    '</head>',
    '<body>',
    ...parts,
    '</body>',
    '</html>',
  ].join('\n') + '\n';
}
