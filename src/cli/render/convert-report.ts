/**
 * Rendering of an opset conversion report (`mlctl convert`) as plain-text
 * tables or as one JSON document.
 */
import Table from 'cli-table3';
import type { OpsetConversionReport } from '../../passes/convert/opset/index.js';

/** What `mlctl convert` did, as printed. */
export interface ConvertOutcome {
  input: string;
  output: string;
  /** Size of the written file in bytes. */
  sizeBytes: number;
  report: OpsetConversionReport;
}

function newTable(head: string[], colWidths: (number | null)[] = []): Table.Table {
  // No colours: the output is often piped, and tests compare it as text.
  return new Table({ head, colWidths, style: { head: [], border: [], compact: true }, wordWrap: true });
}

/** Overview, then one row per adapter that ran, then the notes. Ends with a newline. */
export function renderConvertOutcome(outcome: ConvertOutcome): string {
  const { report } = outcome;
  const overview = newTable(['Converted', outcome.input]);
  overview.push(
    ['Written to', `${outcome.output} (${outcome.sizeBytes.toLocaleString('en-US')} bytes)`],
    ['Opset (ai.onnx)', `${report.fromOpset} → ${report.toOpset}`],
    ['IR version', `${report.irVersionFrom} → ${report.irVersionTo}`],
    ['Nodes', `${report.nodesBefore} → ${report.nodesAfter}`],
    ['Carried over (new version, no change)', String(report.nodesCarriedOver)],
  );
  const sections = [overview.toString()];
  if (report.adapters.length > 0) {
    const adapters = newTable(['Operator', 'Versions', 'Change', 'Nodes', 'Notes'], [null, null, 36, null, 50]);
    adapters.push(
      ...report.adapters.map((record) => [
        record.opType,
        `${record.fromVersion} → ${record.toVersion}`,
        record.adapter,
        String(record.nodesChanged),
        record.notes.join('\n'),
      ]),
    );
    sections.push(adapters.toString());
  } else {
    sections.push('No node needed changing.');
  }
  if (report.notes.length > 0) sections.push(report.notes.map((note) => `note: ${note}`).join('\n'));
  return sections.join('\n\n') + '\n';
}

/** The outcome as one JSON document (schemaVersion 1), with a trailing newline. */
export function convertOutcomeJson(outcome: ConvertOutcome): string {
  return JSON.stringify({ schemaVersion: 1, ...outcome }, null, 2) + '\n';
}
