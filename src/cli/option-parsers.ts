/**
 * Parsers for option values several commands share, so that one flag means
 * and accepts the same thing everywhere.
 */
import { UsageError } from '../common/errors.js';
import { parseShapeSpec } from '../common/shape-spec.js';


/** Commander collector for a repeatable `--shape`: builds `{ name: dims }`, refusing a name given twice. */
export function collectShape(value: string, previous: unknown): Record<string, number[]> {
  const shapes = typeof previous === 'object' && previous !== null && !Array.isArray(previous) ? (previous as Record<string, number[]>) : {};
  const [name, dims] = parseShapeSpec(value);
  if (Object.hasOwn(shapes, name)) throw new UsageError(`--shape gives input '${name}' twice; give each input once`);
  return { ...shapes, [name]: dims };
}

/** Parser for `--min-cosine`-style options: a number in [-1, 1]. */
export function parseCosine(flag = '--min-cosine') {
  return (value: string): number => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number < -1 || number > 1) {
      throw new UsageError(`${flag} '${value}' is not a number between -1 and 1`);
    }
    return number;
  };
}
