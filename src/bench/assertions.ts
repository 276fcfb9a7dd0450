/**
 * `--assert` expressions: `p95<20ms`, `mean<=1.5ms`, `p99.9<40ms`,
 * `throughput>=500/s`, `items>4000/s`, `cv<5%`, `first-run<2s`.
 *
 * Statistics: mean, stddev, min, max, median, pN (any percentile, nearest
 * rank), cv, throughput (inferences/s), items (items/s), first-run,
 * session-creation. Operators: < <= > >=. Times need a unit (ns, us, µs,
 * ms, s); rates take an optional `/s`; cv takes `%` or a fraction.
 *
 * An assertion is checked against the point estimate. A percentile the
 * sample cannot support is the sample's max (or min): that bound can still
 * prove a pass (max < limit) or a failure (max ≤ a lower limit); otherwise
 * the result is inconclusive rather than a guess.
 */
import { UsageError } from '../common/errors.js';
import { isPercentileSupported, minSamplesFor, percentileOfSorted } from './percentiles.js';
import type { MeasuredRow, Verdict } from './report-types.js';
import { formatDuration, formatPercent, formatRate, TIME_UNITS_MS } from './units.js';

export type AssertionOperator = '<' | '<=' | '>' | '>=';

/** What an assertion measures. */
export type AssertionMetric =
  | { kind: 'time'; statistic: 'mean' | 'stddev' | 'min' | 'max' | 'first-run' | 'session-creation' }
  | { kind: 'percentile'; percentile: number }
  | { kind: 'rate'; statistic: 'throughput' | 'items' }
  | { kind: 'cv' };

/** A parsed `--assert`. */
export interface Assertion {
  /** As the user wrote it (trimmed). */
  text: string;
  metric: AssertionMetric;
  operator: AssertionOperator;
  /** Milliseconds for times, per second for rates, a fraction for cv. */
  threshold: number;
}

/** The outcome of one assertion on one row. */
export interface AssertionOutcome {
  verdict: Verdict;
  observed: string;
  detail: string;
}

const timeStatistics = new Map<string, Extract<AssertionMetric, { kind: 'time' }>['statistic']>([
  ['mean', 'mean'], ['avg', 'mean'], ['stddev', 'stddev'], ['sd', 'stddev'], ['min', 'min'], ['max', 'max'],
  ['first-run', 'first-run'], ['session-creation', 'session-creation'],
]);
const rateStatistics = new Map<string, Extract<AssertionMetric, { kind: 'rate' }>['statistic']>([
  ['throughput', 'throughput'], ['inferences', 'throughput'], ['items', 'items'],
]);

const assertionPattern = /^\s*([a-z][a-z0-9.-]*)\s*(<=|>=|<|>|≤|≥)\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\d+)\s*([a-zµ]*(?:\/s)?|%)\s*$/i;

const STATISTIC_NAMES = 'mean, stddev, min, max, median, p50, p90, p95, p99 (any pN), cv, throughput, items, first-run, session-creation';

function usage(text: string, why: string): UsageError {
  return new UsageError(`--assert '${text}' ${why}`);
}

function parseMetric(name: string, text: string): AssertionMetric {
  const lower = name.toLowerCase();
  if (lower === 'median') return { kind: 'percentile', percentile: 50 };
  const percentile = /^p(\d+(?:\.\d+)?)$/.exec(lower);
  if (percentile !== null) {
    const p = Number(percentile[1]);
    if (!(p > 0 && p <= 100)) throw usage(text, `asks for percentile ${percentile[1]}; expected p1 to p100`);
    return { kind: 'percentile', percentile: p };
  }
  if (lower === 'cv') return { kind: 'cv' };
  const time = timeStatistics.get(lower);
  if (time !== undefined) return { kind: 'time', statistic: time };
  const rate = rateStatistics.get(lower);
  if (rate !== undefined) return { kind: 'rate', statistic: rate };
  throw usage(text, `uses unknown statistic '${name}'; expected one of ${STATISTIC_NAMES}`);
}

/**
 * Parses one `--assert` expression.
 * @throws UsageError quoting the expression when it cannot be read, names an
 *   unknown statistic, or has a unit that does not fit the statistic.
 */
