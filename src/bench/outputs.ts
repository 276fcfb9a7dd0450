/**
 * Delivering a bench report: files written atomically (refusing to overwrite
 * without --force, checked before anything is measured), the text for
 * stdout, and what the gates mean for the exit code.
 */
import { assertWritable, writeFileAtomic } from '../common/atomic-file.js';
import { MlctlError } from '../common/errors.js';
import type { OutputTargets } from './options.js';
import type { BenchReport, GateResult } from './report-types.js';

/** Refuses early when a report file exists (without `force`) or is a directory. */
export async function checkOutputTargets(targets: OutputTargets, force: boolean): Promise<void> {
  for (const target of Object.values(targets)) {
    if (target !== undefined && target !== 'stdout') await assertWritable(target, { force });
  }
}

/**
 * Renders and writes every file report. Renderers are loaded only when asked for.
 * @throws MlctlError MLCTL_OUTPUT_EXISTS / FileError as writeFileAtomic does.
 */
export async function writeReportFiles(report: BenchReport, targets: OutputTargets, force: boolean): Promise<void> {
  const write = (file: string, text: string): Promise<void> => writeFileAtomic(file, [Buffer.from(text, 'utf8')], { force });
  if (targets.json !== undefined && targets.json !== 'stdout') {
    const { renderJson } = await import('./render/json.js');
    await write(targets.json, renderJson(report));
  }
  if (targets.markdown !== undefined) {
    const { renderMarkdown } = await import('./render/markdown.js');
    await write(targets.markdown, renderMarkdown(report));
  }
  if (targets.junit !== undefined) {
    const { renderJunit } = await import('./render/junit.js');
    await write(targets.junit, renderJunit(report, report.settings.strict));
  }
  if (targets.html !== undefined) {
    const { renderHtml } = await import('./render/html.js');
    await write(targets.html, renderHtml(report));
  }
}

/** What goes to stdout: the JSON document when --json goes there, else the tables. */
export async function stdoutText(report: BenchReport, targets: OutputTargets): Promise<string> {
  if (targets.json === 'stdout') {
    const { renderJson } = await import('./render/json.js');
    return renderJson(report);
  }
  const { renderTable } = await import('./render/table.js');
  return renderTable(report);
}

function describeGate(gate: GateResult): string {
  return `${gate.name} on ${gate.rowLabel} (${gate.detail})`;
}

/** The gates' consequence: an error to throw (exit 1) and warnings to print. */
export interface GateOutcome {
  error: MlctlError | undefined;
  warnings: string[];
}

/**
 * Failed gates are an error; inconclusive ones are a warning, or an error
 * under `strict`.
 */
export function gateOutcome(report: BenchReport, strict: boolean): GateOutcome {
  const failed = report.gates.filter((gate) => gate.verdict === 'fail');
  const inconclusive = report.gates.filter((gate) => gate.verdict === 'inconclusive');
  const total = report.gates.length;
  const more = (list: readonly GateResult[]): string => (list.length > 1 ? ` (and ${list.length - 1} more; see the report)` : '');
  if (failed.length > 0) {
    return {
      error: new MlctlError('MLCTL_CHECK_FAILED', `${failed.length} of ${total} gates failed: ${describeGate(failed[0]!)}${more(failed)}`),
      warnings: [],
    };
  }
  if (inconclusive.length > 0 && strict) {
    return {
      error: new MlctlError('MLCTL_CHECK_FAILED', `${inconclusive.length} of ${total} gates were inconclusive (--strict fails on them): ${describeGate(inconclusive[0]!)}${more(inconclusive)}`, {
        hint: 'take more samples (--duration, --iterations) or run on a quieter machine',
      }),
      warnings: [],
    };
  }
  return {
    error: undefined,
    warnings: inconclusive.map((gate) => `inconclusive: ${describeGate(gate)}; pass --strict to fail on inconclusive gates`),
  };
}
