/**
 * Rendering what `mlctl convert`'s --shape, --simplify, --fp16, --optimize
 * and --check did: plain-text tables (the simplify one is onnx-simplifier's
 * before/after table), or a JSON-ready document.
 */
import Table from 'cli-table3';
import type { ModelComparison } from '../../convert-runtime/compare-models.js';
import type { ConvertStepsOutcome, SavedConversion } from '../../convert-runtime/run-steps.js';
import type { Fp16Report } from '../../passes/convert/fp16/types.js';
import type { SetShapesReport } from '../../passes/convert/shapes/set-input-shapes.js';
import type { Dim } from '../../passes/convert/shapes/types.js';
import type { SimplifyReport } from '../../passes/convert/simplify/types.js';
import type { OptimizeReport } from '../../convert-runtime/optimize.js';
import { formatBytes as shortBytes } from '../../passes/convert/io/byte-size.js';
import { formatBytes, formatCount } from './summary-tables.js';

/** Operator rows of the simplify table before the rest is summed up (all are in the JSON). */
const maxOperatorRows = 30;

function newTable(head: string[]): Table.Table {
  // No colours: output is often piped, and tests compare it as text.
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

function dims(shape: readonly Dim[] | undefined): string {
  return shape === undefined ? '(unknown rank)' : `[${shape.map((dim) => (dim === null ? '?' : String(dim))).join(', ')}]`;
}

/** The after value, with its change against `before` in percent when it changed. */
function change(before: number, after: number, format: (value: number) => string = formatCount): string {
  if (before === after || before === 0) return format(after);
  return `${format(after)} (${after < before ? '−' : '+'}${(Math.abs(after - before) / before * 100).toFixed(1)}%)`;
}

function renderShapes(report: SetShapesReport): string {
  const table = newTable(['Shapes', 'before', 'after']);
  for (const input of report.inputs) table.push([`input ${input.name}`, dims(input.before), dims(input.after)]);
  for (const output of report.outputs) table.push([`output ${output.name}`, dims(output.before), dims(output.after)]);
  table.push(['value_info', '', `${formatCount(report.valueInfo.entries)} entries, ${formatCount(report.valueInfo.static)} fully static${report.valueInfo.dropped > 0 ? `, ${report.valueInfo.dropped} stale shapes dropped` : ''}`]);
  const notes = report.notes.map((note) => `note: ${note}`);
  return [table.toString(), ...notes].join('\n');
}

function renderSimplify(report: SimplifyReport): string {
  const { before, after } = report;
  const table = newTable(['Simplify', 'before', 'after']);
  const ops = [...new Set([...Object.keys(before.opCounts), ...Object.keys(after.opCounts)])]
    .sort((a, b) => (before.opCounts[b] ?? 0) - (before.opCounts[a] ?? 0) || (after.opCounts[b] ?? 0) - (after.opCounts[a] ?? 0) || a.localeCompare(b));
  for (const op of ops.slice(0, maxOperatorRows)) {
    const was = before.opCounts[op] ?? 0;
    const now = after.opCounts[op] ?? 0;
    table.push([op, formatCount(was), formatCount(now)]);
  }
  if (ops.length > maxOperatorRows) {
    const rest = ops.slice(maxOperatorRows);
    table.push([`(${rest.length} more)`, formatCount(rest.reduce((sum, op) => sum + (before.opCounts[op] ?? 0), 0)), formatCount(rest.reduce((sum, op) => sum + (after.opCounts[op] ?? 0), 0))]);
  }
  table.push(
    ['Nodes', formatCount(before.nodes), change(before.nodes, after.nodes)],
    ['Initializers', formatCount(before.initializers), formatCount(after.initializers)],
    ['Weights', formatBytes(before.weightBytes), formatBytes(after.weightBytes)],
    ['Model size', formatBytes(before.sizeBytes), change(before.sizeBytes, after.sizeBytes, formatBytes)],
  );
  const c = report.changes;
  const done = [
    [c['lift-constants'], 'Constant nodes lifted into initializers'],
    [c['remove-identity'], 'Identity nodes removed'],
    [c['remove-dropout'], 'Dropout nodes removed'],
    [c['fuse-conv-bn'], 'BatchNormalization folded into Conv'],
    [c['fuse-matmul-add'], 'MatMul+Add fused into Gemm'],
    [report.foldedByEvaluator, 'node(s) folded into constants'],
    [report.foldedFromShapes, 'Shape/Size node(s) answered from static shapes'],
    [c['inline-if'], 'If node(s) with a constant condition replaced by their branch'],
    [c['dedupe-initializers'], 'duplicate initializers merged'],
    [c['dead-code'], 'dead nodes and unused initializers removed'],
  ].filter(([count]) => (count as number) > 0).map(([count, what]) => `${formatCount(count as number)} ${what as string}`);
  const lines = [table.toString(), `${report.iterations} round(s): ${done.length === 0 ? 'nothing to simplify' : done.join(', ')}`];
  const skipped = Object.entries(report.foldSkippedByReason);
  if (skipped.length > 0) lines.push(...skipped.map(([reason, count]) => `not folded: ${count} node(s): ${reason}`));
  lines.push(...report.notes.map((note) => `note: ${note}`));
  return lines.join('\n');
}

function renderFp16(report: Fp16Report): string {
  const table = newTable(['Float16', '']);
  table.push(
    ['Tensors converted', `${formatCount(report.tensorsConverted)} (${formatBytes(report.bytesBefore)} → ${formatBytes(report.bytesAfter)})`],
    ['Kept float32', `${formatCount(report.tensorsKeptFloat32)} tensor(s) read only by float32 nodes`],
    ['Nodes in float32', report.blocked.length === 0 ? 'none' : report.blocked.map((b) => `${b.opType} ×${b.count} (${b.reason})`).join(', ')],
    ['Casts', `${formatCount(report.castsBefore)} → ${formatCount(report.castsAfter)} (${report.castsInserted} inserted, ${report.castsRemoved} removed as redundant)`],
    ['Inputs/outputs', report.ioKeptFloat32.length > 0 ? `float32 kept: ${report.ioKeptFloat32.join(', ')}` : report.ioConverted.length > 0 ? `float16: ${report.ioConverted.join(', ')}` : 'no float inputs or outputs'],
    ['Clamped values', `${formatCount(report.clampedToMax)} to ±65504, ${formatCount(report.clampedToMin)} tiny ones to ±2^-24`],
  );
  return [table.toString(), ...report.notes.map((note) => `note: ${note}`)].join('\n');
}

function renderOptimize(report: OptimizeReport): string {
  const table = newTable(['ONNX Runtime optimization', '']);
  const runtimeOnly = Object.entries(report.runtimeOnlyOps);
  table.push(
    ['Level', `${report.level} (execution provider ${report.executionProvider})`],
    ['Nodes', `${formatCount(report.nodesBefore)} → ${change(report.nodesBefore, report.nodesAfter)}`],
    ['Runtime-only operators', runtimeOnly.length === 0 ? 'none' : runtimeOnly.map(([op, count]) => `${op} ×${count}`).join(', ')],
  );
  return table.toString();
}

function number(value: number | null, digits: number): string {
  if (value === null) return '-';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  return value < 1e-3 && value > 0 ? value.toExponential(2) : value.toFixed(digits);
}

function renderCheck(check: ModelComparison | undefined, skipped: string | undefined): string {
  if (check === undefined) return `Check: skipped: ${skipped ?? 'not asked for'}`;
  const inputs = check.inputs.map((input) => `${input.name} ${dims(input.dims)}`).join(', ');
  const table = newTable(['Output', 'cosine', 'max |error|', ...(check.tolerance === undefined ? [] : ['outside tolerance'])]);
  for (const output of check.outputs) {
    table.push([output.name, number(output.cosine, 6), number(output.maxAbsError, 6), ...(check.tolerance === undefined ? [] : [formatCount(output.elementsOutsideTolerance ?? 0)])]);
  }
  const tolerance = check.tolerance === undefined ? '' : `, tolerance rtol ${check.tolerance.rtol} atol ${check.tolerance.atol}`;
  return [`Check: ${check.runs} random input set(s) (${inputs})${tolerance}: ${check.passed ? 'passed' : 'FAILED'}`, table.toString()].join('\n');
}

function renderSaved(saved: SavedConversion): string {
  const table = newTable(['Written', saved.saved.path]);
  table.push(['Size', formatBytes(saved.saved.sizeBytes)]);
  const external = saved.saved.externalData;
  if (external !== undefined) table.push(['External data', `${external.path}: ${formatCount(external.tensorCount)} tensor(s), ${formatBytes(external.sizeBytes)}`]);
  table.push(['Weights', `${saved.layout.mode === 'external' ? `external (tensors of ${shortBytes(saved.layout.thresholdBytes)} and more)` : 'inline'}: ${saved.layout.reason}`]);
  return table.toString();
}

/** Every section that applies, separated by blank lines; ends with a newline. */
export function renderConvertStepsOutcome(outcome: ConvertStepsOutcome, saved?: SavedConversion): string {
  const sections: string[] = [];
  if (outcome.shapes !== undefined) sections.push(renderShapes(outcome.shapes));
  if (outcome.simplify !== undefined) sections.push(renderSimplify(outcome.simplify));
  if (outcome.fp16 !== undefined) sections.push(renderFp16(outcome.fp16));
  if (outcome.optimize !== undefined) sections.push(renderOptimize(outcome.optimize));
  if (outcome.check !== undefined || outcome.checkSkipped !== undefined) sections.push(renderCheck(outcome.check, outcome.checkSkipped));
  if (saved !== undefined) sections.push(renderSaved(saved));
  return sections.length === 0 ? '' : sections.join('\n\n') + '\n';
}

/** The outcome as a JSON-ready object (no bigints, no models). */
export function convertStepsDocument(outcome: ConvertStepsOutcome, saved?: SavedConversion): Record<string, unknown> {
  const document: Record<string, unknown> = {};
  if (outcome.shapes !== undefined) document['shapes'] = outcome.shapes;
  if (outcome.simplify !== undefined) document['simplify'] = outcome.simplify;
  if (outcome.fp16 !== undefined) document['fp16'] = outcome.fp16;
  if (outcome.optimize !== undefined) document['optimize'] = outcome.optimize;
  if (outcome.check !== undefined) document['check'] = outcome.check;
  if (outcome.checkSkipped !== undefined) document['checkSkipped'] = outcome.checkSkipped;
  if (saved !== undefined) {
    document['written'] = {
      path: saved.saved.path,
      sizeBytes: saved.saved.sizeBytes,
      dataLayout: saved.layout,
      ...(saved.saved.externalData === undefined ? {} : { externalData: saved.saved.externalData }),
    };
  }
  document['warnings'] = outcome.warnings;
  document['timingsMs'] = Object.fromEntries(Object.entries(outcome.timingsMs).map(([step, ms]) => [step, Math.round(ms)]));
  return document;
}
