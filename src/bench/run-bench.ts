/**
 * The bench service: expands the sweeps into rows, checks execution
 * providers before measuring anything, measures each row (or interleaved
 * pair), compares, evaluates the gates and returns the report. It prints
 * nothing; the CLI renders the report.
 */
import path from 'node:path';
import { MlctlError } from '../common/errors.js';
import { loadModel } from '../onnx/model-io.js';
import { CUDA_INSTALL_COMMAND, providerStatuses } from '../runtime/onnxruntime.js';
import type { ExecutionProviderName } from '../runtime/types.js';
import { parseAssertion } from './assertions.js';
import { loadBaselineReport } from './baseline.js';
import { environmentFingerprint } from './environment.js';
import { comparisonGate } from './gates.js';
import type { RowPlan } from './measured-row.js';
import { measurePair, measureRow, type ModelRowPlan } from './model-rows.js';
import { assembleReport, interleavedComparison } from './report.js';
import type { BenchReport, BenchRow, BenchSettings, Comparison, GateResult, RowConfig, SkippedRow } from './report-types.js';

/** Hooks the CLI uses to show progress; the service works without them. */
export interface BenchHooks {
  /** Wraps the measurement of one row or pair, e.g. in a spinner showing `text`. */
  wrapRow?: <T>(text: string, task: () => Promise<T>) => Promise<T>;
}

/** A unit of work: one row, or a candidate and its baseline measured interleaved. */
export type WorkItem = { kind: 'single'; row: ModelRowPlan } | { kind: 'pair'; candidate: ModelRowPlan; baseline: ModelRowPlan };

/** Display names for model paths: base names, or the paths as given where two base names clash. */
function targetNames(paths: readonly string[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const file of new Set(paths)) counts.set(path.basename(file), (counts.get(path.basename(file)) ?? 0) + 1);
  return new Map(paths.map((file) => [file, (counts.get(path.basename(file)) ?? 0) > 1 ? file : path.basename(file)]));
}

function rowKey(name: string, config: RowConfig): string {
  return [
    name,
    config.executionProvider,
    `batch=${config.batch ?? 'model'}`,
    `intra=${config.intraOpThreads ?? 'default'}`,
    `inter=${config.interOpThreads ?? 'default'}`,
    `concurrency=${config.concurrency}`,
    `opt=${config.graphOptimizationLevel}`,
    `mode=${config.executionMode}`,
  ].join('|');
}

function rowLabel(name: string, config: RowConfig): string {
  const parts = [name, config.executionProvider];
  if (config.batch !== null) parts.push(`batch ${config.batch}`);
  if (config.intraOpThreads !== null) parts.push(`threads ${config.intraOpThreads}`);
  if (config.concurrency > 1) parts.push(`concurrency ${config.concurrency}`);
  return parts.join(' ');
}

/** Every combination of the sweeps, provider-major. */
export function sweepConfigs(settings: BenchSettings): RowConfig[] {
  const configs: RowConfig[] = [];
  for (const executionProvider of settings.executionProviders) {
    for (const batch of settings.batches ?? [null]) {
      for (const intraOpThreads of settings.intraOpThreads ?? [null]) {
        configs.push({
          executionProvider,
          batch,
          intraOpThreads,
          interOpThreads: settings.interOpThreads,
          graphOptimizationLevel: settings.graphOptimizationLevel,
          executionMode: settings.executionMode,
          concurrency: settings.concurrency,
        });
      }
    }
  }
  return configs;
}

/** The rows and pairs to measure, models outermost, each id unique. */
export function planWork(settings: BenchSettings): WorkItem[] {
  const names = targetNames(settings.vs === null ? settings.models : [...settings.models, settings.vs]);
  const used = new Map<string, number>();
  const unique = (id: string): string => {
    const seen = used.get(id) ?? 0;
    used.set(id, seen + 1);
    return seen === 0 ? id : `${id}#${seen + 1}`;
  };
  const plan = (file: string, config: RowConfig, role: RowPlan['role'], pairId: string | null, suffix = ''): ModelRowPlan => {
    const name = names.get(file) ?? file;
    const key = rowKey(name, config);
    return {
      id: unique(key + suffix),
      key,
      label: rowLabel(name, config) + (role === 'baseline' ? ' (baseline)' : ''),
      target: { kind: 'model', path: file, name },
      role,
      pairId,
      config,
    };
  };
  const work: WorkItem[] = [];
  for (const model of settings.models) {
    for (const config of sweepConfigs(settings)) {
      if (settings.vs === null) {
        work.push({ kind: 'single', row: plan(model, config, 'single', null) });
        continue;
      }
      const candidate = plan(model, config, 'candidate', null);
      candidate.pairId = candidate.id;
      const baseline = plan(settings.vs, config, 'baseline', candidate.id, ` vs ${candidate.target.name}`);
      work.push({ kind: 'pair', candidate, baseline });
    }
  }
  return work;
}

