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

/**
 * Parser for `--op-types`: a comma-separated list of names from `choices`.
 * @throws UsageError naming the first operator not in `choices`, or an empty list.
 */
export function parseOpTypeList<T extends string>(choices: readonly T[]) {
  return (value: string): T[] => {
    const list = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
    const bad = list.find((item) => !(choices as readonly string[]).includes(item));
    if (bad !== undefined || list.length === 0) {
      throw new UsageError(`--op-types '${value}' names ${bad === undefined ? 'no operator' : `'${bad}'`}; expected a comma-separated list of ${choices.join(', ')}`);
    }
    return list as T[];
  };
}

/** Commander collector for a repeatable `--exclude`: a node name, or `/regex/flags`. */
export function parseExclude(value: string, previous: unknown): (string | RegExp)[] {
  const list = Array.isArray(previous) ? (previous as (string | RegExp)[]) : [];
  const match = /^\/(.*)\/([a-z]*)$/.exec(value);
  if (match === null) return [...list, value];
  try {
    return [...list, new RegExp(match[1]!, match[2])];
  } catch (error) {
    throw new UsageError(`--exclude '${value}' is not a valid regular expression: ${(error as Error).message}`);
  }
}
