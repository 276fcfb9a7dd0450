/**
 * Report renderers on a synthetic report: JSON keeps the schema and raw
 * samples, tables and Markdown mark unsupported percentiles, JUnit has one
 * case per gate, HTML is self-contained with inline SVG.
 */
import { describe, expect, it } from 'vitest';
import { pairedPercentileRatio } from '../../src/bench/bootstrap.js';
import { comparisonGate, regressionVerdict } from '../../src/bench/gates.js';
import { renderHtml } from '../../src/bench/render/html.js';
import { renderJson } from '../../src/bench/render/json.js';
import { renderJunit } from '../../src/bench/render/junit.js';
import { renderMarkdown } from '../../src/bench/render/markdown.js';
import { histogramSvg, timelineSvg } from '../../src/bench/render/svg.js';
import { renderTable } from '../../src/bench/render/table.js';
import type { BenchReport, Comparison, GateResult, SkippedRow } from '../../src/bench/report-types.js';
import { defaultConfig, noisySamples, syntheticReport, syntheticRow } from './synthetic.js';

function exampleReport(): BenchReport {
  const small = syntheticRow(noisySamples(50, 2, 0.1, 1), { id: 'small', label: 'small.onnx cpu <&>' });
  const candidate = syntheticRow(noisySamples(300, 13, 0.05, 2), { id: 'cand', label: 'cand.onnx cpu', role: 'candidate', pairId: 'cand' });
  const baseline = syntheticRow(noisySamples(300, 10, 0.05, 3), { id: 'base', label: 'base.onnx cpu (baseline)', role: 'baseline', pairId: 'cand' });
  const skipped: SkippedRow = {
    id: 'gpu', key: 'gpu', label: 'small.onnx cuda', target: { kind: 'model', path: 'small.onnx', name: 'small.onnx' }, role: 'single', pairId: null,
    config: { ...defaultConfig, executionProvider: 'cuda' }, status: 'skipped', provider: { requested: 'cuda', used: null },
    reason: 'no CUDA provider library',
  };
  const estimate = pairedPercentileRatio(candidate.samplesMs, baseline.samplesMs, 50, { resamples: 200 });
  const comparison: Comparison = {
    kind: 'vs', candidateRowId: 'cand', baselineRowId: 'base', baselineReport: null, statistic: 'p50', ratio: estimate.ratio,
    interval: estimate.interval, paired: true, blockRatios: null, maxRegression: 0.1, verdict: regressionVerdict(estimate.interval, 0.1),
  };
  const gates: GateResult[] = [
    { kind: 'assert', name: 'p95<20ms', rowId: 'small', rowLabel: small.label, verdict: 'pass', observed: 'p95 = 2.2 ms', detail: 'p95 = 2.2 ms < 20 ms' },
    { kind: 'assert', name: 'p99<2ms', rowId: 'small', rowLabel: small.label, verdict: 'inconclusive', observed: 'p99 = 2.2 ms', detail: 'too few samples' },
    comparisonGate(comparison, candidate, 'base.onnx'),
  ];
  return syntheticReport([small, candidate, baseline, skipped], { comparisons: [comparison], gates, notes: ["skipped execution provider 'cuda'"] });
}

describe('renderJson', () => {
  it('round-trips the report with raw samples on one line each, rounded to the nanosecond', () => {
    const report = exampleReport();
    const text = renderJson(report);
    const parsed = JSON.parse(text) as BenchReport;
    expect(parsed.schema).toBe('mlctl-bench');
    expect(parsed.schemaVersion).toBe(1);
    expect(parsed.verdict).toBe('fail');
    const row = parsed.rows[0];
    expect(row?.status === 'measured' && row.samplesMs.length).toBe(50);
    if (row?.status === 'measured' && report.rows[0]?.status === 'measured') {
      row.samplesMs.forEach((sample, index) => expect(sample).toBeCloseTo((report.rows[0] as { samplesMs: number[] }).samplesMs[index]!, 6));
    }
    expect(text).toMatch(/"samplesMs": \[[\d.,]+\]/);
    expect(text.split('\n').length).toBeLessThan(1000);
    expect(parsed.environment.onnxruntimeNodeVersion).toBe('1.30.0');
  });
});

