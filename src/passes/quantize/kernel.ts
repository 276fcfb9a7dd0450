/**
 * The bulk weight quantizer: float32 elements in, int8/uint8 bytes plus
 * per-channel (or per-tensor) scales and zero points out, with the weight's
 * signal-to-quantization-noise ratio measured on the way. Two passes over the
 * data (range, then quantize), typed arrays only, no allocation per element.
 * The numerics are those of numerics.ts, inlined. This loop is the reference:
 * simd-kernel.ts computes the same on WebAssembly SIMD, and threads that
 * quantize many tensors use it through kernel-scratch.ts.
 */
import { hostIsLittleEndian } from '../../onnx/tensor-bytes.js';
import type { KernelScratch } from './kernel-scratch.js';
import { computeScaleZeroPoint, quantRange, typeRange, type QuantizedType } from './numerics.js';

/** 1.5 × 2^52, see numerics.ts `roundHalfEven`; quantized values are far below 2^51. */
const ROUNDING_MAGIC = 6755399441055744;

/** How to quantize one tensor. */
export interface KernelOptions {
  readonly type: QuantizedType;
  readonly symmetric: boolean;
  /** 7-bit weights (see numerics.ts `quantRange`). */
  readonly reduceRange: boolean;
  /** The axis with one scale per index (per-channel); undefined for one scale for the whole tensor. */
  readonly axis: number | undefined;
}

/** The quantized tensor. */
export interface KernelResult {
  /** The quantized elements as raw bytes (int8 two's complement or uint8), row-major like the input. */
  readonly bytes: Uint8Array;
  /** One float32 scale per channel (one value when per-tensor). */
  readonly scales: Float32Array;
  /** One zero point per channel, in the type's range. */
  readonly zeroPoints: Int32Array;
  /** 10·log10(Σx² / Σ(x − x̂)²) in dB; Infinity when the round trip is exact. */
  readonly sqnrDb: number;
}

/** Why a tensor cannot be quantized. */
export class NonFiniteWeightError extends Error {}

/** Splits dims around `axis` into [outer, channels, inner] element counts. */
export function channelLayout(dims: readonly number[], axis: number | undefined): [number, number, number] {
  const total = dims.reduce((product, dim) => product * dim, 1);
  if (axis === undefined) return [1, 1, total];
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= dims[i]!;
  let inner = 1;
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i]!;
  return [outer, dims[axis]!, inner];
}

/** Per-channel minimum and maximum, both starting at 0 (the range always includes 0). */
function channelRanges(data: Float32Array, outer: number, channels: number, inner: number): [Float64Array, Float64Array] {
  const mins = new Float64Array(channels);
  const maxs = new Float64Array(channels);
  let k = 0;
  if (inner === 1) {
    // Channels are the fastest-varying axis (MatMul [K, N], axis 1): walk rows. Indexing from the
    // row's base with the loop variable lets V8 drop bounds checks (about 1.7x faster than k++).
    for (let o = 0; o < outer; o++) {
      const base = o * channels;
      for (let c = 0; c < channels; c++) {
        // Selects rather than branches: the stores are unconditional, the data-dependent branches gone.
        const x = data[base + c]!;
        const lo = mins[c]!;
        const hi = maxs[c]!;
        mins[c] = x < lo ? x : lo;
        maxs[c] = x > hi ? x : hi;
      }
    }
    return [mins, maxs];
  }
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let lo = mins[c]!;
      let hi = maxs[c]!;
      const end = k + inner;
      for (; k < end; k++) {
        const x = data[k]!;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
      }
      mins[c] = lo;
      maxs[c] = hi;
    }
  }
  return [mins, maxs];
}

/**
 * Quantizes `data` (row-major, shape `dims`).
 * @param out - where to write the quantized bytes (at least `data.length` long); a new array when omitted.
 * @throws NonFiniteWeightError when the data holds NaN or an infinity.
 */
export function quantizeWeights(
  data: Float32Array,
  dims: readonly number[],
  options: KernelOptions,
  out: Uint8Array = new Uint8Array(data.length),
): KernelResult {
  const [outer, channels, inner] = channelLayout(dims, options.axis);
  const [mins, maxs] = channelRanges(data, outer, channels, inner);
  const range = quantRange(options.type, options.symmetric, options.reduceRange);
  const { qmin, qmax } = typeRange(options.type);
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const lo = mins[c]!;
    const hi = maxs[c]!;
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new NonFiniteWeightError('the weight holds an infinity');
    const params = computeScaleZeroPoint(lo, hi, range, options.symmetric);
    scales[c] = params.scale;
    zeroPoints[c] = params.zeroPoint;
  }

  // One monomorphic store for both types: `& 255` is the two's-complement byte of an int8 and the value of a uint8.
  const bytes = out;
  const scales64 = Float64Array.from(scales);
  let signal = 0;
  let noise = 0;
  let k = 0;
  if (inner === 1 && channels > 1) {
    for (let o = 0; o < outer; o++) {
      const base = o * channels;
      for (let c = 0; c < channels; c++) {
        const x = data[base + c]!;
        const scale = scales64[c]!;
        const zeroPoint = zeroPoints[c]!;
        let q = Math.fround(x / scale) + ROUNDING_MAGIC - ROUNDING_MAGIC + zeroPoint;
        q = q < qmin ? qmin : q > qmax ? qmax : q;
        bytes[base + c] = q & 255;
        const error = x - (q - zeroPoint) * scale;
        signal += x * x;
        noise += error * error;
      }
    }
  } else {
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const scale = scales64[c]!;
        const zeroPoint = zeroPoints[c]!;
        const end = k + inner;
        for (; k < end; k++) {
          const x = data[k]!;
          let q = Math.fround(x / scale) + ROUNDING_MAGIC - ROUNDING_MAGIC + zeroPoint;
          q = q < qmin ? qmin : q > qmax ? qmax : q;
          bytes[k] = q & 255;
          const error = x - (q - zeroPoint) * scale;
          signal += x * x;
          noise += error * error;
        }
      }
    }
  }
  // NaN slips through the range pass (comparisons with NaN are false) but poisons the sums.
  if (Number.isNaN(signal) || Number.isNaN(noise)) throw new NonFiniteWeightError('the weight holds NaN');
  const sqnrDb = noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
  return { bytes: out.subarray(0, data.length), scales, zeroPoints, sqnrDb };
}

