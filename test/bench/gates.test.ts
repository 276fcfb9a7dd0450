/**
 * Gate logic with synthetic samples: regression verdicts (pass, fail,
 * inconclusive), assertions, and what gates mean for the exit code.
 */
import { describe, expect, it } from 'vitest';
import { evaluateAssertion, parseAssertion } from '../../src/bench/assertions.js';
import { compareWithBaseline } from '../../src/bench/baseline.js';
import { independentPercentileRatio, pairedPercentileRatio } from '../../src/bench/bootstrap.js';
import { assertionGates, blockRatios, comparisonGate, overallVerdict, regressionVerdict } from '../../src/bench/gates.js';
import { gateOutcome } from '../../src/bench/outputs.js';
import type { GateResult } from '../../src/bench/report-types.js';
import { UsageError } from '../../src/common/errors.js';
import { noisySamples, syntheticReport, syntheticRow } from './synthetic.js';

describe('regressionVerdict', () => {
  it.each([
    [0.95, 1.05, 'pass'],
    [0.9, 1.1, 'pass'], // an upper bound exactly at the limit is still within it
    [1.12, 1.2, 'fail'],
    [1.1, 1.3, 'inconclusive'], // a lower bound at the limit is not beyond it
    [1.05, 1.15, 'inconclusive'],
    [0.5, 3, 'inconclusive'],
  ] as const)('interval [%d, %d] is %s at a 10 percent threshold', (low, high, verdict) => {
    expect(regressionVerdict({ low, high }, 0.1)).toBe(verdict);
  });
});

describe('drift check of interleaved runs', () => {
  it('cuts a run into five blocks of consecutive rounds, or none when short', () => {
    const baseline = noisySamples(500, 10, 0.01, 1);
    // Rounds 200–299 ran in another machine state where the candidate was as fast as the baseline.
    const candidate = baseline.map((value, round) => value * (round >= 200 && round < 300 ? 1 : 1.4));
    const blocks = blockRatios(candidate, baseline)!;
    expect(blocks.map((ratio) => ratio.toFixed(2))).toEqual(['1.40', '1.40', '1.00', '1.40', '1.40']);
    expect(blockRatios(candidate.slice(0, 99), baseline.slice(0, 99))).toBeNull();
  });

  it('turns a verdict contradicted by a block into inconclusive', () => {
    expect(regressionVerdict({ low: 1.3, high: 1.45 }, 0.1, [1.4, 1.4, 1.0, 1.4, 1.4])).toBe('inconclusive');
    expect(regressionVerdict({ low: 1.3, high: 1.45 }, 0.1, [1.4, 1.3, 1.2, 1.4, 1.4])).toBe('fail');
    expect(regressionVerdict({ low: 0.98, high: 1.03 }, 0.1, [1.0, 1.18, 1.0, 1.0, 1.0])).toBe('inconclusive');
    expect(regressionVerdict({ low: 0.98, high: 1.03 }, 0.1, [1.0, 1.05, 0.97, 1.0, 1.0])).toBe('pass');
    expect(regressionVerdict({ low: 1.05, high: 1.15 }, 0.1, [1.0, 1.2])).toBe('inconclusive');
  });

  it('says why in the gate', () => {
    const gate = comparisonGate({
      kind: 'vs', candidateRowId: 'c', baselineRowId: 'b', baselineReport: null, statistic: 'p50', ratio: 1.3,
      interval: { low: 1.25, high: 1.35, confidence: 0.95, resamples: 2000 }, paired: true, blockRatios: [1.4, 1.4, 1.0, 1.4, 1.4],
      maxRegression: 0.1, verdict: 'inconclusive',
    }, { id: 'c', label: 'slow.onnx cpu' }, 'base.onnx');
    expect(gate.detail).toBe('the 95% interval [1.250, 1.350] alone would decide, but the ratio moved across 1.100 during the run ' +
      '(blocks of consecutive rounds: 1.400, 1.400, 1.000, 1.400, 1.400): the machine changed state mid-run; rerun, or pin threads (--threads 1) on a small shared machine');
  });
});

