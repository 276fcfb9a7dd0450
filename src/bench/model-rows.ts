/**
 * Measuring models: one row (session creation, first run, warm-up, steady
 * state) or an interleaved candidate/baseline pair, each session released
 * whatever happens.
 */
import { createSession } from '../runtime/onnxruntime.js';
import type { RuntimeSession, SessionOptions } from '../runtime/types.js';
import { prepareFeeds } from './feeds.js';
import { RuntimeNoiseMonitor } from './noise.js';
import { buildMeasuredRow, type RowPlan, type SteadyOutcome, type TargetFacts } from './measured-row.js';
import type { BenchSettings, MeasuredRow, RowConfig, RuntimeNoise } from './report-types.js';
import { runInterleaved, runSteadyState, warmUp, type SteadyStateLimits } from './sampling.js';

/** Longest auto warm-up, whatever the time budget. */
const AUTO_WARMUP_MAX_MS = 5_000;

/** A row of a model file. */
export type ModelRowPlan = RowPlan & { target: { kind: 'model'; path: string; name: string } };

/** A session with its feeds, created and run once. */
interface OpenTarget {
  session: RuntimeSession;
  facts: TargetFacts;
  step: () => Promise<unknown>;
}

/** The runtime adapter's options for a row. */
export function sessionOptionsFor(config: RowConfig): SessionOptions {
  const options: SessionOptions = {
    executionProvider: config.executionProvider,
    graphOptimizationLevel: config.graphOptimizationLevel,
    executionMode: config.executionMode,
  };
  if (config.intraOpThreads !== null) options.intraOpThreads = config.intraOpThreads;
  if (config.interOpThreads !== null) options.interOpThreads = config.interOpThreads;
  return options;
}

async function openTarget(plan: ModelRowPlan, settings: BenchSettings): Promise<OpenTarget> {
  const creationStarted = performance.now();
  const session = await createSession(plan.target.path, sessionOptionsFor(plan.config));
  const sessionCreationMs = performance.now() - creationStarted;
  try {
    const prepared = await prepareFeeds(session.inputs, settings.inputs, plan.config.batch, plan.target.path);
    const feeds = prepared.feeds;
    const step = (): Promise<unknown> => session.run(feeds);
    const firstRunStarted = performance.now();
    await step();
    const firstRunMs = performance.now() - firstRunStarted;
    const facts: TargetFacts = { inputs: prepared.inputs, itemsPerInference: prepared.itemsPerInference, sessionCreationMs, firstRunMs };
    return { session, facts, step };
  } catch (error) {
    await session.release();
    throw error;
  }
}

async function closeTargets(targets: readonly (OpenTarget | undefined)[]): Promise<void> {
  await Promise.all(targets.map((target) => target?.session.release()));
}

/** Runs `task` while watching GC pauses and event-loop delay. */
async function monitored<T>(task: () => Promise<T>): Promise<{ value: T; runtime: RuntimeNoise }> {
  const monitor = new RuntimeNoiseMonitor();
  monitor.start();
  try {
    const value = await task();
    return { value, runtime: monitor.stop() };
  } finally {
    monitor.stop();
  }
}

function limitsFrom(settings: BenchSettings, deadline: number): SteadyStateLimits {
  return {
    iterations: settings.iterations,
    durationMs: settings.iterations === null ? settings.durationMs : null,
    minIterations: settings.minIterations,
    deadline,
  };
}

function warmupDeadline(settings: BenchSettings, started: number): number {
  const share = settings.warmup === 'auto' ? Math.min(AUTO_WARMUP_MAX_MS, settings.timeBudgetMs / 4) : settings.timeBudgetMs;
  return started + share;
}

/**
 * Measures one row: creates the session, feeds it, times the first run, warms
 * up, then takes the steady-state samples while watching GC and the event loop.
 * @throws whatever createSession, the feeds or run() throw (MlctlError with its exit code).
 */
export async function measureRow(plan: ModelRowPlan, settings: BenchSettings): Promise<MeasuredRow> {
  const target = await openTarget(plan, settings);
  try {
    const started = performance.now();
    const deadline = started + settings.timeBudgetMs;
    const warmup = await warmUp([target.step], { mode: settings.warmup, deadline: Math.min(deadline, warmupDeadline(settings, started)) });
    const { value: steady, runtime } = await monitored(() => runSteadyState(target.step, limitsFrom(settings, deadline), plan.config.concurrency));
    return buildMeasuredRow(plan, settings, target.facts, warmup, warmup.samplesMs[0] ?? [], { ...steady, busyMs: steady.durationMs }, runtime);
  } finally {
    await closeTargets([target]);
  }
}

/**
 * Measures a candidate and its baseline interleaved in one process: both
 * sessions are created and run once, warmed up together, then run in
 * alternating order (AB, BA, …) so drift and interference hit both alike.
 * `iterations` counts rounds; each model gets one sample per round.
 */
export async function measurePair(candidate: ModelRowPlan, baseline: ModelRowPlan, settings: BenchSettings): Promise<[MeasuredRow, MeasuredRow]> {
  let candidateTarget: OpenTarget | undefined;
  let baselineTarget: OpenTarget | undefined;
  try {
    candidateTarget = await openTarget(candidate, settings);
    baselineTarget = await openTarget(baseline, settings);
    const steps = [candidateTarget.step, baselineTarget.step];
    const started = performance.now();
    const deadline = started + settings.timeBudgetMs;
    const warmup = await warmUp(steps, { mode: settings.warmup, deadline: Math.min(deadline, warmupDeadline(settings, started)) });
    const { value: result, runtime } = await monitored(() => runInterleaved(steps, limitsFrom(settings, deadline)));
    const outcome = (index: number): SteadyOutcome => {
      const samplesMs = result.samplesMs[index] ?? [];
      // Interleaved, a model is busy only during its own calls: its throughput counts those alone.
      const busyMs = samplesMs.reduce((sum, sample) => sum + sample, 0);
      return { samplesMs, durationMs: result.durationMs, busyMs, stoppedBy: result.stoppedBy };
    };
    return [
      buildMeasuredRow(candidate, settings, candidateTarget.facts, warmup, warmup.samplesMs[0] ?? [], outcome(0), runtime),
      buildMeasuredRow(baseline, settings, baselineTarget.facts, warmup, warmup.samplesMs[1] ?? [], outcome(1), runtime),
    ];
  } finally {
    await closeTargets([candidateTarget, baselineTarget]);
  }
}