/** Side of the square tiles of {@link transposeBytes}: 64 × 64 bytes on each side stay in the L1 cache. */
const TRANSPOSE_TILE = 64;

/** The generic byte-at-a-time transpose, for shapes or buffers the word path cannot take. */
function transposeBytewise(source: Uint8Array, out: Uint8Array, rows: number, cols: number): void {
  for (let r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {
    const r1 = Math.min(r0 + TRANSPOSE_TILE, rows);
    for (let c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {
      const c1 = Math.min(c0 + TRANSPOSE_TILE, cols);
      for (let r = r0; r < r1; r++) {
        const from = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = source[from + c]!;
      }
    }
  }
}

/**
 * Transposes 4 × 4 blocks of bytes as 32-bit words: four loads and four
 * stores per 16 bytes instead of sixteen of each. Needs a little-endian host
 * (byte j of a word is column j), rows and cols that are multiples of 4, and
 * both buffers 4-byte aligned.
 */
function transposeWordwise(source: Uint8Array, out: Uint8Array, rows: number, cols: number): void {
  const words = (rows * cols) >> 2;
  const from32 = new Uint32Array(source.buffer, source.byteOffset, words);
  const to32 = new Uint32Array(out.buffer, out.byteOffset, words);
  const rowWords = cols >> 2;
  const outRowWords = rows >> 2;
  for (let r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {
    const r1 = Math.min(r0 + TRANSPOSE_TILE, rows);
    for (let c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {
      const c1 = Math.min(c0 + TRANSPOSE_TILE, cols);
      for (let r = r0; r < r1; r += 4) {
        const row = (r * cols) >> 2;
        for (let c = c0; c < c1; c += 4) {
          const at = row + (c >> 2);
          // Rows r..r+3 of columns c..c+3; byte j of each word is column c+j.
          const a = from32[at]!;
          const b = from32[at + rowWords]!;
          const d = from32[at + 2 * rowWords]!;
          const e = from32[at + 3 * rowWords]!;
          const to = (c * rows + r) >> 2;
          to32[to] = (a & 0xff) | ((b & 0xff) << 8) | ((d & 0xff) << 16) | (e << 24);
          to32[to + outRowWords] = ((a >>> 8) & 0xff) | (b & 0xff00) | ((d & 0xff00) << 8) | ((e & 0xff00) << 16);
          to32[to + 2 * outRowWords] = ((a >>> 16) & 0xff) | ((b >>> 8) & 0xff00) | (d & 0xff0000) | ((e & 0xff0000) << 8);
          to32[to + 3 * outRowWords] = (a >>> 24) | ((b >>> 16) & 0xff00) | ((d >>> 8) & 0xff0000) | (e & 0xff000000);
        }
      }
    }
  }
}

/**
 * Transposes a row-major [rows, cols] matrix of bytes into a new [cols, rows]
 * one, in square tiles so that both sides stay in cache.
 */
export function transposeBytes(source: Uint8Array, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  if (hostIsLittleEndian && rows % 4 === 0 && cols % 4 === 0 && source.byteOffset % 4 === 0) transposeWordwise(source, out, rows, cols);
  else transposeBytewise(source, out, rows, cols);
  return out;
}

/**
 * Quantizes `values` of shape `dims` and, when `transpose` is set, transposes
 * the quantized [rows, cols] bytes to [cols, rows] (scales are per channel and
 * do not move). The result's bytes are always a fresh array of their own.
 * @param scratch - a thread's reusable kernel (SIMD where available); without it, this module's loop.
 * @throws NonFiniteWeightError for NaN or infinite weights.
 */
export function quantizeAndLayOut(values: Float32Array, dims: readonly number[], options: KernelOptions, transpose: boolean, scratch?: KernelScratch): KernelResult {
  if (scratch !== undefined) return scratch.quantize(values, dims, options, transpose);
  const result = quantizeWeights(values, dims, options);
  if (!transpose) return result;
  return { ...result, bytes: transposeBytes(result.bytes, dims[0]!, dims[1]!) };
}
