/**
 * Rendering the outcome of `mlctl prune` as plain-text tables, or as one
 * JSON document.
 */
import Table from 'cli-table3';
import type { PruneOutcome } from '../../verify/prune-job.js';
import { formatBytes, formatCount } from './summary-tables.js';

/** Rows shown per table before the rest is summarized (all of them are in --json). */
const maxRows = 40;

function newTable(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

function change(before: number, after: number, format: (value: number) => string = formatCount): string {
  return before === 0 ? `${format(before)} → ${format(after)}` : `${format(before)} → ${format(after)} (${percent(after / before)})`;
}

function fixed(value: number | null, digits: number): string {
  if (value === null) return '-';
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

function renderOverview(outcome: PruneOutcome): string {
  const { report } = outcome;
  const table = newTable(['Prune', outcome.input.path]);
  const settings = [report.method, `sparsity ${report.sparsity}`];
  if (report.scope !== undefined) settings.push(`${report.scope} scope`);
  if (report.norm !== undefined) settings.push(`${report.norm} norm`);
  const written = outcome.output;
  table.push(
    ['Settings', settings.join(', ')],
    ['Output', written === undefined ? '(nothing written)' : written.path],
    ['File size', change(outcome.input.sizeBytes, outcome.prunedSizeBytes, formatBytes)],
    ['Parameters', change(report.parametersBefore, report.parametersAfter)],
    ['Non-zero parameters', change(report.nonzeroParametersBefore, report.nonzeroParametersAfter)],
  );
  if (outcome.macs !== null) {
    table.push(['MACs', outcome.macs.after === null ? `${formatCount(outcome.macs.before)} → (not run)` : change(outcome.macs.before, outcome.macs.after)]);
  }
  const agreement = outcome.agreement;
  if (agreement !== null) {
    table.push([
      `Agreement (${agreement.samples} samples)`,
      `worst cosine ${fixed(agreement.worstCosine, 6)}, max abs error ${agreement.maxAbsError.toExponential(3)}` +
        (agreement.top1Agreement === null ? '' : `, top-1 ${percent(agreement.top1Agreement)}`),
    ]);
  } else if (outcome.verificationSkipped !== undefined) {
    table.push(['Agreement', outcome.verificationSkipped]);
  }
  if (outcome.rewriteCheck !== null) {
    const check = outcome.rewriteCheck;
    table.push(['Rewrite check', `vs the original with the removed channels masked: cosine ${fixed(check.worstCosine, 6)}, max abs error ${check.maxAbsError.toExponential(3)}`]);
  }
  if (outcome.sparseStorageCheck !== null) {
    const check = outcome.sparseStorageCheck;
    table.push(['Sparse storage', check.identical ? 'outputs identical to the dense pruned model' : `outputs differ from the dense pruned model by up to ${check.maxAbsError}`]);
  }
  if (outcome.gate !== undefined) {
    table.push(['Gate', `${outcome.gate.passed ? 'passed' : 'FAILED'}: worst cosine ${fixed(outcome.gate.worstCosine, 6)} vs --min-cosine ${outcome.gate.minCosine}`]);
  }
  return table.toString();
}

function more(count: number): string {
  return `… and ${formatCount(count)} more (see --json)`;
}

function renderTensors(outcome: PruneOutcome): string | undefined {
  const tensors = outcome.report.tensors;
  if (tensors.length === 0) return undefined;
  const table = newTable(['Tensor', 'Shape', 'Sparsity', 'Storage', 'Bytes']);
  for (const tensor of tensors.slice(0, maxRows)) {
    table.push([
      tensor.name,
      `[${tensor.shape.join(', ')}]`,
      `${percent(tensor.zerosBefore / Math.max(1, tensor.elements))} → ${percent(tensor.sparsityAfter)}`,
      tensor.storage,
      change(tensor.bytesBefore, tensor.bytesAfter),
    ]);
  }
  if (tensors.length > maxRows) table.push([more(tensors.length - maxRows), '', '', '', '']);
  return table.toString();
}

function renderGroups(outcome: PruneOutcome): string | undefined {
  const groups = outcome.report.groups;
  if (groups.length === 0) return undefined;
  const table = newTable(['Layers', 'Channels', 'Follow']);
  for (const group of groups.slice(0, maxRows)) {
    const counts = new Set(group.channels.map((c) => `${c.before} → ${c.after}`));
    const layers = group.producers.length <= 3 ? group.producers.join(', ') : `${group.producers.slice(0, 3).join(', ')} +${group.producers.length - 3} tied`;
    const channels = counts.size === 1 ? [...counts][0]! : group.channels.map((c) => `${c.node}: ${c.before} → ${c.after}`).join('; ');
    table.push([layers, channels, group.followers.length <= 3 ? group.followers.join(', ') : `${group.followers.length} nodes`]);
  }
  if (groups.length > maxRows) table.push([more(groups.length - maxRows), '', '']);
  return table.toString();
}

function renderSkipped(outcome: PruneOutcome): string | undefined {
  const skipped = outcome.report.skipped;
  if (skipped.length === 0) return undefined;
  const table = newTable(['Left alone', 'Why']);
  for (const item of skipped.slice(0, maxRows)) table.push([item.node ?? item.tensor ?? '-', item.reason]);
  if (skipped.length > maxRows) table.push([more(skipped.length - maxRows), '']);
  return table.toString();
}

/** The outcome as titled tables; the text ends with a newline. */
export function renderPruneOutcome(outcome: PruneOutcome): string {
  const sections = [renderOverview(outcome), renderTensors(outcome), renderGroups(outcome), renderSkipped(outcome)];
  const notes = outcome.report.notes.map((note) => `note: ${note}`);
  return [...sections.filter((s): s is string => s !== undefined), ...(notes.length > 0 ? [notes.join('\n')] : [])].join('\n\n') + '\n';
}

/**
 * The outcome as one JSON document (schemaVersion 1): `input`, `output`
 * (absent when nothing was written), `prunedSizeBytes`, `report` (the pass's
 * PruneReport: method, sparsity, tensors, groups, skipped, parameters, notes),
 * `macs` ({ before, after } or null), `agreement` (or null),
 * `sparseStorageCheck` (or null), `rewriteCheck` (channels: the pruned model
 * against the original with the removed channels masked, or null), `gate`
 * when --min-cosine was given.
 */
export function pruneOutcomeJson(outcome: PruneOutcome): string {
  return JSON.stringify({ schemaVersion: 1, ...outcome }, null, 2) + '\n';
}
