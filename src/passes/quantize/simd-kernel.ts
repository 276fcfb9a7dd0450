/**
 * The quantize kernel on WebAssembly SIMD: the same results as kernel.ts's
 * `quantizeWeights` (bytes, scales and zero points bit for bit; SQNR within
 * about 1e-3 dB, see simd-module.ts), three to four times as fast. The
 * floats are staged in the module's memory, which one instance keeps and
 * reuses from tensor to tensor; tensors over 32 MiB go through in chunks
 * (their source is then read twice: once for the ranges, once to quantize).
 * Not thread-safe: one instance per thread.
 */
import { channelLayout, NonFiniteWeightError, transposeBytes, type KernelOptions, type KernelResult } from './kernel.js';
import { computeScaleZeroPoint, quantRange, typeRange } from './numerics.js';
import { instantiateSimdKernel, type SimdExports } from './simd-module.js';

/**
 * Writes bytes [byteOffset, byteOffset + target.length) of a tensor's
 * little-endian float32 data into `target` (copied from memory, or read
 * from a file straight into the kernel's memory).
 */
export type FloatBytesSource = (target: Uint8Array, byteOffset: number) => void;

/**
 * Floats per call into the module: V8 runs a WebAssembly function first as
 * baseline code and swaps in optimized code for later calls, never for one
 * that is running, so a big tensor is handed over in slices.
 */
const SLICE_ELEMENTS = 1 << 18;
/**
 * The most floats staged at once (32 MiB): the module's memory stays small
 * (touching fresh memory costs a page fault per 4 KiB, as much as the
 * quantizing), and bigger tensors are staged twice, once per pass.
 */
const CHUNK_ELEMENTS = 1 << 23;
/** The largest tensor transposed in the module, which then holds all its bytes (1 GiB; the module's memory ends at 4 GiB). */
const MAX_TILED_ELEMENTS = 1 << 30;
const PAGE_BYTES = 65536;

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** Where things are in the module's memory for one tensor. */
interface Layout {
  mins: number;
  maxs: number;
  scales: number;
  zeroPoints: number;
  scales64: number;
  sums: number;
  data: number;
  out: number;
  /** A chunk's bytes transposed, before they go to their columns of `transposed`. */
  band: number;
  /** The whole tensor's bytes transposed, band by band. */
  transposed: number;
  end: number;
}

/**
 * @param transposedElements - room for the whole transposed tensor when it is
 *   transposed in the module (then the chunk's transposed band needs room too).
 */
function layout(channels: number, chunkElements: number, transposedElements: number): Layout {
  const mins = 0;
  const maxs = align16(mins + channels * 4);
  const scales = align16(maxs + channels * 4);
  const zeroPoints = align16(scales + channels * 4);
  const scales64 = align16(zeroPoints + channels * 4);
  const sums = align16(scales64 + channels * 8);
  const data = align16(sums + 16);
  const out = align16(data + chunkElements * 4);
  const band = align16(out + chunkElements);
  const transposed = align16(band + (transposedElements > chunkElements ? chunkElements : 0));
  return { mins, maxs, scales, zeroPoints, scales64, sums, data, out, band, transposed, end: transposed + transposedElements };
}

/** A chunk: elements [start, end) of the flattened tensor. */
type Chunk = [start: number, end: number];

/** Sizes of the pieces a tensor is handed over in; tests make them small. */
export interface SimdKernelLimits {
  /** The most floats staged at once (default 2^23, 32 MiB). */
  chunkElements?: number;
  /** About how many floats one call into the module takes (default 2^18). */
  sliceElements?: number;
}

/** A thread's instance of the SIMD kernel. */
export class SimdKernel {
  private readonly chunkLimit: number;
  private readonly sliceLimit: number;

  private constructor(private readonly wasm: SimdExports, limits: SimdKernelLimits) {
    this.chunkLimit = limits.chunkElements ?? CHUNK_ELEMENTS;
    this.sliceLimit = limits.sliceElements ?? SLICE_ELEMENTS;
  }

