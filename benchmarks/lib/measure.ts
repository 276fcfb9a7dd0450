/**
 * Measurement helpers for benchmarks on a shared, noisy machine: absolute
 * times drift several-fold over a run, so every figure is a ratio against a
 * baseline measured in the same run, with repetitions interleaved (the order
 * of the pair alternates, A B then B A, so a steady drift favours neither)
 * and medians reported.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** V8's collector, so each timed step starts from a collected heap (big buffers freed). */
export const collectGarbage = runInNewContext('gc') as () => void;

/** The q-quantile (0 ≤ q ≤ 1) of `values`, interpolating linearly between ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (rank - below);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Median with the interquartile range, e.g. `0.98× (0.85–1.10)`. */
export function formatRatio(values: readonly number[]): string {
  return `${median(values).toFixed(2)}× (${quantile(values, 0.25).toFixed(2)}–${quantile(values, 0.75).toFixed(2)})`;
}

/** Median milliseconds of `step` over `repetitions` runs, each after a collection. */
export function timeSync(step: () => unknown, repetitions: number): number {
  const times: number[] = [];
  for (let rep = 0; rep < repetitions; rep++) {
    collectGarbage();
    const started = performance.now();
    step();
    times.push(performance.now() - started);
  }
  return median(times);
}

export interface PairedTiming {
  /** Milliseconds of each baseline repetition. */
  baselineMs: number[];
  /** Milliseconds of each candidate repetition. */
  candidateMs: number[];
  /** candidate / baseline of each repetition's pair. */
  ratios: number[];
}

export interface PairedOptions {
  repetitions: number;
  /** Untimed work after each timed step (deleting an output file), in both arms. */
  cleanup?: () => Promise<void>;
}

async function timeOnce(step: () => Promise<unknown>, cleanup: (() => Promise<void>) | undefined): Promise<number> {
  collectGarbage();
  const started = performance.now();
  await step();
  const elapsedMs = performance.now() - started;
  await cleanup?.();
  return elapsedMs;
}

/**
 * Times `baseline` and `candidate` alternately, after one untimed warm-up of
 * each, and pairs each repetition's two times.
 */
export async function timePaired(
  baseline: () => Promise<unknown>,
  candidate: () => Promise<unknown>,
  options: PairedOptions,
): Promise<PairedTiming> {
  await timeOnce(baseline, options.cleanup);
  await timeOnce(candidate, options.cleanup);
  const result: PairedTiming = { baselineMs: [], candidateMs: [], ratios: [] };
  for (let rep = 0; rep < options.repetitions; rep++) {
    let baselineMs: number;
    let candidateMs: number;
    if (rep % 2 === 0) {
      baselineMs = await timeOnce(baseline, options.cleanup);
      candidateMs = await timeOnce(candidate, options.cleanup);
    } else {
      candidateMs = await timeOnce(candidate, options.cleanup);
      baselineMs = await timeOnce(baseline, options.cleanup);
    }
    result.baselineMs.push(baselineMs);
    result.candidateMs.push(candidateMs);
    result.ratios.push(candidateMs / baselineMs);
  }
  return result;
}

/** A Markdown table (it reads fine on a terminal too). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

export function verdict(value: number, limit: number): string {
  return value <= limit ? 'PASS' : 'MISS';
}
