/**
 * Parsers for option values several commands share, so that one flag means
 * and accepts the same thing everywhere.
 */
import { UsageError } from '../common/errors.js';

/**
 * Parses one `--shape name=dims` value: dims separated by `,` (or `x`), e.g.
 * `input=1,3,224,224` or `input=1x3x224x224`; `name=` is a scalar. The name
 * may itself contain `=` (the last one separates).
 * @throws UsageError
 */
export function parseShapeEntry(text: string): [name: string, dims: number[]] {
  const split = text.lastIndexOf('=');
  const name = split > 0 ? text.slice(0, split) : '';
  const dimsText = text.slice(split + 1).trim();
  const dims = dimsText === '' ? [] : dimsText.split(/[x,×]/).map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : Number.NaN));
  if (name === '' || !dims.every((dim) => Number.isSafeInteger(dim))) {
    throw new UsageError(`--shape '${text}' is not name=dims; expected e.g. --shape input=1,3,224,224`);
  }
  return [name, dims];
}

/** Commander collector for a repeatable `--shape`: builds `{ name: dims }`, refusing a name given twice. */
export function collectShape(value: string, previous: unknown): Record<string, number[]> {
  const shapes = typeof previous === 'object' && previous !== null && !Array.isArray(previous) ? (previous as Record<string, number[]>) : {};
  const [name, dims] = parseShapeEntry(value);
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
