/**
 * Timing loops: warm-up (a fixed count, or `auto` until successive windows
 * agree) and steady state (a count or a duration, one or N calls in flight,
 * or two targets interleaved). They time any async step, so a load client
 * that sends requests reuses them as they are.
 *
 * Each sample is the wall time of one awaited call, taken with
 * performance.now() immediately around the await: nothing else (no checks,
 * no bookkeeping) falls inside the timed span.
 */
import { percentileOfSorted } from './percentiles.js';

/** One timed call. */
export type Step = () => Promise<unknown>;

/** Why a steady state ended. */
export type StopReason = 'iterations' | 'duration' | 'time-budget';

/** When a steady state ends. */
export interface SteadyStateLimits {
  /** Stop after this many calls (per target when interleaved); null to use `durationMs`. */
  iterations: number | null;
  /** Stop after this long, once `minIterations` calls are done; ignored when `iterations` is set. */
  durationMs: number | null;
  minIterations: number;
  /** performance.now() time at which to stop whatever else says (the time budget). */
  deadline: number;
}

export interface SteadyStateResult {
  samplesMs: number[];
  durationMs: number;
  stoppedBy: StopReason;
}

export interface InterleavedResult {
  /** Per target, samples by round: round i of every target ran back to back. */
  samplesMs: number[][];
  durationMs: number;
  stoppedBy: StopReason;
}

/** How warm-up ends. */
export interface WarmupOptions {
  /** A fixed number of calls per target, or `auto`. */
  mode: number | 'auto';
  /** performance.now() time by which warm-up must end, converged or not. */
  deadline: number;
}

export interface WarmupResult {
  /** Calls per target. */
  iterations: number;
  durationMs: number;
  /** For `auto`, whether successive windows agreed; null for a fixed count. */
  converged: boolean | null;
  /** Per target, in call order. */
  samplesMs: number[][];
}

/** Auto warm-up: a window lasts about this long … */
const WINDOW_TARGET_MS = 25;
/** … and holds at least this many and at most that many calls per target. */
const WINDOW_MIN_CALLS = 5;
const WINDOW_MAX_CALLS = 200;
/** Successive window medians within this fraction of each other count as settled. */
export const WARMUP_TOLERANCE = 0.05;

function median(values: readonly number[]): number {
  return percentileOfSorted(Float64Array.from(values).sort(), 50);
}

function stopReason(limits: SteadyStateLimits, count: number, elapsedMs: number, now: number): StopReason | null {
  if (limits.iterations !== null) {
    if (count >= limits.iterations) return 'iterations';
  } else if (limits.durationMs !== null && elapsedMs >= limits.durationMs && count >= limits.minIterations) {
    return 'duration';
  }
  return now >= limits.deadline ? 'time-budget' : null;
}

/** Runs one call of each target in order, appending each duration to its list. */
async function timedRound(steps: readonly Step[], order: readonly number[], samples: number[][]): Promise<void> {
  for (const index of order) {
    const step = steps[index]!;
    const before = performance.now();
    await step();
    samples[index]!.push(performance.now() - before);
  }
}

/** AB in even rounds, BA in odd ones (for two targets), so neither always runs first. */
function roundOrder(targets: number, round: number): number[] {
  const order = Array.from({ length: targets }, (_, index) => index);
  return round % 2 === 0 ? order : order.reverse();
}

/**
 * Warms the targets up, interleaved when there are several.
 * `auto`: calls run in windows of about 25 ms (5 to 200 calls); warm-up ends
 * when, for every target, the median of the last window is within 5% of the
 * previous window's, or at the deadline (then `converged` is false).
 */
export async function warmUp(steps: readonly Step[], options: WarmupOptions): Promise<WarmupResult> {
  const samples = steps.map((): number[] => []);
  const started = performance.now();
  let rounds = 0;
  const runRound = async (): Promise<void> => {
    await timedRound(steps, roundOrder(steps.length, rounds), samples);
    rounds += 1;
  };
  if (options.mode !== 'auto') {
    while (rounds < options.mode && performance.now() < options.deadline) await runRound();
    return { iterations: rounds, durationMs: performance.now() - started, converged: null, samplesMs: samples };
  }

  await runRound();
  const roundMs = Math.max(1e-6, performance.now() - started);
  const window = Math.min(WINDOW_MAX_CALLS, Math.max(WINDOW_MIN_CALLS, Math.round(WINDOW_TARGET_MS / roundMs)));
  let previous: number[] | undefined;
  let converged = false;
  while (performance.now() < options.deadline) {
    const from = rounds;
    for (let call = 0; call < window && performance.now() < options.deadline; call++) await runRound();
    if (rounds - from < window) break;
    const current = samples.map((list) => median(list.slice(from)));
    if (previous !== undefined && current.every((value, index) => Math.abs(value - previous![index]!) <= WARMUP_TOLERANCE * Math.min(value, previous![index]!))) {
      converged = true;
      break;
    }
    previous = current;
  }
  return { iterations: rounds, durationMs: performance.now() - started, converged, samplesMs: samples };
}

async function serialSteadyState(step: Step, limits: SteadyStateLimits): Promise<SteadyStateResult> {
  const samples: number[] = [];
  const started = performance.now();
  let now = started;
  for (;;) {
    const before = performance.now();
    await step();
    now = performance.now();
    samples.push(now - before);
    const reason = stopReason(limits, samples.length, now - started, now);
    if (reason !== null) return { samplesMs: samples, durationMs: now - started, stoppedBy: reason };
  }
}

async function concurrentSteadyState(step: Step, limits: SteadyStateLimits, concurrency: number): Promise<SteadyStateResult> {
  const samples: number[] = [];
  const started = performance.now();
  let launched = 0;
  let stoppedBy: StopReason | null = null;
  const worker = async (): Promise<void> => {
    while (stoppedBy === null && (limits.iterations === null || launched < limits.iterations)) {
      launched += 1;
      const before = performance.now();
      await step();
      const now = performance.now();
      samples.push(now - before);
      stoppedBy ??= stopReason(limits, samples.length, now - started, now);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { samplesMs: samples, durationMs: performance.now() - started, stoppedBy: stoppedBy ?? 'iterations' };
}

/**
 * Takes the steady-state samples of one target with `concurrency` calls in
 * flight (each sample is one call's latency, in completion order).
 */
export async function runSteadyState(step: Step, limits: SteadyStateLimits, concurrency = 1): Promise<SteadyStateResult> {
  return concurrency <= 1 ? serialSteadyState(step, limits) : concurrentSteadyState(step, limits, concurrency);
}

/**
 * Takes steady-state samples of several targets interleaved, one call each
 * per round, alternating the order (AB, BA, AB, …) so neither target always
 * runs first; `iterations` counts rounds.
 */
export async function runInterleaved(steps: readonly Step[], limits: SteadyStateLimits): Promise<InterleavedResult> {
  const samples = steps.map((): number[] => []);
  const started = performance.now();
  let rounds = 0;
  for (;;) {
    await timedRound(steps, roundOrder(steps.length, rounds), samples);
    rounds += 1;
    const now = performance.now();
    const reason = stopReason(limits, rounds, now - started, now);
    if (reason !== null) return { samplesMs: samples, durationMs: now - started, stoppedBy: reason };
  }
}