  /** A new instance, or undefined where WebAssembly SIMD is not available. */
  static create(limits: SimdKernelLimits = {}): SimdKernel | undefined {
    const wasm = instantiateSimdKernel();
    return wasm === undefined ? undefined : new SimdKernel(wasm, limits);
  }

  /** Bytes of memory the instance holds (it only grows). */
  get memoryBytes(): number {
    return this.wasm.memory.buffer.byteLength;
  }

  /**
   * Quantizes the float32 tensor that `source` provides, of shape `dims`, and
   * when `transpose` is set lays the [rows, cols] bytes out as [cols, rows].
   * The result's arrays are fresh ones of their own.
   * @throws NonFiniteWeightError when the data holds NaN or an infinity.
   */
  quantize(source: FloatBytesSource, dims: readonly number[], options: KernelOptions, transpose: boolean): KernelResult {
    const [outer, channels, inner] = channelLayout(dims, options.axis);
    const count = outer * channels * inner;
    const columns = inner === 1 && channels > 1;
    const [rows, cols] = transpose ? [dims[0]!, dims[1]!] : [0, 0];
    // Transposed in the module in 16 × 16 tiles: chunks of whole bands of 16 rows.
    const tiled = transpose && rows % 16 === 0 && cols % 16 === 0 && count <= MAX_TILED_ELEMENTS;
    const chunks = this.chunks(count, tiled ? 16 * cols : columns ? channels : 1);
    const chunkElements = Math.max(1, ...chunks.map(([start, end]) => end - start));
    const at = layout(channels, chunkElements, tiled ? count : 0);
    this.reserve(at.end);
    const { memory } = this.wasm;
    new Float32Array(memory.buffer, at.mins, channels).fill(0);
    new Float32Array(memory.buffer, at.maxs, channels).fill(0);
    new Float64Array(memory.buffer, at.sums, 2).fill(0);
    const stage = ([start, end]: Chunk): void => source(new Uint8Array(memory.buffer, at.data, (end - start) * 4), start * 4);

    for (const chunk of chunks) {
      stage(chunk);
      if (columns) this.rangesColumns(at, chunk, channels);
      else this.rangesRuns(at, chunk, channels, inner);
    }

    const mins = new Float32Array(memory.buffer, at.mins, channels);
    const maxs = new Float32Array(memory.buffer, at.maxs, channels);
    const range = quantRange(options.type, options.symmetric, options.reduceRange);
    const scales = new Float32Array(channels);
    const zeroPoints = new Int32Array(channels);
    for (let c = 0; c < channels; c++) {
      if (!Number.isFinite(mins[c]!) || !Number.isFinite(maxs[c]!)) throw new NonFiniteWeightError('the weight holds an infinity');
      const params = computeScaleZeroPoint(mins[c]!, maxs[c]!, range, options.symmetric);
      scales[c] = params.scale;
      zeroPoints[c] = params.zeroPoint;
    }
    new Float32Array(memory.buffer, at.scales, channels).set(scales);
    new Float32Array(memory.buffer, at.zeroPoints, channels).set(zeroPoints);
    new Float64Array(memory.buffer, at.scales64, channels).set(scales);

    const { qmin, qmax } = typeRange(options.type);
    const single = chunks.length === 1;
    // One chunk: the bytes are copied (or transposed) straight out of the module's memory.
    let bytes: Uint8Array | undefined = single || tiled ? undefined : new Uint8Array(count);
    for (const chunk of chunks) {
      if (!single) stage(chunk);
      if (columns) this.quantizeColumns(at, chunk, channels, qmin, qmax);
      else this.quantizeRuns(at, chunk, channels, inner, scales, zeroPoints, qmin, qmax);
      const quantized = new Uint8Array(memory.buffer, at.out, chunk[1] - chunk[0]);
      if (tiled) this.transposeBand(at, chunk, rows, cols);
      else if (bytes === undefined) bytes = transpose ? transposeBytes(quantized, rows, cols) : quantized.slice();
      else bytes.set(quantized, chunk[0]);
    }
    if (tiled) bytes = new Uint8Array(memory.buffer, at.transposed, count).slice();
    else if (!single && transpose) bytes = transposeBytes(bytes!, rows, cols);

    const [signal, noise] = new Float64Array(memory.buffer, at.sums, 2);
    // NaN slips through the range pass (comparisons with NaN are false) but poisons the sums.
    if (Number.isNaN(signal) || Number.isNaN(noise)) throw new NonFiniteWeightError('the weight holds NaN');
    const sqnrDb = noise === 0 ? Infinity : 10 * Math.log10(signal! / noise!);
    return { bytes: bytes ?? new Uint8Array(0), scales, zeroPoints, sqnrDb };
  }

