/**
 * `--baseline prev.json`: compares this run's rows with a saved report's rows
 * of the same target and settings, through the ratio of their p50s with an
 * independent bootstrap interval (the two runs were not interleaved, so
 * machine drift between them is part of what the ratio measures).
 */
import { readFile } from 'node:fs/promises';
import { describeError, FileError, MlctlError } from '../common/errors.js';
import { independentPercentileRatio, type BootstrapOptions } from './bootstrap.js';
import { comparisonGate, gatedRows, regressionVerdict } from './gates.js';
import {
  BENCH_SCHEMA,
  BENCH_SCHEMA_VERSION,
  type BenchReport,
  type BenchRow,
  type Comparison,
  type EnvironmentFingerprint,
  type GateResult,
  type MeasuredRow,
} from './report-types.js';

function badReport(file: string, why: string): MlctlError {
  return new MlctlError('MLCTL_BAD_INPUT', `baseline '${file}' is not a usable mlctl bench report: ${why}`, {
    hint: 'write one with mlctl bench ... --json <file>',
  });
}

function isMeasuredRow(value: unknown): value is MeasuredRow {
  if (typeof value !== 'object' || value === null) return false;
  const row = value as Partial<MeasuredRow>;
  return row.status === 'measured' && typeof row.key === 'string' && typeof row.id === 'string'
    && Array.isArray(row.samplesMs) && row.samplesMs.length > 0 && row.samplesMs.every((sample) => typeof sample === 'number');
}

/**
 * Reads a report written by `mlctl bench --json`.
 * @throws FileError when it cannot be read; MlctlError MLCTL_BAD_INPUT when it is
 *   not JSON, not a bench report, or of another schema version.
 */
export async function loadBaselineReport(file: string): Promise<BenchReport> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new FileError(`cannot read baseline '${file}': ${describeError(error)}`, { cause: error });
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badReport(file, `it is not JSON (${describeError(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { schema?: unknown }).schema !== BENCH_SCHEMA) {
    throw badReport(file, `it has no "schema": "${BENCH_SCHEMA}"`);
  }
  const report = parsed as Partial<BenchReport>;
  if (report.schemaVersion !== BENCH_SCHEMA_VERSION) {
    throw badReport(file, `its schemaVersion is ${String(report.schemaVersion)}; this mlctl reads version ${BENCH_SCHEMA_VERSION}`);
  }
  if (!Array.isArray(report.rows)) throw badReport(file, 'it has no "rows" list');
  return report as BenchReport;
}

/** Differences between two environments that make a cross-run comparison suspect. */
export function environmentDifferences(current: EnvironmentFingerprint, baseline: Partial<EnvironmentFingerprint>): string[] {
  const differences: string[] = [];
  if (baseline.cpu?.model !== undefined && baseline.cpu.model !== current.cpu.model) differences.push(`CPU '${baseline.cpu.model}' → '${current.cpu.model}'`);
  if (baseline.onnxruntimeNodeVersion !== undefined && baseline.onnxruntimeNodeVersion !== current.onnxruntimeNodeVersion) {
    differences.push(`onnxruntime-node ${baseline.onnxruntimeNodeVersion} → ${current.onnxruntimeNodeVersion}`);
  }
  if (baseline.nodeVersion !== undefined && baseline.nodeVersion !== current.nodeVersion) differences.push(`Node ${baseline.nodeVersion} → ${current.nodeVersion}`);
  return differences;
}

/** What comparing with a baseline report produced. */
export interface BaselineOutcome {
  comparisons: Comparison[];
  gates: GateResult[];
  notes: string[];
}

/**
 * Compares each gated row with the baseline row of the same key.
 * @param maxRegression tolerated slowdown (fraction); null to report ratios without gating.
 */
export function compareWithBaseline(
  rows: readonly BenchRow[],
  baseline: BenchReport,
  file: string,
  maxRegression: number | null,
  bootstrap: BootstrapOptions,
): BaselineOutcome {
  const outcome: BaselineOutcome = { comparisons: [], gates: [], notes: [] };
  const candidates = new Map<string, MeasuredRow>();
  for (const row of baseline.rows as unknown[]) {
    if (isMeasuredRow(row) && row.role !== 'baseline' && !candidates.has(row.key)) candidates.set(row.key, row);
  }
  for (const row of gatedRows(rows)) {
    const previous = candidates.get(row.key);
    if (previous === undefined) {
      outcome.notes.push(`baseline '${file}' has no row for ${row.label} (key '${row.key}')`);
      if (maxRegression !== null) {
        outcome.gates.push({
          kind: 'baseline',
          name: `p50 vs ${file}`,
          rowId: row.id,
          rowLabel: row.label,
          verdict: 'inconclusive',
          observed: 'no baseline row',
          detail: `'${file}' has no measured row with the same model and settings (key '${row.key}')`,
        });
      }
      continue;
    }
    const estimate = independentPercentileRatio(row.samplesMs, previous.samplesMs, 50, bootstrap);
    const comparison: Comparison = {
      kind: 'baseline',
      candidateRowId: row.id,
      baselineRowId: previous.id,
      baselineReport: file,
      statistic: 'p50',
      ratio: estimate.ratio,
      interval: estimate.interval,
      paired: false,
      blockRatios: null,
      maxRegression,
      verdict: maxRegression === null ? null : regressionVerdict(estimate.interval, maxRegression),
    };
    outcome.comparisons.push(comparison);
    if (maxRegression !== null) outcome.gates.push(comparisonGate(comparison, row, file));
  }
  return outcome;
}
