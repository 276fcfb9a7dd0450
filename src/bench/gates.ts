/**
 * Gate decisions: assertions on every measured row, and regression checks
 * on candidate/baseline ratios, each ending in pass, fail or inconclusive.
 *
 * A regression check never fails on noise alone: with a tolerated slowdown t
 * and a confidence interval [low, high] of the ratio candidate/baseline,
 * - fail when low > 1 + t (even the most favourable reading is too slow),
 * - pass when high ≤ 1 + t (even the least favourable reading is fine),
 * - inconclusive otherwise (the data cannot tell; more samples or a quieter
 *   machine can).
 *
 * The interval assumes the machine stayed in one state during the run. An
 * interleaved run is also cut into five blocks of consecutive rounds; when a
 * block's ratio lies on the other side of 1 + t than the verdict, the machine
 * changed state mid-run (measured: on a busy 2-CPU machine, two sessions'
 * thread pools can switch between interfering and not), and the verdict
 * becomes inconclusive instead of a confident answer from mixed data.
 */
import type { ConfidenceInterval } from './bootstrap.js';
import { evaluateAssertion, type Assertion } from './assertions.js';
import { percentileOfSorted } from './percentiles.js';
import type { BenchRow, Comparison, GateResult, MeasuredRow, Verdict } from './report-types.js';
import { formatPercent, formatRatio } from './units.js';

/**
 * The verdict of a ratio interval against a tolerated slowdown.
 * @param maxRegression the tolerated slowdown as a fraction (0.1 = 10%).
 */
export function regressionVerdict(interval: Pick<ConfidenceInterval, 'low' | 'high'>, maxRegression: number, blocks: readonly number[] | null = null): Verdict {
  const limit = 1 + maxRegression;
  const verdict: Verdict = interval.low > limit ? 'fail' : interval.high <= limit ? 'pass' : 'inconclusive';
  if (verdict !== 'inconclusive' && blocks !== null && blocks.some((ratio) => (ratio > limit) !== (verdict === 'fail'))) return 'inconclusive';
  return verdict;
}

/** Blocks an interleaved run is cut into for the drift check. */
export const DRIFT_BLOCKS = 5;
/** Fewest rounds per block; shorter runs get no drift check. */
export const MIN_ROUNDS_PER_BLOCK = 20;

/**
 * The p50 ratio of each of {@link DRIFT_BLOCKS} blocks of consecutive rounds
 * of paired samples, or null when the run is too short to cut.
 */
export function blockRatios(candidate: readonly number[], baseline: readonly number[]): number[] | null {
  const rounds = Math.min(candidate.length, baseline.length);
  if (rounds < DRIFT_BLOCKS * MIN_ROUNDS_PER_BLOCK) return null;
  const size = Math.floor(rounds / DRIFT_BLOCKS);
  return Array.from({ length: DRIFT_BLOCKS }, (_, block) => {
    const end = block === DRIFT_BLOCKS - 1 ? rounds : (block + 1) * size;
    const median = (values: readonly number[]): number => percentileOfSorted(Float64Array.from(values.slice(block * size, end)).sort(), 50);
    return median(candidate) / median(baseline);
  });
}

/** `1.052× (95% CI 1.031–1.074×)`. */
export function describeRatio(comparison: Pick<Comparison, 'ratio' | 'interval'>): string {
  const { interval } = comparison;
  return `${formatRatio(comparison.ratio)} (${Math.round(interval.confidence * 100)}% CI ${interval.low.toFixed(3)}–${formatRatio(interval.high)})`;
}

function comparisonDetail(comparison: Comparison, verdict: Verdict): string {
  const limit = 1 + (comparison.maxRegression ?? 0);
  const ci = `the ${Math.round(comparison.interval.confidence * 100)}% interval [${comparison.interval.low.toFixed(3)}, ${comparison.interval.high.toFixed(3)}]`;
  if (verdict === 'inconclusive' && regressionVerdict(comparison.interval, comparison.maxRegression ?? 0) !== 'inconclusive') {
    const blocks = (comparison.blockRatios ?? []).map((ratio) => ratio.toFixed(3)).join(', ');
    return `${ci} alone would decide, but the ratio moved across ${limit.toFixed(3)} during the run (blocks of consecutive rounds: ${blocks}): ` +
      'the machine changed state mid-run; rerun, or pin threads (--threads 1) on a small shared machine';
  }
  switch (verdict) {
    case 'fail': return `${ci} lies wholly above ${limit.toFixed(3)}: slower by more than ${formatPercent(comparison.maxRegression ?? 0)}`;
    case 'pass': return `${ci} lies at or below ${limit.toFixed(3)}`;
    case 'inconclusive': return `${ci} straddles ${limit.toFixed(3)}: neither clearly within nor clearly beyond ${formatPercent(comparison.maxRegression ?? 0)}; take more samples or use a quieter machine`;
  }
}

/** The gate of a comparison that has a threshold. */
export function comparisonGate(comparison: Comparison, row: Pick<BenchRow, 'id' | 'label'>, baselineName: string): GateResult {
  const verdict = comparison.verdict ?? 'pass';
  return {
    kind: comparison.kind,
    name: `p50 vs ${baselineName} ≤ +${formatPercent(comparison.maxRegression ?? 0)}`,
    rowId: row.id,
    rowLabel: row.label,
    verdict,
    observed: `p50 ratio ${describeRatio(comparison)}`,
    detail: comparisonDetail(comparison, verdict),
  };
}

/** Rows that gates apply to: measured, and not the baseline half of an interleaved pair. */
export function gatedRows(rows: readonly BenchRow[]): MeasuredRow[] {
  return rows.filter((row): row is MeasuredRow => row.status === 'measured' && row.role !== 'baseline');
}

/** Every assertion on every gated row, in row order. */
export function assertionGates(assertions: readonly Assertion[], rows: readonly BenchRow[]): GateResult[] {
  const gates: GateResult[] = [];
  for (const row of gatedRows(rows)) {
    for (const assertion of assertions) {
      const outcome = evaluateAssertion(assertion, row);
      gates.push({ kind: 'assert', name: assertion.text, rowId: row.id, rowLabel: row.label, ...outcome });
    }
  }
  return gates;
}

/** `fail` if any gate failed, else `inconclusive` if any was, else `pass`. */
export function overallVerdict(gates: readonly GateResult[]): Verdict {
  if (gates.some((gate) => gate.verdict === 'fail')) return 'fail';
  if (gates.some((gate) => gate.verdict === 'inconclusive')) return 'inconclusive';
  return 'pass';
}