describe('renderTable', () => {
  it('shows latency with intervals, marks unsupported percentiles, and lists comparisons, gates and notes', () => {
    const text = renderTable(exampleReport());
    expect(text).toContain('Latency (steady state)');
    expect(text).toMatch(/small\.onnx cpu <&> .*│ 50 /);
    // 50 samples: p99 is the maximum and marked.
    expect(text).toMatch(/ms\* /);
    expect(text).toContain('* too few samples for this percentile (p90 needs 10, p95 20, p99 100)');
    expect(text).toContain('cuda (skipped)');
    expect(text).toContain('Comparisons');
    expect(text).toMatch(/1\.\d{3}× \(95% CI 1\.\d{3}–1\.\d{3}×\)/);
    expect(text).toContain('Gates: FAIL');
    expect(text).toMatch(/^INCONCLUSIVE {1}p99<2ms/m);
    expect(text).toContain("note: skipped execution provider 'cuda'");
  });
});

describe('renderMarkdown', () => {
  it('starts with the verdict and escapes table cells', () => {
    const text = renderMarkdown(exampleReport());
    expect(text.startsWith('## mlctl bench\n\n**Verdict: ❌ FAIL**')).toBe(true);
    expect(text).toContain('### Gates');
    expect(text).toContain('| ⚠️ INCONCLUSIVE | p99<2ms |');
    expect(text).toContain('### Comparisons');
    expect(text).toMatch(/ms\\\*/);
  });
});

describe('renderJunit', () => {
  it('writes one case per gate plus skipped rows; inconclusive is skipped, or a failure under --strict', () => {
    const report = exampleReport();
    const xml = renderJunit(report, false);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mlctl bench" tests="4" failures="1" errors="0" skipped="2"')).toBe(true);
    expect(xml).toContain('<testcase classname="mlctl.bench.small.onnx cpu &lt;&amp;&gt;" name="p95&lt;20ms" time="0.000">');
    expect(xml).toContain('<skipped message="inconclusive: too few samples" type="inconclusive">');
    expect(xml).toMatch(/<failure message="the 95% interval \[1\.\d+, 1\.\d+\] lies wholly above 1\.100: slower by more than 10\.0%" type="fail">/);
    expect(xml).toContain('<skipped message="no CUDA provider library" type="unavailable">');
    expect((xml.match(/<testcase /g) ?? []).length).toBe(4);
    expect(renderJunit(report, true)).toContain('failures="2"');
  });

  it('writes one passing case per measured row when there are no gates', () => {
    const xml = renderJunit(syntheticReport([syntheticRow(noisySamples(20, 1))]), false);
    expect(xml).toContain('tests="1" failures="0" errors="0" skipped="0"');
    expect(xml).toMatch(/<testcase classname="mlctl.bench.model.onnx cpu" name="measured" time="[\d.]+">/);
  });
});

describe('renderHtml', () => {
  it('is one self-contained page: inline styles and SVG, no scripts, no network assets', () => {
    const html = renderHtml(exampleReport());
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(/i);
    const urls = html.match(/https?:\/\/[^\s"']+/g) ?? [];
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
    // A histogram and a timeline per measured row.
    expect((html.match(/<svg /g) ?? []).length).toBe(6);
    expect(html).toContain('small.onnx cpu &lt;&amp;&gt;');
    expect(html).not.toContain('small.onnx cpu <&>');
    expect(html).toContain('skipped: no CUDA provider library');
    expect(html).toContain('<span class="fail">FAIL</span>');
  });
});

describe('SVG charts', () => {
  it('put slow outliers in an overflow bar and mark p50', () => {
    const samples = [...noisySamples(400, 1, 0.1), 50, 60];
    const svg = histogramSvg(samples, [{ label: 'p50', valueMs: 1 }], 'histogram');
    expect(svg).toContain('slower than');
    expect(svg).toContain('p50 1.00 ms');
    expect(histogramSvg([], [], 'empty')).toContain('no samples');
  });

  it('draw every run up to 1,500 runs and bucket ranges beyond', () => {
    expect(timelineSvg([2, 2], noisySamples(100, 1), 'short')).toContain('<polyline');
    const long = timelineSvg([], noisySamples(20_000, 1), 'long');
    expect((long.match(/<line /g) ?? []).length).toBeGreaterThanOrEqual(600);
    expect(long.length).toBeLessThan(200_000);
  });
});
