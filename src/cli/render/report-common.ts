/**
 * Formatting the quantize reports (weight-only/dynamic and static) share:
 * compact tables, numbers with '-' and 'inf' for missing and infinite
 * values, the --min-cosine note, and the JSON document.
 */
import Table from 'cli-table3';
import type { CosineGate } from '../../verify/job-common.js';

/** A borderless, uncoloured, compact table with the given header. */
export function newTable(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

/** `value` with `digits` decimals; '-' when missing, 'inf' or '-inf' when infinite. */
export function fixed(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined) return '-';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  return value.toFixed(digits);
}

/** `value` in scientific notation with 3 decimals (infinities and NaN as JavaScript writes them). */
export function scientific(value: number): string {
  return Number.isFinite(value) ? value.toExponential(3) : String(value);
}

/** A ratio as a percentage with one decimal. */
export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

/** Milliseconds, rounded. */
export function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

/** The note line on the --min-cosine gate. */
export function gateNote(gate: CosineGate): string {
  return `--min-cosine ${gate.minCosine}: ${gate.passed ? 'met' : 'NOT met'} (lowest cosine ${fixed(gate.worstCosine, 6)})`;
}

/** `document` as indented JSON ending with a newline; infinities (and NaN) become null. */
export function jsonDocument(document: object): string {
  return JSON.stringify(document, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2) + '\n';
}
