/**
 * Seeded random feeds for a session's inputs, for benchmarks and for
 * comparing two builds of a model on the same data.
 */
import { MlctlError } from '../common/errors.js';
import { encodeFloat16 } from '../onnx/float-formats.js';
import type { HostTensor, IoMeta, TensorDtype } from './types.js';

export interface RandomInputOptions {
  /** PRNG seed (default 0). The same seed, names and shapes give the same data. */
  seed?: number;
  /** Full shapes by input name; they replace the model's shape and must agree with its fixed dims. */
  shapeOverrides?: Record<string, readonly number[]>;
  /** Sizes of symbolic dimensions by their name (e.g. { batch: 4, sequence: 128 }). */
  dimValues?: Record<string, number>;
  /** Size of symbolic or unnamed dimensions that nothing else sets (default 1). */
  defaultDim?: number;
  /** Range [min, max) of floating-point values (default [-1, 1)). */
  floatRange?: readonly [number, number];
  /**
   * Range [min, max) of wider integer values (int16 and up, default [0, 10)):
   * integer inputs are most often indices, lengths or ids, which must stay small.
   * int8/uint8 use their full ranges and 4-bit types theirs.
   */
  intRange?: readonly [number, number];
}

/** mulberry32: a small, fast 32-bit PRNG whose sequence is fully fixed by its seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of the input name, so each input's stream does not depend on the others. */
function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function badShape(message: string): MlctlError {
  return new MlctlError('MLCTL_BAD_INPUT', message);
}

/** The concrete shape to feed for one input. */
export function resolveShape(input: IoMeta, options: RandomInputOptions = {}): number[] {
  const defaultDim = options.defaultDim ?? 1;
  const override = options.shapeOverrides?.[input.name];
  if (override !== undefined) {
    if (override.length !== input.shape.length) {
      throw badShape(`shape [${override.join(', ')}] for input '${input.name}' has rank ${override.length}; the model's shape [${input.shape.join(', ')}] has rank ${input.shape.length}`);
    }
    override.forEach((size, axis) => {
      const fixed = input.shape[axis];
      if (!Number.isSafeInteger(size) || size < 0) throw badShape(`shape [${override.join(', ')}] for input '${input.name}' has a bad size '${size}'; expected non-negative integers`);
      if (typeof fixed === 'number' && fixed !== size) {
        throw badShape(`shape [${override.join(', ')}] for input '${input.name}' sets axis ${axis} to ${size}; the model fixes it at ${fixed}`);
      }
    });
    return [...override];
  }
  return input.shape.map((dim) => {
    if (typeof dim === 'number') return dim;
    const size = dim === null ? undefined : options.dimValues?.[dim];
    return size ?? defaultDim;
  });
}

function fill(dtype: TensorDtype, count: number, random: () => number, options: RandomInputOptions): HostTensor['data'] {
  const [floatMin, floatMax] = options.floatRange ?? [-1, 1];
  const [intMin, intMax] = options.intRange ?? [0, 10];
  const uniform = (): number => floatMin + random() * (floatMax - floatMin);
  const integer = (min: number, max: number): number => Math.floor(min + random() * (max - min));
  switch (dtype) {
    case 'float32': return Float32Array.from({ length: count }, uniform);
    case 'float64': return Float64Array.from({ length: count }, uniform);
    case 'float16': return Uint16Array.from({ length: count }, () => encodeFloat16(uniform()));
    case 'int8': return Int8Array.from({ length: count }, () => integer(-128, 128));
    case 'uint8': return Uint8Array.from({ length: count }, () => integer(0, 256));
    case 'int16': return Int16Array.from({ length: count }, () => integer(intMin, intMax));
    case 'uint16': return Uint16Array.from({ length: count }, () => integer(Math.max(0, intMin), intMax));
    case 'int32': return Int32Array.from({ length: count }, () => integer(intMin, intMax));
    case 'uint32': return Uint32Array.from({ length: count }, () => integer(Math.max(0, intMin), intMax));
    case 'int64': return BigInt64Array.from({ length: count }, () => BigInt(integer(intMin, intMax)));
    case 'uint64': return BigUint64Array.from({ length: count }, () => BigInt(integer(Math.max(0, intMin), intMax)));
    case 'bool': return Uint8Array.from({ length: count }, () => (random() < 0.5 ? 0 : 1));
    case 'string': return Array.from({ length: count }, () => `s${integer(0, 1000)}`);
    case 'int4':
    case 'uint4': return Uint8Array.from({ length: Math.ceil(count / 2) }, () => integer(0, 256));
  }
}

/**
 * Random feeds for every input, the same for the same seed.
 * @throws MlctlError MLCTL_BAD_INPUT for a shape override that does not fit the model;
 *   MLCTL_UNSUPPORTED for a non-tensor input (sequence, map).
 */
export function randomInputs(inputs: readonly IoMeta[], options: RandomInputOptions = {}): Record<string, HostTensor> {
  const seed = options.seed ?? 0;
  const feeds: Record<string, HostTensor> = {};
  for (const input of inputs) {
    if (input.dtype === 'non-tensor') {
      throw new MlctlError('MLCTL_UNSUPPORTED', `input '${input.name}' is not a tensor (a sequence, map or optional); mlctl cannot make random values for it`);
    }
    const dims = resolveShape(input, options);
    const count = dims.reduce((product, dim) => product * dim, 1);
    const random = mulberry32((seed ^ hashName(input.name)) >>> 0);
    feeds[input.name] = { dtype: input.dtype, dims, data: fill(input.dtype, count, random, options) };
  }
  return feeds;
}