describe('regression gates on synthetic samples (paired bootstrap)', () => {
  const bootstrap = { resamples: 1000, seed: 3 };

  it('pass the same distribution', () => {
    const base = noisySamples(300, 10, 0.1, 1);
    const same = noisySamples(300, 10, 0.1, 2);
    const estimate = pairedPercentileRatio(same, base, 50, bootstrap);
    expect(regressionVerdict(estimate.interval, 0.1)).toBe('pass');
  });

  it('fail a candidate 30% slower', () => {
    const base = noisySamples(300, 10, 0.1, 1);
    const slower = noisySamples(300, 13, 0.1, 2);
    const estimate = pairedPercentileRatio(slower, base, 50, bootstrap);
    expect(estimate.ratio).toBeGreaterThan(1.25);
    expect(regressionVerdict(estimate.interval, 0.1)).toBe('fail');
  });

  it('call a candidate 10% slower with much noise inconclusive', () => {
    const base = noisySamples(40, 10, 0.5, 1);
    const slower = noisySamples(40, 11, 0.5, 2);
    const estimate = pairedPercentileRatio(slower, base, 50, bootstrap);
    expect(estimate.interval.low).toBeLessThan(1.1);
    expect(estimate.interval.high).toBeGreaterThan(1.1);
    expect(regressionVerdict(estimate.interval, 0.1)).toBe('inconclusive');
  });

  it('pass a faster candidate', () => {
    const estimate = independentPercentileRatio(noisySamples(200, 7, 0.1, 5), noisySamples(200, 10, 0.1, 6), 50, bootstrap);
    expect(regressionVerdict(estimate.interval, 0.1)).toBe('pass');
  });
});

