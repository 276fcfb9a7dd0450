/**
 * The report as JSON (`--json`): indented for reading, except the raw sample
 * lists, which stay on one line each (a million indented numbers would be a
 * million lines). Samples are rounded to the nanosecond.
 */
import type { BenchReport } from '../report-types.js';

const sampleKeys = new Set(['samplesMs', 'warmupSamplesMs']);

function roundedList(values: readonly number[]): string {
  return `[${values.map((value) => Math.round(value * 1e6) / 1e6).join(',')}]`;
}

/** Serializes the report as a JSON document ending with a newline. */
export function renderJson(report: BenchReport): string {
  const lists: string[] = [];
  const text = JSON.stringify(report, (key, value: unknown) => {
    if (sampleKeys.has(key) && Array.isArray(value)) {
      lists.push(roundedList(value as number[]));
      return `\u0000samples:${lists.length - 1}`;
    }
    // Infinity and NaN (a ratio over a zero baseline) are not JSON; null says "no number".
    if (typeof value === 'number' && !Number.isFinite(value)) return null;
    return value;
  }, 2);
  // JSON.stringify escapes the NUL as \u0000, so the placeholder cannot collide with real text.
  return text.replace(/"\\u0000samples:(\d+)"/g, (_match, index: string) => lists[Number(index)] ?? '[]') + '\n';
}