/** Why a provider cannot be used, or null when it can. */
export function providerUnavailability(provider: ExecutionProviderName): string | null {
  if (provider === 'cpu') return null;
  const statuses = providerStatuses();
  const status = statuses.find((entry) => entry.name === provider);
  if (status === undefined) {
    return `the installed onnxruntime-node for ${process.platform}/${process.arch} has no '${provider}' provider (it has ${statuses.map((entry) => entry.name).join(', ')})`;
  }
  return status.available ? null : (status.reason ?? 'it is not installed');
}

function providerHint(provider: ExecutionProviderName): string {
  const skip = 'or pass --skip-unavailable to skip it';
  if (provider === 'cuda' || provider === 'tensorrt') {
    return `run \`${CUDA_INSTALL_COMMAND}\` (needs CUDA 12 and cuDNN 9${provider === 'tensorrt' ? ' and TensorRT 10' : ''}), ${skip}`;
  }
  return `use a build of onnxruntime-node that has it, ${skip}`;
}

function skippedRow(plan: RowPlan, reason: string): SkippedRow {
  return { ...plan, status: 'skipped', provider: { requested: plan.config.executionProvider, used: null }, reason };
}

function isUnavailable(error: unknown): error is MlctlError {
  return error instanceof MlctlError && error.code === 'MLCTL_EP_UNAVAILABLE';
}

/**
 * Reads and validates each model with mlctl's own model layer before
 * onnxruntime sees it: a missing file or a file that is not ONNX is exit 3
 * with a precise message, and external-data paths are confined to the
 * model's folder before the runtime follows them.
 */
async function validateModels(files: readonly string[]): Promise<void> {
  for (const file of new Set(files)) await loadModel(file);
}

/**
 * Runs the benchmark described by `settings`.
 * @throws FileError / ModelFormatError / UnsafePathError (exit 3) for a model that cannot be
 *   read or is not valid ONNX; UsageError for a bad `--assert`; MlctlError MLCTL_EP_UNAVAILABLE (exit 4, with an
 *   install hint) for an unavailable provider unless `skipUnavailable`; whatever loading,
 *   feeding or running a model throws (exit 3 or 4). Gate failures are not thrown: they
 *   are in the report's `gates` and `verdict`.
 */
export async function runBench(settings: BenchSettings, hooks: BenchHooks = {}): Promise<BenchReport> {
  const createdAt = new Date().toISOString();
  const started = performance.now();
  const assertions = settings.asserts.map(parseAssertion);
  const baseline = settings.baseline === null ? undefined : await loadBaselineReport(settings.baseline);
  await validateModels(settings.vs === null ? settings.models : [...settings.models, settings.vs]);
  const environment = environmentFingerprint();
  const notes: string[] = [];

  if (settings.vs !== null && (settings.intraOpThreads ?? [0]).some((threads) => threads !== 1)) {
    notes.push('interleaved sessions with several intra-op threads can steal each other\'s cores; if verdicts come out inconclusive, compare with --threads 1');
  }
  const unavailable = new Map<ExecutionProviderName, string>();
  for (const provider of settings.executionProviders) {
    const reason = providerUnavailability(provider);
    if (reason === null) continue;
    if (!settings.skipUnavailable) {
      throw new MlctlError('MLCTL_EP_UNAVAILABLE', `cannot benchmark on execution provider '${provider}': ${reason}`, { hint: providerHint(provider) });
    }
    unavailable.set(provider, reason);
    notes.push(`skipped execution provider '${provider}': ${reason}`);
  }

  const wrap = hooks.wrapRow ?? (<T>(_text: string, task: () => Promise<T>): Promise<T> => task());
  const rows: BenchRow[] = [];
  const comparisons: Comparison[] = [];
  const gates: GateResult[] = [];
  const work = planWork(settings);
  for (const [index, item] of work.entries()) {
    const first = item.kind === 'single' ? item.row : item.candidate;
    const planned = item.kind === 'single' ? [item.row] : [item.candidate, item.baseline];
    const skipReason = unavailable.get(first.config.executionProvider);
    if (skipReason !== undefined) {
      rows.push(...planned.map((plan) => skippedRow(plan, skipReason)));
      continue;
    }
    const progress = `${first.label}${item.kind === 'pair' ? ` vs ${item.baseline.target.name}` : ''} (${index + 1}/${work.length})`;
    try {
      if (item.kind === 'single') {
        rows.push(await wrap(progress, () => measureRow(item.row, settings)));
        continue;
      }
      const [candidate, base] = await wrap(progress, () => measurePair(item.candidate, item.baseline, settings));
      rows.push(candidate, base);
      const comparison = interleavedComparison(candidate, base, settings);
      comparisons.push(comparison);
      if (settings.maxRegression !== null) gates.push(comparisonGate(comparison, candidate, base.target.name));
    } catch (error) {
      if (!(settings.skipUnavailable && isUnavailable(error))) throw error;
      rows.push(...planned.map((plan) => skippedRow(plan, error.message)));
      notes.push(`skipped ${first.label}: ${error.message}`);
    }
  }

  return assembleReport({ settings, environment, createdAt, started, rows, comparisons, gates, notes, assertions, baseline });
}
