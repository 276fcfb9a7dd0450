/**
 * Rows of a report from timed samples, whatever produced them (model sessions
 * here; a load client's requests reuse it with an `endpoint` target).
 */
import type { BenchSettings, BenchTarget, InputDescription, MeasuredRow, RowConfig, RuntimeNoise } from './report-types.js';
import type { WarmupResult } from './sampling.js';
import { summarizeSamples } from './statistics.js';
import { formatDuration, formatPercent } from './units.js';

/** A cv above this gets a note that the machine or model is noisy. */
const NOISY_CV = 0.1;

/** A row to measure: identity and settings, before any number exists. */
export interface RowPlan {
  id: string;
  key: string;
  label: string;
  target: BenchTarget;
  role: MeasuredRow['role'];
  pairId: string | null;
  config: RowConfig;
}

/** What is known about a target before its steady state. */
export interface TargetFacts {
  inputs: InputDescription[];
  itemsPerInference: number;
  /** Session creation (or, for a load client, connection setup). */
  sessionCreationMs: number;
  firstRunMs: number;
}

/** How a steady state went. */
export interface SteadyOutcome {
  samplesMs: number[];
  durationMs: number;
  /** Time the target itself was running, for throughput. */
  busyMs: number;
  stoppedBy: MeasuredRow['phases']['steadyState']['stoppedBy'];
}

/**
 * Assembles a measured row from what was timed: statistics (with bootstrap
 * intervals), throughput and notes about the run.
 */
export function buildMeasuredRow(
  plan: RowPlan,
  settings: BenchSettings,
  target: TargetFacts,
  warmup: WarmupResult,
  warmupSamplesMs: number[],
  steady: SteadyOutcome,
  runtime: RuntimeNoise,
): MeasuredRow {
  const statistics = summarizeSamples(steady.samplesMs, settings.bootstrap);
  const inferencesPerSecond = steady.samplesMs.length / (steady.busyMs / 1000);
  const notes: string[] = [];
  if (warmup.converged === false) {
    notes.push(`warm-up did not settle within ${formatDuration(warmup.durationMs)} (successive windows kept differing by more than 5%); the machine may be busy`);
  }
  if (steady.stoppedBy === 'time-budget') {
    notes.push(`stopped by the time budget (${formatDuration(settings.timeBudgetMs)}) after ${steady.samplesMs.length} runs`);
  }
  if (statistics.cv > NOISY_CV) notes.push(`high variation (cv ${formatPercent(statistics.cv)}): compare with care`);
  if (plan.config.concurrency > 1) {
    notes.push('onnxruntime-node runs each run() call on the JavaScript thread, so concurrent calls queue; latencies include the wait');
  }
  return {
    ...plan,
    status: 'measured',
    provider: { requested: plan.config.executionProvider, used: plan.config.executionProvider },
    inputs: target.inputs,
    itemsPerInference: target.itemsPerInference,
    phases: {
      sessionCreationMs: target.sessionCreationMs,
      firstRunMs: target.firstRunMs,
      warmup: {
        mode: settings.warmup === 'auto' ? 'auto' : 'fixed',
        iterations: warmup.iterations,
        durationMs: warmup.durationMs,
        converged: warmup.converged,
      },
      steadyState: { iterations: steady.samplesMs.length, durationMs: steady.durationMs, stoppedBy: steady.stoppedBy },
    },
    statistics,
    throughput: { inferencesPerSecond, itemsPerSecond: inferencesPerSecond * target.itemsPerInference },
    runtime,
    samplesMs: steady.samplesMs,
    warmupSamplesMs,
    notes,
  };
}
