/**
 * Parsing and formatting of the quantities bench options and reports use:
 * durations (`10s`, `500ms`, `250us`), percentages (`10%`) and counts.
 */
import { UsageError } from '../common/errors.js';

/** Milliseconds per unit accepted in durations and time assertions. */
export const TIME_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
};

const durationPattern = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zµ]+)\s*$/i;

/**
 * Parses a duration with a unit (`10s`, `1.5s`, `500ms`, `250us`, `2m`) to milliseconds.
 * @param option the option name, for the error message.
 * @throws UsageError for a missing or unknown unit, or a value that is not positive.
 */
export function parseDurationMs(text: string, option: string): number {
  const match = durationPattern.exec(text);
  const unit = match?.[2]?.toLowerCase();
  const scale = unit === undefined ? undefined : TIME_UNITS_MS[unit];
  if (match === null || scale === undefined) {
    throw new UsageError(`${option} '${text}' is not a duration; expected a number with a unit, e.g. 10s, 500ms, 2m`);
  }
  const value = Number(match[1]) * scale;
  if (!(value > 0)) throw new UsageError(`${option} '${text}' must be longer than zero`);
  return value;
}

/**
 * Parses a percentage (`10%`, or `10` meaning 10%) to a fraction (0.1).
 * @throws UsageError for anything else or a negative value.
 */
export function parsePercent(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*$/.exec(text);
  if (match === null) throw new UsageError(`${option} '${text}' is not a percentage; expected e.g. 10%`);
  return Number(match[1]) / 100;
}

/**
 * Parses a positive integer (`8`).
 * @throws UsageError quoting the value otherwise.
 */
export function parsePositiveInteger(text: string, option: string): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`${option} '${text}' is not a positive integer`);
  return value;
}

/**
 * Parses a comma-separated list of positive integers (`1,8,32`); duplicates are dropped.
 * @throws UsageError quoting the bad element.
 */
export function parseIntegerList(text: string, option: string): number[] {
  const values = text.split(',').map((part) => parsePositiveInteger(part, option));
  return [...new Set(values)];
}

function significant(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** A duration in the unit that suits it, three significant digits: `850 ns`, `12.3 µs`, `4.56 ms`, `1.20 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const abs = Math.abs(ms);
  if (abs >= 1000) return `${significant(ms / 1000)} s`;
  if (abs >= 1) return `${significant(ms)} ms`;
  if (abs >= 1e-3) return `${significant(ms * 1000)} µs`;
  return `${significant(ms * 1e6)} ns`;
}

/** A rate with three significant digits and thousands separators: `12,345/s`, `87.6/s`. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1000) return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
  return `${significant(perSecond)}/s`;
}

/** A fraction as a percentage with one decimal: 0.0342 → `3.4%`. */
export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** A ratio as `1.032×`. */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(3)}×`;
}

/** A byte count in MiB: `123.4 MiB`. */
export function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
