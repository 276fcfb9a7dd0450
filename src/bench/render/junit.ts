/**
 * The report as JUnit XML (`--junit out.xml`) for CI test views: each gate
 * on each row is a test case. A failed gate is a <failure>; an inconclusive
 * one is <skipped> (a <failure> under --strict); a row skipped because its
 * provider is unavailable is a skipped "measured" case. Without gates, each
 * measured row is one passing "measured" case carrying its statistics.
 */
import type { BenchReport, BenchRow, GateResult } from '../report-types.js';
import { formatDuration } from '../units.js';
import { labelOf, percentileCell, verdictWord } from './cells.js';
import { escapeXml } from './escape.js';

interface TestCase {
  classname: string;
  name: string;
  timeSeconds: number;
  outcome: { kind: 'pass' } | { kind: 'failure' | 'skipped'; message: string; type: string };
  output: string;
}

function rowSummary(row: BenchRow): string {
  if (row.status === 'skipped') return `skipped: ${row.reason}`;
  const { percentiles } = row.statistics;
  return `${row.statistics.count} runs; p50 ${percentileCell(percentiles.p50)}, p90 ${percentileCell(percentiles.p90)}, ` +
    `p95 ${percentileCell(percentiles.p95)}, p99 ${percentileCell(percentiles.p99)}, max ${formatDuration(row.statistics.max)}, ` +
    `mean ${formatDuration(row.statistics.mean)}`;
}

function gateCase(gate: GateResult, report: BenchReport, strict: boolean): TestCase {
  const row = report.rows.find((candidate) => candidate.id === gate.rowId);
  const base = { classname: `mlctl.bench.${gate.rowLabel}`, name: gate.name, timeSeconds: 0, output: `${gate.observed}\n${row === undefined ? '' : rowSummary(row)}` };
  switch (gate.verdict) {
    case 'pass':
      return { ...base, outcome: { kind: 'pass' } };
    case 'fail':
      return { ...base, outcome: { kind: 'failure', type: 'fail', message: gate.detail } };
    case 'inconclusive':
      return strict
        ? { ...base, outcome: { kind: 'failure', type: 'inconclusive', message: `inconclusive (--strict): ${gate.detail}` } }
        : { ...base, outcome: { kind: 'skipped', type: 'inconclusive', message: `inconclusive: ${gate.detail}` } };
  }
}

function testCases(report: BenchReport, strict: boolean): TestCase[] {
  const cases: TestCase[] = [];
  for (const row of report.rows) {
    if (row.status === 'skipped') {
      cases.push({ classname: `mlctl.bench.${row.label}`, name: 'measured', timeSeconds: 0, outcome: { kind: 'skipped', type: 'unavailable', message: row.reason }, output: '' });
    } else if (report.gates.length === 0 && row.role !== 'baseline') {
      const seconds = (row.phases.steadyState.durationMs + row.phases.warmup.durationMs) / 1000;
      cases.push({ classname: `mlctl.bench.${row.label}`, name: 'measured', timeSeconds: seconds, outcome: { kind: 'pass' }, output: rowSummary(row) });
    }
  }
  cases.push(...report.gates.map((gate) => gateCase(gate, report, strict)));
  return cases;
}

function renderCase(test: TestCase): string {
  const open = `    <testcase classname="${escapeXml(test.classname)}" name="${escapeXml(test.name)}" time="${test.timeSeconds.toFixed(3)}"`;
  const body: string[] = [];
  if (test.outcome.kind !== 'pass') {
    const tag = test.outcome.kind;
    body.push(`      <${tag} message="${escapeXml(test.outcome.message)}" type="${escapeXml(test.outcome.type)}">${escapeXml(test.outcome.message)}</${tag}>`);
  }
  if (test.output !== '') body.push(`      <system-out>${escapeXml(test.output)}</system-out>`);
  return body.length === 0 ? `${open}/>` : `${open}>\n${body.join('\n')}\n    </testcase>`;
}

/**
 * Renders the report as a JUnit XML document ending with a newline.
 * @param strict count inconclusive gates as failures (as `--strict` does for the exit code).
 */
export function renderJunit(report: BenchReport, strict: boolean): string {
  const cases = testCases(report, strict);
  const failures = cases.filter((test) => test.outcome.kind === 'failure').length;
  const skipped = cases.filter((test) => test.outcome.kind === 'skipped').length;
  const seconds = (report.durationMs / 1000).toFixed(3);
  const counts = `tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds}"`;
  const comparisons = report.comparisons.map((comparison) =>
    `${labelOf(report, comparison.candidateRowId)} / ${labelOf(report, comparison.baselineRowId)}: p50 ratio ${comparison.ratio.toFixed(3)} [${comparison.interval.low.toFixed(3)}, ${comparison.interval.high.toFixed(3)}] ${verdictWord(comparison.verdict)}`);
  const properties = [
    ['verdict', report.verdict],
    ['onnxruntime-node', report.environment.onnxruntimeNodeVersion],
    ['node', report.environment.nodeVersion],
    ['cpu', report.environment.cpu.model],
  ].map(([name, value]) => `      <property name="${escapeXml(name ?? '')}" value="${escapeXml(value ?? '')}"/>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mlctl bench" ${counts}>`,
    `  <testsuite name="mlctl bench" ${counts} timestamp="${escapeXml(report.createdAt)}">`,
    '    <properties>',
    ...properties,
    '    </properties>',
    ...cases.map(renderCase),
    ...(comparisons.length > 0 ? [`    <system-out>${escapeXml(comparisons.join('\n'))}</system-out>`] : []),
    '  </testsuite>',
    '</testsuites>',
  ].join('\n') + '\n';
}
