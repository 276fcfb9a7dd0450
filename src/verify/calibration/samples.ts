/**
 * Calibration samples: where the feeds of each calibration run come from.
 *
 * - A folder (`--calibration <dir>`): one sample per sub-folder, read like
 *   `--inputs` (one `.pb` TensorProto, `.npy` or `.json` file per model
 *   input, as in ONNX's test data sets: `test_data_set_0/input_0.pb`); or,
 *   for a model with one input and no sub-folders, one sample per file.
 *   Samples are taken in name order and read one at a time, when run.
 * - Seeded random data (`--calibration-random N`), which calibrates ranges
 *   for noise, not for real inputs: callers must warn.
 *
 * File parsing is the shared input loader's (src/runtime/input-files.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError, FileError, MlctlError, withContext } from '../../common/errors.js';
import { decodeMessage } from '../../onnx/codec.js';
import type { TensorProto } from '../../onnx/types.js';
import { parseJsonInput, readInputDir, tensorProtoToHost } from '../../runtime/input-files.js';
import { parseNpy } from '../../runtime/npy.js';
import { randomInputs } from '../../runtime/random-inputs.js';
import type { HostTensor, IoMeta } from '../../runtime/types.js';

/** Feeds by input name. */
export type Feeds = Record<string, HostTensor>;

/** A list of calibration samples, loaded on demand. */
export interface SampleSource {
  /** Number of samples. */
  readonly count: number;
  /** Whether the samples are random data. */
  readonly random: boolean;
  /** What the samples are, for reports: a folder path or "N random samples (seed S)". */
  readonly description: string;
  /** Loads sample `index` (0 ≤ index < count). */
  load(index: number): Promise<Feeds>;
}

const extensions = new Set(['.pb', '.npy', '.json']);

function badInput(message: string, hint?: string): MlctlError {
  return new MlctlError('MLCTL_BAD_INPUT', message, hint === undefined ? {} : { hint });
}

/** Reads one sample file as the value of `input`. */
async function readSampleFile(file: string, input: IoMeta): Promise<HostTensor> {
  const bytes = await readFile(file).catch((error: unknown) => {
    throw new FileError(`cannot read calibration file '${file}': ${describeError(error)}`, { cause: error });
  });
  const extension = path.extname(file).toLowerCase();
  let tensor: HostTensor;
  try {
    if (extension === '.pb') tensor = tensorProtoToHost(decodeMessage<TensorProto>('TensorProto', new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    else if (extension === '.npy') tensor = parseNpy(bytes, file);
    else tensor = parseJsonInput(bytes.toString('utf8'), input);
  } catch (error) {
    if (error instanceof MlctlError) throw withContext(error, `calibration file '${file}': `);
    throw error;
  }
  if (input.dtype !== 'non-tensor' && tensor.dtype !== input.dtype) {
    throw badInput(`calibration file '${file}' holds ${tensor.dtype} values, but input '${input.name}' takes ${input.dtype}`);
  }
  const fits = input.shape.length === 0 || (tensor.dims.length === input.shape.length && input.shape.every((dim, axis) => typeof dim !== 'number' || dim === tensor.dims[axis]));
  if (!fits) {
    throw badInput(`calibration file '${file}' has shape [${tensor.dims.join(', ')}], but input '${input.name}' takes [${input.shape.map((d) => d ?? '?').join(', ')}]`);
  }
  return tensor;
}

/**
 * The samples in `dir` (see the module comment), at most `limit` of them.
 * @throws FileError when the folder cannot be read; MlctlError MLCTL_BAD_INPUT
 *   when it holds no sample, or loose files for a model with several inputs.
 */
export async function samplesFromDir(dir: string, inputs: readonly IoMeta[], limit?: number): Promise<SampleSource> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    throw new FileError(`cannot read the calibration folder '${dir}': ${describeError(error)}`, { cause: error });
  });
  const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const files = entries.filter((e) => e.isFile() && extensions.has(path.extname(e.name).toLowerCase())).map((e) => e.name).sort();
  const take = <T>(list: T[]): T[] => (limit === undefined ? list : list.slice(0, limit));
  if (folders.length > 0) {
    const chosen = take(folders);
    return {
      count: chosen.length,
      random: false,
      description: `${chosen.length} sample folder${chosen.length === 1 ? '' : 's'} in '${dir}'`,
      load: async (index) => (await readInputDir(path.join(dir, chosen[index]!), inputs)).feeds,
    };
  }
  if (files.length === 0) {
    throw badInput(`the calibration folder '${dir}' holds no samples`, 'put one .pb, .npy or .json file per sample in it, or one sub-folder per sample with one file per model input');
  }
  if (inputs.length !== 1) {
    throw badInput(
      `the calibration folder '${dir}' holds loose files, but the model has ${inputs.length} inputs (${inputs.map((i) => `'${i.name}'`).join(', ')})`,
      'put each sample in its own sub-folder, with one file per input named after it (e.g. sample_0/input_0.pb)',
    );
  }
  const chosen = take(files);
  const input = inputs[0]!;
  return {
    count: chosen.length,
    random: false,
    description: `${chosen.length} sample file${chosen.length === 1 ? '' : 's'} in '${dir}'`,
    load: async (index) => ({ [input.name]: await readSampleFile(path.join(dir, chosen[index]!), input) }),
  };
}

/** Options of {@link randomSamples}. */
export interface RandomSampleOptions {
  seed?: number;
  shapeOverrides?: Record<string, readonly number[]>;
}

/** `count` samples of seeded uniform noise (sample i uses seed + i). */
export function randomSamples(count: number, inputs: readonly IoMeta[], options: RandomSampleOptions = {}): SampleSource {
  const seed = options.seed ?? 0;
  return {
    count,
    random: true,
    description: `${count} random sample${count === 1 ? '' : 's'} (seed ${seed})`,
    load: (index) =>
      Promise.resolve(randomInputs(inputs, { seed: seed + index, ...(options.shapeOverrides === undefined ? {} : { shapeOverrides: options.shapeOverrides }) })),
  };
}

/** A source over feeds already in memory. */
export function samplesFromFeeds(list: readonly Feeds[], description: string): SampleSource {
  return { count: list.length, random: false, description, load: (index) => Promise.resolve(list[index]!) };
}
