import { UsageError } from './errors.js';

/**
 * Parses one `name=dims` shape specification (the value of `--shape`): dims
 * separated by `,` (or `x`), e.g. `input=1,3,224,224` or `input=1x3x224x224`;
 * `name=` is a scalar. The name may itself contain `=` (the last one separates).
 * @throws UsageError
 */
export function parseShapeSpec(text: string): [name: string, dims: number[]] {
  const split = text.lastIndexOf('=');
  const name = split > 0 ? text.slice(0, split) : '';
  const dimsText = text.slice(split + 1).trim();
  const dims = dimsText === '' ? [] : dimsText.split(/[x,×]/).map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : Number.NaN));
  if (name === '' || !dims.every((dim) => Number.isSafeInteger(dim))) {
    throw new UsageError(`--shape '${text}' is not name=dims; expected e.g. --shape input=1,3,224,224`);
  }
  return [name, dims];
}
