/**
 * The feeds of one benchmark row: seeded random tensors shaped by the model's
 * input metadata, `--shape` and `--batch`, or real tensors from `--inputs`.
 */
import { MlctlError } from '../common/errors.js';
import { readInputDir } from '../runtime/input-files.js';
import { randomInputs } from '../runtime/random-inputs.js';
import type { HostTensor, IoMeta } from '../runtime/types.js';
import type { InputDescription, InputSettings } from './report-types.js';

/** Feeds ready to run, and how to describe them in the report. */
export interface PreparedFeeds {
  feeds: Record<string, HostTensor>;
  inputs: InputDescription[];
  /** The first dimension of the first input (the batch by convention), else 1. */
  itemsPerInference: number;
}

function quoteNames(inputs: readonly IoMeta[]): string {
  return inputs.map((input) => `'${input.name}'`).join(', ');
}

/**
 * Full shapes for random inputs: `--shape` where given; otherwise, with a
 * batch, the input's first non-fixed dimension set to the batch and its other
 * free dimensions to 1.
 * @throws MlctlError MLCTL_BAD_INPUT when `--shape` names no input, or a batch is
 *   asked for but no input without `--shape` has a free dimension.
 */
export function shapeOverrides(
  inputs: readonly IoMeta[],
  shapes: Readonly<Record<string, number[]>>,
  batch: number | null,
  label: string,
): Record<string, number[]> {
  for (const name of Object.keys(shapes)) {
    if (!inputs.some((input) => input.name === name)) {
      throw new MlctlError('MLCTL_BAD_INPUT', `--shape names '${name}', which is not an input of '${label}'; its inputs are ${quoteNames(inputs)}`);
    }
  }
  const overrides: Record<string, number[]> = { ...shapes };
  if (batch === null) return overrides;
  let batched = 0;
  for (const input of inputs) {
    if (overrides[input.name] !== undefined || input.dtype === 'non-tensor') continue;
    const axis = input.shape.findIndex((dim) => typeof dim !== 'number');
    if (axis < 0) continue;
    overrides[input.name] = input.shape.map((dim, index) => (typeof dim === 'number' ? dim : index === axis ? batch : 1));
    batched += 1;
  }
  if (batched === 0) {
    const shapesText = inputs.map((input) => `${input.name} [${input.shape.map((dim) => dim ?? '?').join(', ')}]`).join(', ');
    throw new MlctlError('MLCTL_BAD_INPUT', `--batch ${batch} cannot be applied to '${label}': none of its inputs has a dynamic dimension (${shapesText})`, {
      hint: 'leave out --batch for models with fixed shapes, or set shapes with --shape name=dims',
    });
  }
  return overrides;
}

/**
 * Builds the feeds for a session's inputs.
 * @param label the model, for error messages.
 * @throws MlctlError MLCTL_BAD_INPUT / MLCTL_UNSUPPORTED / MLCTL_IO as the input sources do.
 */
export async function prepareFeeds(
  inputs: readonly IoMeta[],
  settings: InputSettings,
  batch: number | null,
  label: string,
): Promise<PreparedFeeds> {
  let feeds: Record<string, HostTensor>;
  let sources: Record<string, string>;
  if (settings.source === 'files') {
    ({ feeds, sources } = await readInputDir(settings.dir, inputs));
  } else {
    const overrides = shapeOverrides(inputs, settings.shapes, batch, label);
    feeds = randomInputs(inputs, { seed: settings.seed, shapeOverrides: overrides });
    sources = Object.fromEntries(inputs.map((input) => [input.name, 'random']));
  }
  const descriptions = inputs.map((input): InputDescription => {
    const tensor = feeds[input.name];
    return { name: input.name, dtype: tensor?.dtype ?? input.dtype, dims: tensor?.dims ?? [], source: sources[input.name] ?? 'random' };
  });
  const first = descriptions[0]?.dims[0];
  return { feeds, inputs: descriptions, itemsPerInference: first !== undefined && first > 0 ? first : 1 };
}
