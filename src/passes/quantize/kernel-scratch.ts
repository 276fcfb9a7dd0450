/**
 * One thread's quantize kernel with the memory it reuses from tensor to
 * tensor: the WebAssembly SIMD kernel (simd-kernel.ts) where the engine has
 * it, else kernel.ts's loop with an aligned copy buffer. Reusing the memory
 * spares a fresh allocation (and the page faults of touching it) per tensor;
 * it grows to the largest tensor met and is freed with the scratch.
 */
import { hostIsLittleEndian } from '../../onnx/tensor-bytes.js';
import { quantizeWeights, transposeBytes, type KernelOptions, type KernelResult } from './kernel.js';
import { SimdKernel, type FloatBytesSource } from './simd-kernel.js';

/**
 * A weight's float32 values: a typed array, its little-endian bytes (any
 * alignment), or a function that writes byte ranges of them (see FloatBytesSource).
 */
export type FloatSource = Float32Array | Uint8Array | { readonly byteLength: number; readonly read: FloatBytesSource };

/** See the module comment. */
export class KernelScratch {
  private simd: SimdKernel | undefined | null = null;
  private floats = new Float32Array(0);
  private bytes = new Uint8Array(0);

  /**
   * @param useSimd - use the SIMD kernel where available (default true; tests
   *   pass false to compare with the reference loop).
   */
  constructor(private readonly useSimd = true) {}

  /**
   * Quantizes `source` of shape `dims`; with `transpose`, lays the [rows, cols]
   * bytes out as [cols, rows]. The result's arrays are fresh ones of their own.
   * @throws NonFiniteWeightError for NaN or infinite weights.
   */
  quantize(source: FloatSource, dims: readonly number[], options: KernelOptions, transpose: boolean): KernelResult {
    const simd = this.simdKernel();
    if (simd !== undefined) return simd.quantize(bytesSource(source), dims, options, transpose);
    const values = this.floatsOf(source);
    if (!transpose) return quantizeWeights(values, dims, options);
    if (this.bytes.length < values.length) this.bytes = new Uint8Array(values.length);
    const result = quantizeWeights(values, dims, options, this.bytes.subarray(0, values.length));
    return { ...result, bytes: transposeBytes(result.bytes, dims[0]!, dims[1]!) };
  }

  private simdKernel(): SimdKernel | undefined {
    // Float32Arrays hand their bytes over in host order, and the module reads little-endian.
    if (!this.useSimd || !hostIsLittleEndian) return undefined;
    if (this.simd === null) this.simd = SimdKernel.create();
    return this.simd;
  }

  /** The source as floats: a view when it is aligned, else a copy in scratch memory. */
  private floatsOf(source: FloatSource): Float32Array {
    if (source instanceof Float32Array) return source;
    const byteLength = source.byteLength;
    const count = byteLength >> 2;
    if (source instanceof Uint8Array && source.byteOffset % 4 === 0 && hostIsLittleEndian) {
      return new Float32Array(source.buffer, source.byteOffset, count);
    }
    if (this.floats.length < count) this.floats = new Float32Array(count);
    const target = new Uint8Array(this.floats.buffer, 0, byteLength);
    if (source instanceof Uint8Array) target.set(source);
    else source.read(target, 0);
    if (!hostIsLittleEndian) swapFloatBytes(target);
    return this.floats.subarray(0, count);
  }
}

/** Little-endian float32 bytes to host order on a big-endian host. */
function swapFloatBytes(bytes: Uint8Array): void {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const [a, b] = [bytes[i]!, bytes[i + 1]!];
    bytes[i] = bytes[i + 3]!;
    bytes[i + 1] = bytes[i + 2]!;
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}

function bytesSource(source: FloatSource): FloatBytesSource {
  if (source instanceof Float32Array || source instanceof Uint8Array) {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return (target, byteOffset) => target.set(bytes.subarray(byteOffset, byteOffset + target.length));
  }
  return source.read;
}