export function parseAssertion(text: string): Assertion {
  const match = assertionPattern.exec(text);
  if (match === null) throw usage(text, "is not an assertion; expected <statistic><operator><value><unit>, e.g. 'p95<20ms' or 'throughput>=500/s'");
  const [, name = '', rawOperator = '', rawValue = '', rawUnit = ''] = match;
  const operator = (rawOperator === '≤' ? '<=' : rawOperator === '≥' ? '>=' : rawOperator) as AssertionOperator;
  const metric = parseMetric(name, text);
  const value = Number(rawValue);
  const unit = rawUnit.toLowerCase();
  let threshold: number;
  switch (metric.kind) {
    case 'time':
    case 'percentile': {
      const scale = TIME_UNITS_MS[unit];
      if (unit === '' || scale === undefined) throw usage(text, `needs a time unit after ${rawValue} (ns, us, ms or s)`);
      threshold = value * scale;
      break;
    }
    case 'rate':
      if (unit !== '' && unit !== '/s') throw usage(text, `has unit '${rawUnit}'; ${name} is a rate per second (write e.g. 500/s)`);
      threshold = value;
      break;
    case 'cv':
      if (unit !== '' && unit !== '%') throw usage(text, `has unit '${rawUnit}'; cv is a percentage (e.g. 5%) or a fraction`);
      threshold = unit === '%' ? value / 100 : value;
      break;
  }
  return { text: text.trim(), metric, operator, threshold };
}

function holds(value: number, operator: AssertionOperator, threshold: number): boolean {
  switch (operator) {
    case '<': return value < threshold;
    case '<=': return value <= threshold;
    case '>': return value > threshold;
    case '>=': return value >= threshold;
  }
}

function formatThreshold(assertion: Assertion): string {
  switch (assertion.metric.kind) {
    case 'rate': return formatRate(assertion.threshold);
    case 'cv': return formatPercent(assertion.threshold);
    default: return formatDuration(assertion.threshold);
  }
}

/** The value an assertion reads from a row, how to print it, and whether it is exact. */
function observe(metric: AssertionMetric, row: MeasuredRow): { name: string; value: number; text: string; bound: 'upper' | 'lower' | null; note: string } {
  const stats = row.statistics;
  switch (metric.kind) {
    case 'time': {
      const value = {
        mean: stats.mean,
        stddev: stats.stddev,
        min: stats.min,
        max: stats.max,
        'first-run': row.phases.firstRunMs,
        'session-creation': row.phases.sessionCreationMs,
      }[metric.statistic];
      return { name: metric.statistic, value, text: formatDuration(value), bound: null, note: '' };
    }
    case 'percentile': {
      const p = metric.percentile;
      const reported = (stats.percentiles as Record<string, { value: number } | undefined>)[`p${p}`];
      const value = reported?.value ?? percentileOfSorted(Float64Array.from(row.samplesMs).sort(), p);
      const name = `p${p}`;
      if (isPercentileSupported(p, stats.count)) return { name, value, text: formatDuration(value), bound: null, note: '' };
      const extreme = p >= 50 ? 'max' : 'min';
      return {
        name,
        value,
        text: formatDuration(value),
        bound: p >= 50 ? 'upper' : 'lower',
        note: `${stats.count} samples cannot support ${name} (it needs ${minSamplesFor(p)}); the value shown is the sample ${extreme}`,
      };
    }
    case 'rate': {
      const value = metric.statistic === 'throughput' ? row.throughput.inferencesPerSecond : row.throughput.itemsPerSecond;
      return { name: metric.statistic, value, text: formatRate(value), bound: null, note: '' };
    }
    case 'cv':
      return { name: 'cv', value: stats.cv, text: formatPercent(stats.cv), bound: null, note: '' };
  }
}

/** Checks an assertion on a measured row. */
export function evaluateAssertion(assertion: Assertion, row: MeasuredRow): AssertionOutcome {
  const seen = observe(assertion.metric, row);
  const observed = `${seen.name} = ${seen.text}`;
  const limit = `${assertion.operator} ${formatThreshold(assertion)}`;
  const ok = holds(seen.value, assertion.operator, assertion.threshold);
  if (seen.bound === null) {
    return { verdict: ok ? 'pass' : 'fail', observed, detail: ok ? `${observed} ${limit}` : `${observed}, not ${limit}` };
  }
  // The shown value bounds the real percentile from one side; it decides only when that side settles the comparison.
  const wantsBelow = assertion.operator === '<' || assertion.operator === '<=';
  const boundDecides = (seen.bound === 'upper') === wantsBelow;
  if (ok && boundDecides) return { verdict: 'pass', observed, detail: `${observed} ${limit} even as a bound (${seen.note})` };
  if (!ok && !boundDecides) return { verdict: 'fail', observed, detail: `${observed}, not ${limit} even as a bound (${seen.note})` };
  return { verdict: 'inconclusive', observed, detail: `${seen.note}; run at least that many iterations` };
}
