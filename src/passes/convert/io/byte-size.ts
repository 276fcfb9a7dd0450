/**
 * Parsing byte sizes as options give them: `1024`, `1KB`, `4 MiB`, `1.5GB`.
 * Units are binary multiples, whichever way they are spelled (KB = KiB =
 * 1024 bytes), as ONNX's own external-data threshold (1024) is.
 */
import { UsageError } from '../../../common/errors.js';

const multipliers: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/**
 * Parses a byte size.
 * @param what - how to name the value in the error, e.g. `--threshold`.
 * @throws UsageError for anything but a non-negative number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB).
 */
export function parseByteSize(text: string, what: string): number {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const multiplier = match === null ? undefined : multipliers[match[2]!.toLowerCase()];
  if (match === null || multiplier === undefined) {
    throw new UsageError(`${what} '${text}' is not a size; expected a number of bytes with an optional unit, e.g. 1024, 1KB or 4MiB`);
  }
  const bytes = Math.round(Number(match[1]) * multiplier);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${what} '${text}' is too large`);
  return bytes;
}

/** A byte count as people read it: `512 B`, `1.0 KiB`, `4.5 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
