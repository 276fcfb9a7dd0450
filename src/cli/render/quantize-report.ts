/**
 * Rendering the outcome of `mlctl quantize` as plain-text tables, or as one
 * JSON document.
 */
import type { QuantizeOutcome } from '../../verify/quantize-job.js';
import { fixed, gateNote, jsonDocument, ms, newTable, percent, scientific } from './report-common.js';
import { formatBytes, formatCount } from './summary-tables.js';

/** Node rows shown in the table before the rest is summarized (all of them are in --json). */
const maxNodeRows = 40;
/** Tensor rows shown in the table before the rest is summarized. */
const maxTensorRows = 40;

function renderOverview(outcome: QuantizeOutcome): string {
  const { report } = outcome;
  const table = newTable(['Quantize', outcome.input.path]);
  const settings = [report.mode, report.weightType, report.perChannel ? 'per-channel' : 'per-tensor', report.symmetric ? 'symmetric' : 'asymmetric'];
  if (report.reduceRange) settings.push('reduce-range');
  const written = outcome.output;
  const after = written?.sizeBytes ?? outcome.quantizedSizeBytes;
  table.push(
    ['Settings', settings.join(', ')],
    ['Output', written === undefined ? (outcome.dryRun ? '(dry run: nothing written)' : '(nothing written)') : written.path],
    [
      outcome.dryRun ? 'Size (estimated)' : 'Size',
      `${formatBytes(outcome.input.sizeBytes)} → ${formatBytes(after)} (${percent(after / outcome.input.sizeBytes)})`,
    ],
    ['Nodes', `${formatCount(report.nodesQuantized)} quantized, ${formatCount(report.nodesSkipped)} left in float`],
    ['Opset', report.opsetBefore === report.opsetAfter ? String(report.opsetAfter) : `${report.opsetBefore} → ${report.opsetAfter}`],
    ['IR version', report.irVersionBefore === report.irVersionAfter ? String(report.irVersionAfter) : `${report.irVersionBefore} → ${report.irVersionAfter}`],
    ['Time', `load ${ms(outcome.timingsMs.load)}, quantize ${ms(outcome.timingsMs.quantize)}, verify ${ms(outcome.timingsMs.verify)}, save ${ms(outcome.timingsMs.save)}`],
  );
  if (written?.externalData !== undefined) table.push(['External data', `${written.externalData.path} (${formatBytes(written.externalData.sizeBytes)})`]);
  return table.toString();
}

function renderTensors(outcome: QuantizeOutcome): string | undefined {
  const tensors = outcome.report.tensors;
  if (tensors.length === 0) return undefined;
  const table = newTable(['Tensor', 'Shape', 'Axis', 'Before', 'After', 'Scale range', 'SQNR dB']);
  table.options.colAligns = ['left', 'left', 'right', 'right', 'right', 'left', 'right'];
  for (const tensor of tensors.slice(0, maxTensorRows)) {
    table.push([
      tensor.floatKept ? `${tensor.name} (float kept)` : tensor.name,
      `[${tensor.shape.join(', ')}]`,
      tensor.axis === null ? '-' : String(tensor.axis),
      formatCount(tensor.bytesBefore),
      formatCount(tensor.bytesAfter),
      tensor.scaleMin === tensor.scaleMax ? scientific(tensor.scaleMin) : `${scientific(tensor.scaleMin)} … ${scientific(tensor.scaleMax)}`,
      fixed(tensor.sqnrDb ?? Infinity, 1),
    ]);
  }
  if (tensors.length > maxTensorRows) table.push([`… ${tensors.length - maxTensorRows} more (see --json)`, '', '', '', '', '', '']);
  return table.toString();
}

function renderNodes(outcome: QuantizeOutcome): string | undefined {
  const nodes = outcome.report.nodes;
  if (nodes.length === 0) return undefined;
  const table = newTable(['Node', 'Op', 'Action', 'Why']);
  // Skipped nodes first: they are what a user needs to look at.
  const ordered = [...nodes.filter((n) => n.action === 'skipped'), ...nodes.filter((n) => n.action !== 'skipped')];
  for (const node of ordered.slice(0, maxNodeRows)) table.push([node.node, node.opType, node.action, node.reason ?? '']);
  if (nodes.length > maxNodeRows) table.push([`… ${nodes.length - maxNodeRows} more (see --json)`, '', '', '']);
  return table.toString();
}

function renderVerification(outcome: QuantizeOutcome): string {
  if (outcome.verification === undefined) return `Verification: ${outcome.verificationSkipped ?? 'not run'}`;
  const table = newTable(['Output', 'Cosine', 'Max abs error', 'Relative L2', 'Top-1 agreement']);
  table.options.colAligns = ['left', 'right', 'right', 'right', 'right'];
  for (const output of outcome.verification.outputs) {
    table.push([
      output.shapeMatches ? output.name : `${output.name} (shape or type differs)`,
      fixed(output.cosine, 6),
      Number.isFinite(output.maxAbsError) ? scientific(output.maxAbsError) : 'inf',
      output.relativeL2 === null ? '-' : Number.isFinite(output.relativeL2) ? scientific(output.relativeL2) : 'inf',
      output.top1Agreement === null ? '-' : percent(output.top1Agreement),
    ]);
  }
  const { inputs } = outcome.verification;
  const random = inputs.filter((input) => input.random).map((input) => `${input.name}[${input.dims.join(',')}]`);
  const files = inputs.filter((input) => input.file !== undefined).map((input) => `${input.name}[${input.dims.join(',')}] from ${input.file}`);
  const captions = [...(random.length > 0 ? [`Inputs: seeded random ${random.join(', ')}`] : []), ...(files.length > 0 ? [`Inputs: ${files.join(', ')}`] : [])];
  return [table.toString(), ...captions].join('\n');
}

function renderNotes(outcome: QuantizeOutcome): string | undefined {
  const lines: string[] = [];
  for (const fallback of outcome.fallbacks) lines.push(`left in float: ${fallback.node} (${fallback.opType}): ${fallback.reason}`);
  if (outcome.report.opsetConversionError !== undefined) lines.push(outcome.report.opsetConversionError);
  lines.push(...outcome.report.notes);
  if (outcome.speed !== undefined) {
    const { speed } = outcome;
    lines.push(`--check-speed: ${speed.originalMs.toFixed(2)} ms → ${speed.quantizedMs.toFixed(2)} ms per inference (median of ${speed.runs}); ${speed.advice}`);
  }
  if (outcome.speedSkipped !== undefined) lines.push(`--check-speed: ${outcome.speedSkipped}`);
  if (outcome.gate !== undefined) lines.push(gateNote(outcome.gate));
  return lines.length === 0 ? undefined : lines.map((line) => `Note: ${line}`).join('\n');
}

/** The outcome as tables separated by blank lines, ending with a newline. */
export function renderQuantizeOutcome(outcome: QuantizeOutcome): string {
  const sections = [renderOverview(outcome), renderTensors(outcome), renderNodes(outcome), renderVerification(outcome), renderNotes(outcome)];
  return sections.filter((section) => section !== undefined).join('\n\n') + '\n';
}

/** The outcome as one JSON document (schemaVersion 1); infinities become null. */
export function quantizeOutcomeJson(outcome: QuantizeOutcome): string {
  return jsonDocument({ schemaVersion: 1, ...outcome });
}
