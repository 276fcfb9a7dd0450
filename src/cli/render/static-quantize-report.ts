/**
 * Rendering the outcome of `mlctl quantize --mode static` as plain-text
 * tables, or as one JSON document.
 */
import type { StaticQuantizeOutcome } from '../../verify/calibration/static-quantize-job.js';
import { fixed, gateNote, jsonDocument, ms, newTable, scientific } from './report-common.js';
import { formatBytes, formatCount } from './summary-tables.js';

const maxNodeRows = 40;
const maxRankingRows = 20;
const maxDebugRows = 40;

function renderOverview(outcome: StaticQuantizeOutcome): string {
  const { report, calibration, prepare } = outcome;
  const table = newTable(['Quantize (static)', outcome.input.path]);
  const settings = [`activations ${report.activationType} asymmetric`, `weights int8 symmetric ${report.perChannel ? 'per-channel' : 'per-tensor'}`];
  if (report.reduceRange) settings.push('reduce-range');
  const written = outcome.output;
  const after = written?.sizeBytes ?? outcome.quantizedSizeBytes;
  const prepared: string[] = [];
  if (prepare.opsetBefore !== prepare.opsetAfter) prepared.push(`opset ${prepare.opsetBefore} → ${prepare.opsetAfter}`);
  if (prepare.foldedBatchNorms.length > 0) prepared.push(`${prepare.foldedBatchNorms.length} BatchNormalization folded into Conv`);
  if (prepare.sumsRewritten > 0) prepared.push(`${prepare.sumsRewritten} Sum → Add`);
  if (prepare.divisionsRewritten > 0) prepared.push(`${prepare.divisionsRewritten} Div by a constant → Mul by its reciprocal`);
  if (prepare.passThroughsRemoved > 0) prepared.push(`${prepare.passThroughsRemoved} Dropout/Identity removed`);
  const { convTransposes, affineFolds } = prepare;
  if (convTransposes.rewritten > 0) prepared.push(`${convTransposes.rewritten} ConvTranspose → 1×1 Conv + DepthToSpace`);
  const affine = affineFolds.foldedAfterConv + affineFolds.foldedBeforeConv;
  if (affine > 0) prepared.push(`${affine} Mul/Add by a constant folded into Conv`);
  const fused = report.nodes.filter((n) => n.action === 'fused').length;
  table.push(
    ['Settings', settings.join(', ')],
    ['Calibration', `${calibration.method}${calibration.movingAverage ? ' (moving average)' : ''} on ${calibration.source}; ${calibration.ranged}/${calibration.tensors} tensors ranged; ${calibration.runs} runs, at most ${calibration.largestRunTensors} tensors (${formatBytes(calibration.largestRunBytes)}) per run`],
    ['Prepared', prepared.length === 0 ? 'nothing to change' : prepared.join(', ')],
    ['Output', written === undefined ? (outcome.dryRun ? '(dry run: nothing written)' : '(nothing written)') : written.path],
    [outcome.dryRun ? 'Size (estimated)' : 'Size', `${formatBytes(outcome.input.sizeBytes)} → ${formatBytes(after)} (ratio ${(after / outcome.input.sizeBytes).toFixed(3)})`],
    ['Nodes', `${formatCount(report.nodesQuantized)} quantized, ${formatCount(fused)} Relu/Clip folded, ${formatCount(report.nodesFloat)} left in float; ${formatCount(report.activations.length)} activations quantized`],
    ['Time', Object.entries(outcome.timingsMs).filter(([key]) => key !== 'total').map(([key, value]) => `${key} ${ms(value)}`).join(', ')],
  );
  return table.toString();
}

function renderNodes(outcome: StaticQuantizeOutcome): string | undefined {
  const nodes = outcome.report.nodes.filter((n) => n.action === 'float');
  if (nodes.length === 0) return undefined;
  const table = newTable(['Left in float', 'Op', 'Why']);
  for (const node of nodes.slice(0, maxNodeRows)) table.push([node.node, node.opType, node.reason ?? '']);
  if (nodes.length > maxNodeRows) table.push([`… ${nodes.length - maxNodeRows} more (see --json)`, '', '']);
  return table.toString();
}

function renderFallbacks(outcome: StaticQuantizeOutcome): string | undefined {
  if (outcome.fallbacks.length === 0) return undefined;
  const table = newTable(['Left in float by the fallback', 'Op', 'onnxruntime failed with']);
  for (const fallback of outcome.fallbacks) table.push([fallback.node, fallback.opType, fallback.reason]);
  return table.toString();
}