describe('parseAssertion', () => {
  it.each([
    ['p95<20ms', { kind: 'percentile', percentile: 95 }, '<', 20],
    ['p99.9 <= 1.5 s', { kind: 'percentile', percentile: 99.9 }, '<=', 1500],
    ['median<250us', { kind: 'percentile', percentile: 50 }, '<', 0.25],
    ['mean≤800µs', { kind: 'time', statistic: 'mean' }, '<=', 0.8],
    ['max<2e3ns', { kind: 'time', statistic: 'max' }, '<', 0.002],
    ['first-run<2s', { kind: 'time', statistic: 'first-run' }, '<', 2000],
    ['throughput>=500/s', { kind: 'rate', statistic: 'throughput' }, '>=', 500],
    ['items>4000', { kind: 'rate', statistic: 'items' }, '>', 4000],
    ['cv<5%', { kind: 'cv' }, '<', 0.05],
    ['cv<0.05', { kind: 'cv' }, '<', 0.05],
  ] as const)('reads %s', (text, metric, operator, threshold) => {
    const assertion = parseAssertion(text);
    expect(assertion.metric).toEqual(metric);
    expect(assertion.operator).toBe(operator);
    expect(assertion.threshold).toBeCloseTo(threshold, 12);
  });

  it.each([
    ['p95<20', "--assert 'p95<20' needs a time unit after 20 (ns, us, ms or s)"],
    ['p95 = 20ms', "--assert 'p95 = 20ms' is not an assertion; expected <statistic><operator><value><unit>, e.g. 'p95<20ms' or 'throughput>=500/s'"],
    ['latency<20ms', "--assert 'latency<20ms' uses unknown statistic 'latency'; expected one of mean, stddev, min, max, median, p50, p90, p95, p99 (any pN), cv, throughput, items, first-run, session-creation"],
    ['throughput>5ms', "--assert 'throughput>5ms' has unit 'ms'; throughput is a rate per second (write e.g. 500/s)"],
    ['p0<1ms', "--assert 'p0<1ms' asks for percentile 0; expected p1 to p100"],
  ])('rejects %s', (text, message) => {
    let error: unknown;
    try {
      parseAssertion(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(message);
  });
});

describe('evaluateAssertion', () => {
  const samples = Array.from({ length: 200 }, (_, i) => 1 + i / 100); // 1.00 … 2.99 ms

  it('checks percentiles, times, rates and cv against the point estimate', () => {
    const row = syntheticRow(samples);
    // p95 of 200: rank 190 → 1 + 189/100.
    expect(evaluateAssertion(parseAssertion('p95<2ms'), row)).toMatchObject({ verdict: 'fail', observed: 'p95 = 2.89 ms' });
    expect(evaluateAssertion(parseAssertion('p95<3ms'), row).verdict).toBe('pass');
    expect(evaluateAssertion(parseAssertion('p97.5<=2.94ms'), row).verdict).toBe('pass');
    // mean = 1.995 ms.
    expect(evaluateAssertion(parseAssertion('mean<=1.99ms'), row).verdict).toBe('fail');
    expect(evaluateAssertion(parseAssertion('mean<1.996ms'), row).verdict).toBe('pass');
    expect(evaluateAssertion(parseAssertion('throughput>400/s'), row).verdict).toBe('pass');
    expect(evaluateAssertion(parseAssertion('cv<20%'), row).verdict).toBe('fail');
    expect(evaluateAssertion(parseAssertion('first-run<5ms'), row).verdict).toBe('pass');
    expect(evaluateAssertion(parseAssertion('session-creation<5ms'), row).verdict).toBe('fail');
  });

  it('lets an unsupported p99 (50 samples) prove a pass or a failure only as a bound', () => {
    const row = syntheticRow(samples.slice(0, 50)); // max 1.49 ms
    expect(row.statistics.percentiles.p99.supported).toBe(false);
    expect(evaluateAssertion(parseAssertion('p99<2ms'), row).verdict).toBe('pass');
    const unsure = evaluateAssertion(parseAssertion('p99<1.2ms'), row);
    expect(unsure.verdict).toBe('inconclusive');
    expect(unsure.detail).toBe('50 samples cannot support p99 (it needs 100); the value shown is the sample max; run at least that many iterations');
    expect(evaluateAssertion(parseAssertion('p99>1.6ms'), row).verdict).toBe('fail');
    expect(evaluateAssertion(parseAssertion('p99>1.2ms'), row).verdict).toBe('inconclusive');
    // A lower percentile is bounded from below by the minimum.
    expect(evaluateAssertion(parseAssertion('p1>0.5ms'), row).verdict).toBe('pass');
    expect(evaluateAssertion(parseAssertion('p1<0.5ms'), row).verdict).toBe('fail');
  });
});

describe('gate outcomes', () => {
  const gate = (verdict: GateResult['verdict']): GateResult => ({
    kind: 'assert', name: 'p95<2ms', rowId: 'r', rowLabel: 'model.onnx cpu', verdict, observed: 'p95 = 2.89 ms', detail: 'p95 = 2.89 ms, not < 2.00 ms',
  });

  it('combine into an overall verdict', () => {
    expect(overallVerdict([])).toBe('pass');
    expect(overallVerdict([gate('pass'), gate('inconclusive')])).toBe('inconclusive');
    expect(overallVerdict([gate('inconclusive'), gate('fail')])).toBe('fail');
  });

  it('fail with exit 1, warn on inconclusive, and fail on inconclusive under --strict', () => {
    const failed = gateOutcome(syntheticReport([], { gates: [gate('pass'), gate('fail')] }), false);
    expect(failed.error?.exitCode).toBe(1);
    expect(failed.error?.message).toBe('1 of 2 gates failed: p95<2ms on model.onnx cpu (p95 = 2.89 ms, not < 2.00 ms)');
    const unsure = syntheticReport([], { gates: [gate('inconclusive')] });
    expect(gateOutcome(unsure, false)).toMatchObject({ error: undefined, warnings: [expect.stringMatching(/^inconclusive: p95<2ms on model\.onnx cpu/)] });
    expect(gateOutcome(unsure, true).error?.message).toMatch(/^1 of 1 gates were inconclusive \(--strict fails on them\)/);
    expect(gateOutcome(syntheticReport([], { gates: [gate('pass')] }), true)).toEqual({ error: undefined, warnings: [] });
  });

  it('apply assertions to single and candidate rows, not to interleaved baselines or skipped rows', () => {
    const rows = [
      syntheticRow(samples(), { id: 'a' }),
      syntheticRow(samples(), { id: 'b', role: 'baseline' }),
      { ...syntheticRow(samples(), { id: 'c' }), status: 'skipped' as const, provider: { requested: 'cuda' as const, used: null }, reason: 'no cuda' },
    ];
    expect(assertionGates([parseAssertion('p50<1s')], rows).map((result) => result.rowId)).toEqual(['a']);
    function samples(): number[] {
      return noisySamples(20, 1);
    }
  });
});

describe('compareWithBaseline', () => {
  it('matches rows by key, gates the ratio, and is inconclusive for a row the baseline lacks', () => {
    const previous = syntheticReport([syntheticRow(noisySamples(200, 10, 0.05, 1), { id: 'old', key: 'k1' })]);
    const rows = [
      syntheticRow(noisySamples(200, 14, 0.05, 2), { id: 'new', key: 'k1' }),
      syntheticRow(noisySamples(200, 10, 0.05, 3), { id: 'other', key: 'k2', label: 'other.onnx cpu' }),
    ];
    const outcome = compareWithBaseline(rows, previous, 'prev.json', 0.1, { resamples: 500 });
    expect(outcome.comparisons).toHaveLength(1);
    expect(outcome.comparisons[0]).toMatchObject({ kind: 'baseline', candidateRowId: 'new', baselineRowId: 'old', paired: false, verdict: 'fail' });
    expect(outcome.gates.map((result) => result.verdict)).toEqual(['fail', 'inconclusive']);
    expect(outcome.notes).toEqual(["baseline 'prev.json' has no row for other.onnx cpu (key 'k2')"]);
    const ungated = compareWithBaseline(rows, previous, 'prev.json', null, { resamples: 200 });
    expect(ungated.gates).toEqual([]);
    expect(ungated.comparisons[0]?.verdict).toBeNull();
  });
});
