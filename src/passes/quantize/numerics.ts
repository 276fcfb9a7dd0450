/**
 * The arithmetic of linear quantization, matching ONNX Runtime's Python
 * quantizer (`onnxruntime/quantization/quant_utils.py`: `get_qmin_qmax_for_qType`,
 * `compute_scale_zp`, `quantize_nparray`) value for value:
 *
 * - the range always includes 0: `rmin = min(min(x), 0)`, `rmax = max(max(x), 0)`,
 *   both float32;
 * - symmetric: `rmin = −absmax`, `rmax = absmax`, zero point the middle of the
 *   integer range (0 for int8, 127 for uint8);
 * - `scale = (rmax − rmin) / (qmax − qmin)`: the difference in float32 (as numpy
 *   subtracts two float32 scalars), the division in float64, the result stored
 *   as float32;
 * - a scale below float32's smallest normal (1.1754944e-38) becomes 1 with zero
 *   point 0 (an all-zero tensor);
 * - asymmetric zero point `round(qmin − rmin / scale)` in float64 with the
 *   float64 scale;
 * - `q = clip(round(x / scale) + zero_point)`: `x / scale` rounded to float32
 *   (numpy divides float32 by float32), rounding half to even, clipped to the
 *   type's full range.
 */

/** The integer element types weights are quantized to. */
export type QuantizedType = 'int8' | 'uint8';

/** Smallest positive normal float32, numpy's `finfo(float32).tiny`. */
export const FLOAT32_SMALLEST_NORMAL = 1.1754943508222875e-38;

/** 1.5 × 2^52: adding and subtracting it rounds a float64 below 2^51 in magnitude to an integer, ties to even. */
const ROUNDING_MAGIC = 6755399441055744;

/**
 * Rounds half to even (banker's rounding), as numpy's `round` does.
 * Exact for |value| < 2^51; larger values are already integers and come back unchanged.
 */
export function roundHalfEven(value: number): number {
  if (!(Math.abs(value) < 2251799813685248)) return value;
  return value + ROUNDING_MAGIC - ROUNDING_MAGIC;
}

/** An inclusive integer range `[qmin, qmax]`. */
export interface QuantRange {
  readonly qmin: number;
  readonly qmax: number;
}

/**
 * The integer range ONNX Runtime quantizes into:
 * - reduce-range (7 bits): int8 [−64, 64], uint8 [0, 127];
 * - symmetric: int8 [−127, 127], uint8 [0, 254];
 * - otherwise the full type: int8 [−128, 127], uint8 [0, 255].
 */
export function quantRange(type: QuantizedType, symmetric: boolean, reduceRange: boolean): QuantRange {
  if (reduceRange) return type === 'int8' ? { qmin: -64, qmax: 64 } : { qmin: 0, qmax: 127 };
  if (symmetric) return type === 'int8' ? { qmin: -127, qmax: 127 } : { qmin: 0, qmax: 254 };
  return type === 'int8' ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 };
}

/** The full value range of a type, which quantized values are clipped to. */
export function typeRange(type: QuantizedType): QuantRange {
  return type === 'int8' ? { qmin: -128, qmax: 127 } : { qmin: 0, qmax: 255 };
}

/** Scale and zero point of one tensor or channel. */
export interface ScaleZeroPoint {
  /** A float32 value. */
  readonly scale: number;
  /** An integer in the type's range. */
  readonly zeroPoint: number;
}

/**
 * Scale and zero point for data whose minimum is `dataMin` and maximum
 * `dataMax` (float32 values; NaN and infinities are the caller's to reject).
 */
export function computeScaleZeroPoint(dataMin: number, dataMax: number, range: QuantRange, symmetric: boolean): ScaleZeroPoint {
  let rmin = Math.fround(Math.min(dataMin, 0));
  let rmax = Math.fround(Math.max(dataMax, 0));
  if (symmetric) {
    const absmax = Math.max(Math.abs(rmin), Math.abs(rmax));
    rmin = -absmax;
    rmax = absmax;
  }
  const realRange = Math.fround(rmax - rmin);
  const scale64 = realRange / (range.qmax - range.qmin);
  if (!(scale64 >= FLOAT32_SMALLEST_NORMAL)) return { scale: 1, zeroPoint: 0 };
  const zeroPoint = symmetric
    ? roundHalfEven((range.qmin + range.qmax) / 2)
    : roundHalfEven(range.qmin - rmin / scale64);
  return { scale: Math.fround(scale64), zeroPoint };
}

/**
 * Quantizes one value: `clip(round(float32(x / scale)) + zeroPoint)` into `clip`.
 * For tests and reference; the bulk kernel in kernel.ts inlines the same steps.
 */
export function quantizeValue(x: number, scale: number, zeroPoint: number, clip: QuantRange): number {
  const q = roundHalfEven(Math.fround(x / scale)) + zeroPoint;
  return q < clip.qmin ? clip.qmin : q > clip.qmax ? clip.qmax : q;
}