function renderSelection(outcome: StaticQuantizeOutcome): string | undefined {
  const selection = outcome.selection;
  if (selection === undefined) return undefined;
  const targetText = selection.target.kind === 'cosine' ? `cosine ≥ ${selection.target.value}` : `max abs error ≤ ${selection.target.value}`;
  const lines = [
    `Accuracy target ${targetText}: fully quantized worst cosine ${fixed(selection.baseline.worstCosine, 6)}, max abs error ${scientific(selection.baseline.maxAbsError)}; ` +
      (selection.ranking.length === 0
        ? 'met without keeping any node in float.'
        : `${selection.met ? 'met' : 'NOT met'} with ${selection.keptFloat.length} node${selection.keptFloat.length === 1 ? '' : 's'} in float (worst cosine ${fixed(selection.final.worstCosine, 6)}, max abs error ${scientific(selection.final.maxAbsError)}; ${selection.evaluations} models measured).`),
  ];
  if (selection.ranking.length === 0) return lines[0];
  const kept = new Set(selection.keptFloat);
  const table = newTable(['Sensitivity rank', 'Node', 'Op', 'Worst cosine with it in float', 'Gain', 'Kept in float']);
  selection.ranking.slice(0, maxRankingRows).forEach((entry, i) => {
    table.push([String(i + 1), entry.node, entry.opType, fixed(entry.metrics.worstCosine, 6), scientific(entry.gain), kept.has(entry.node) ? 'yes' : '']);
  });
  if (selection.ranking.length > maxRankingRows) table.push([`… ${selection.ranking.length - maxRankingRows} more (see --json)`, '', '', '', '', '']);
  return `${lines[0]}\n${table.toString()}`;
}

function renderVerification(outcome: StaticQuantizeOutcome): string {
  const verification = outcome.verification;
  if (verification === undefined) return 'Verification: skipped with --no-verify';
  const table = newTable(['Output', 'Cosine', 'Max abs error']);
  table.options.colAligns = ['left', 'right', 'right'];
  for (const output of verification.metrics.outputs) table.push([output.name, fixed(output.cosine, 6), scientific(output.maxAbsError)]);
  return `${table.toString()}\nCompared with the float model on ${verification.source}.`;
}

function renderDebug(outcome: StaticQuantizeOutcome): string | undefined {
  const rows = outcome.debug;
  if (rows === undefined || rows.length === 0) return undefined;
  const table = newTable(['Tensor (lowest SQNR first)', 'SQNR dB', 'Local SQNR dB', 'Clipped', 'Range', 'Scale', 'Zero point']);
  table.options.colAligns = ['left', 'right', 'right', 'right', 'left', 'right', 'right'];
  const ordered = [...rows].sort((a, b) => (a.sqnrDb ?? Infinity) - (b.sqnrDb ?? Infinity));
  for (const row of ordered.slice(0, maxDebugRows)) {
    table.push([
      row.tensor,
      fixed(row.sqnrDb, 1),
      fixed(row.localSqnrDb, 1),
      row.clippedFraction === null ? '-' : `${(row.clippedFraction * 100).toFixed(3)}%`,
      `[${row.rmin.toPrecision(4)}, ${row.rmax.toPrecision(4)}]`,
      scientific(row.scale),
      String(row.zeroPoint),
    ]);
  }
  if (rows.length > maxDebugRows) table.push([`… ${rows.length - maxDebugRows} more (see --json)`, '', '', '', '', '', '']);
  return `${table.toString()}\nSQNR: float model vs dequantized value (all error so far); local: value entering QuantizeLinear vs dequantized (this step's error).`;
}

function renderNotes(outcome: StaticQuantizeOutcome): string | undefined {
  const lines = [...outcome.report.notes];
  if (outcome.calibration.skipped.length > 0) lines.push(`${outcome.calibration.skipped.length} measured tensors got no range (not float32, or never finite); nodes reading them stay float`);
  if (outcome.gate !== undefined) lines.push(gateNote(outcome.gate));
  return lines.length === 0 ? undefined : lines.map((line) => `Note: ${line}`).join('\n');
}

/** The outcome as tables separated by blank lines, ending with a newline. */
export function renderStaticQuantizeOutcome(outcome: StaticQuantizeOutcome): string {
  const sections = [renderOverview(outcome), renderNodes(outcome), renderFallbacks(outcome), renderSelection(outcome), renderVerification(outcome), renderDebug(outcome), renderNotes(outcome)];
  return sections.filter((section) => section !== undefined).join('\n\n') + '\n';
}

/** The outcome as one JSON document (schemaVersion 1); infinities become null. */
export function staticQuantizeOutcomeJson(outcome: StaticQuantizeOutcome): string {
  return jsonDocument({ schemaVersion: 1, mode: 'static', ...outcome });
}
