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

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
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
  /** Runs after the first candidate step (e.g. checking its output). */
  afterFirstCandidate?: () => Promise<void>;
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
  await options.afterFirstCandidate?.();
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
