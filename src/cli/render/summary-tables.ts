/**
 * Human-readable rendering of a {@link ModelSummary} as plain-text tables
 * (`mlctl inspect` without `--json`).
 */
import Table from 'cli-table3';
import type { ModelSummary, ValueSummary } from '../../onnx/summary.js';

/** Longest metadata value shown in full; longer ones (vocabularies, configs) are cut. */
const maxMetadataValueChars = 120;

/**
 * Renders the summary as titled tables separated by blank lines: overview,
 * inputs and outputs, operators (by count), external data and metadata
 * (the last two only when present). The text ends with a newline.
 */
export function renderSummary(summary: ModelSummary): string {
  const sections = [
    renderOverview(summary),
    renderValues(summary),
    renderOperators(summary),
    summary.externalDataFiles.length > 0 ? renderExternalData(summary) : undefined,
    Object.keys(summary.metadataProps).length > 0 ? renderMetadata(summary) : undefined,
  ];
  return sections.filter((section) => section !== undefined).join('\n\n') + '\n';
}

/** The `--macs` table: multiply-accumulates per operator type and in total. */
export function renderMacs(macs: { total: number; byOpType: Record<string, number>; uncounted: string[] }): string {
  const table = newTable(['MACs by operator', 'MACs']);
  table.options.colAligns = ['left', 'right'];
  const rows = Object.entries(macs.byOpType).sort((a, b) => b[1] - a[1]);
  table.push(...rows.map(([opType, count]) => [opType, formatCount(count)]), ['total', formatCount(macs.total)]);
  const note = macs.uncounted.length > 0 ? `\n${formatCount(macs.uncounted.length)} node(s) not counted (shape unknown): ${macs.uncounted.slice(0, 5).join(', ')}${macs.uncounted.length > 5 ? ', …' : ''}` : '';
  return `\n${table.toString()}${note}\n`;
}

/** Formats a count with thousands separators, independent of the user's locale. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** Formats a byte size: `97.5 MiB (102,242,336 bytes)`, or `512 bytes` below 1 KiB. */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${formatCount(bytes)} bytes`;
  let scaled = bytes / 1024;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return `${scaled.toFixed(1)} ${units[unit] ?? ''} (${formatCount(bytes)} bytes)`;
}

/** Formats a shape as `[batch, 3, 224, 224]`; `?` marks unknown dimensions. */
export function formatShape(shape: ValueSummary['shape']): string {
  if (shape === null) return 'unknown rank';
  if (shape.length === 0) return '[] (scalar)';
  return `[${shape.map((dim) => (dim === null ? '?' : String(dim))).join(', ')}]`;
}

function newTable(head: string[]): Table.Table {
  // No colours: the output is often piped, and tests compare it as text.
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

function orDash(value: string | number | null): string {
  return value === null || value === '' ? '-' : String(value);
}

function renderOverview(summary: ModelSummary): string {
  const table = newTable(['Model', summary.file.path ?? '(bytes)']);
  const producer = [summary.producer.name, summary.producer.version].filter((part) => part !== null && part !== '');
  const opsets = summary.opsetImports.map(
    (entry) => `${entry.domain === '' ? 'ai.onnx' : entry.domain} ${orDash(entry.version)}`,
  );
  const functions = summary.functions.map((fn) => `${fn.domain}::${fn.name}`);
  const dtypeBytes = Object.entries(summary.bytesByDtype).map(([dtype, bytes]) => `${dtype}: ${formatBytes(bytes)}`);

  table.push(
    ['File size', formatBytes(summary.file.sizeBytes)],
    ['IR version', orDash(summary.irVersion)],
    ['Opsets', opsets.length > 0 ? opsets.join(', ') : '-'],
    ['Producer', producer.length > 0 ? producer.join(' ') : '-'],
    ['Domain', orDash(summary.domain)],
    ['Model version', orDash(summary.modelVersion)],
    ['Graph', orDash(summary.graphName)],
    [
      'Nodes',
      `${formatCount(summary.nodeCount)} (main graph ${formatCount(summary.mainGraphNodeCount)}, ` +
        `subgraphs ${formatCount(summary.subgraphCount)})`,
    ],
    ['Functions', functions.length > 0 ? functions.join(', ') : '-'],
    [
      'Initializers',
      `${formatCount(summary.initializerCount)} (sparse ${formatCount(summary.sparseInitializerCount)})`,
    ],
    [
      'Parameters',
      `${formatCount(summary.parameterCount)} (initializers ${formatCount(summary.initializerParameterCount)}, ` +
        `Constant nodes ${formatCount(summary.constantParameterCount)})`,
    ],
    ['Tensor bytes', dtypeBytes.length > 0 ? dtypeBytes.join('\n') : '-'],
  );
  return table.toString();
}

function renderValues(summary: ModelSummary): string {
  const table = newTable(['', 'Name', 'Type', 'Shape']);
  const row = (kind: string, value: ValueSummary): string[] => [kind, value.name, orDash(value.dtype), formatShape(value.shape)];
  table.push(...summary.inputs.map((value) => row('input', value)), ...summary.outputs.map((value) => row('output', value)));
  return table.toString();
}

function renderOperators(summary: ModelSummary): string {
  const table = newTable(['Operator', 'Count']);
  table.options.colAligns = ['left', 'right'];
  table.push(...Object.entries(summary.opTypeHistogram).map(([opType, count]) => [opType, formatCount(count)]));
  return table.toString();
}

function renderExternalData(summary: ModelSummary): string {
  const table = newTable(['External data file', 'Tensors', 'Size']);
  table.push(...summary.externalDataFiles.map((file) => [file.location, formatCount(file.tensors), formatBytes(file.bytes)]));
  return table.toString();
}

function renderMetadata(summary: ModelSummary): string {
  const table = newTable(['Metadata', 'Value']);
  table.push(...Object.entries(summary.metadataProps).map(([key, value]) => [printable(key), shorten(printable(value))]));
  return table.toString();
}

/** Makes control characters visible so one value stays on one line. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

function shorten(text: string): string {
  if (text.length <= maxMetadataValueChars) return text;
  return `${text.slice(0, maxMetadataValueChars)}… (${formatCount(text.length)} characters; see --json)`;
}