  /** The tensor's elements in chunks of at most the chunk limit, each a whole number of `unit`s (rows, bands). */
  private chunks(count: number, unit: number): Chunk[] {
    const size = Math.max(1, Math.floor(this.chunkLimit / unit)) * unit;
    const chunks: Chunk[] = [];
    for (let start = 0; start < count; start += size) chunks.push([start, Math.min(count, start + size)]);
    return chunks;
  }

  /**
   * Transposes the chunk's quantized rows [r0, r0 + b) of the [rows, cols]
   * bytes into columns r0 … r0 + b − 1 of the [cols, rows] matrix in the
   * module: straight there for a single chunk, else into the band area
   * (where the tiles' stores stay close together) and then copied out row by row.
   */
  private transposeBand(at: Layout, [start, end]: Chunk, rows: number, cols: number): void {
    const band = (end - start) / cols;
    const whole = band === rows;
    const slice = Math.max(16, Math.floor(this.sliceLimit / cols / 16) * 16);
    const target = whole ? at.transposed : at.band;
    for (let row = 0; row < band; row += slice) this.wasm.transpose_bands(at.out, target, band, cols, row, Math.min(slice, band - row));
    if (!whole) this.wasm.scatter_rows(at.band, at.transposed + start / cols, cols, band, rows);
  }

  private reserve(bytes: number): void {
    const { memory } = this.wasm;
    const missing = bytes - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / PAGE_BYTES));
  }

  /** Whole rows per call, about SLICE_ELEMENTS floats each. */
  private rowSlices([start, end]: Chunk, channels: number, call: (firstRow: number, rows: number) => void): void {
    const rows = (end - start) / channels;
    const step = Math.max(1, Math.floor(this.sliceLimit / channels));
    for (let row = 0; row < rows; row += step) call(row, Math.min(step, rows - row));
  }

  /** Runs of one channel each, at most SLICE_ELEMENTS long: (offset in the chunk, length, channel). */
  private runSlices([start, end]: Chunk, channels: number, inner: number, call: (offset: number, length: number, channel: number) => void): void {
    for (let k = start; k < end;) {
      const block = Math.floor(k / inner);
      const stop = Math.min((block + 1) * inner, end, k + this.sliceLimit);
      call(k - start, stop - k, block % channels);
      k = stop;
    }
  }

  private rangesColumns(at: Layout, chunk: Chunk, channels: number): void {
    this.rowSlices(chunk, channels, (row, rows) => this.wasm.ranges_columns(at.data + row * channels * 4, rows, channels, at.mins, at.maxs));
  }

  private rangesRuns(at: Layout, chunk: Chunk, channels: number, inner: number): void {
    this.runSlices(chunk, channels, inner, (offset, length, channel) =>
      this.wasm.ranges_run(at.data + offset * 4, length, at.mins + channel * 4, at.maxs + channel * 4));
  }

  private quantizeColumns(at: Layout, chunk: Chunk, channels: number, qmin: number, qmax: number): void {
    this.rowSlices(chunk, channels, (row, rows) =>
      this.wasm.quantize_columns(at.data + row * channels * 4, at.out + row * channels, rows, channels, at.scales, at.zeroPoints, at.scales64, qmin, qmax, at.sums));
  }

  private quantizeRuns(
    at: Layout, chunk: Chunk, channels: number, inner: number,
    scales: Float32Array, zeroPoints: Int32Array, qmin: number, qmax: number,
  ): void {
    this.runSlices(chunk, channels, inner, (offset, length, channel) =>
      this.wasm.quantize_run(at.data + offset * 4, at.out + offset, length, scales[channel]!, zeroPoints[channel]!, scales[channel]!, qmin, qmax, at.sums));
  }
}
