/**
 * The numbers of static quantization beyond the weights (which use the
 * quantize pass's kernel): activation scale and zero point from a calibrated
 * range, and int32 biases, as ONNX Runtime's quantizer computes them
 * (`quant_utils.compute_scale_zp`, `base_quantizer.quantize_bias_static_impl`).
 */
import { computeScaleZeroPoint, FLOAT32_SMALLEST_NORMAL, quantRange, roundHalfEven, type QuantizedType, type ScaleZeroPoint } from '../numerics.js';

/**
 * Scale and zero point of an activation with calibrated range [min, max]:
 * asymmetric over the type's full range (uint8 [0, 255], int8 [−128, 127]),
 * the range widened to include 0, as ONNX Runtime does for activations.
 */
export function activationParams(min: number, max: number, type: QuantizedType): ScaleZeroPoint {
  return computeScaleZeroPoint(min, max, quantRange(type, false, false), false);
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** An int32 bias and its per-channel scales. */
export interface QuantizedBias {
  /** One int32 per element. */
  readonly values: Int32Array;
  /** `float32(input_scale × weight_scale[c])`, one per weight scale (one value when per tensor). */
  readonly scales: Float32Array;
  /** Elements whose quotient fell outside int32 and were clipped. */
  readonly clipped: number;
}

/**
 * Quantizes a bias to int32 with zero point 0 and `scale[c] = input_scale × weight_scale[c]`
 * (the product rounded to float32, as numpy multiplies two float32 values):
 * `q = clip(round_half_even(b / scale), int32)`, the division in float64.
 * @param weightScales - one per output channel, or a single per-tensor scale.
 * @returns undefined when a scale underflows float32's normal range (the bias then stays float).
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): QuantizedBias | undefined {
  const scales = new Float32Array(weightScales.length);
  for (let c = 0; c < scales.length; c++) {
    scales[c] = Math.fround(inputScale * weightScales[c]!);
    if (!(scales[c]! >= FLOAT32_SMALLEST_NORMAL)) return undefined;
  }
  const values = new Int32Array(bias.length);
  let clipped = 0;
  const perChannel = scales.length > 1;
  for (let i = 0; i < bias.length; i++) {
    const q = roundHalfEven(bias[i]! / scales[perChannel ? i : 0]!);
    if (q < INT32_MIN || q > INT32_MAX || Number.isNaN(q)) clipped += 1;
    values[i] = q < INT32_MIN ? INT32_MIN : q > INT32_MAX ? INT32_MAX : Number.isNaN(q) ? 0 : q;
  }
  return { values, scales, clipped };
}

/** int32's range as ONNX Runtime measures it for bias scales: 2^31 − 1 − (−2^31 + 1). */
const INT32_QRANGE = 4294967294;

/**
 * Weight scales raised where `input_scale × weight_scale` is too small for the
 * bias to fit in int32, as ONNX Runtime's QDQ quantizer does
 * (`_adjust_weight_scale_for_int32_bias`): the smallest valid bias scale is
 * `1.0001 · 2 · |b| / (2^32 − 2)` (per channel; per tensor with |b| the
 * bias's largest magnitude), and a weight scale below it is multiplied by the
 * ratio, in float64, then stored as float32. Without it such a bias is
 * clipped, which can ruin a channel whose weights are all tiny.
 * @returns the scales (a new array when any changed) and the raised channels.
 */
export function raiseWeightScalesForBias(weightScales: Float32Array, bias: Float32Array, inputScale: number): { scales: Float32Array; raised: number[] } {
  const raised: number[] = [];
  const scales = Float32Array.from(weightScales);
  const perChannel = weightScales.length > 1;
  let absmax = 0;
  if (!perChannel) for (const b of bias) absmax = Math.max(absmax, Math.abs(b));
  for (let c = 0; c < scales.length; c++) {
    const magnitude = perChannel ? Math.abs(bias[c]!) : absmax;
    const smallestValid = (1.0001 * (2 * magnitude)) / INT32_QRANGE;
    const candidate = inputScale * scales[c]!;
    if (candidate < smallestValid && candidate > 0) {
      scales[c] = scales[c]! * (smallestValid / candidate);
      raised.push(c);
    }
  }
  return { scales: raised.length === 0 ? weightScales : scales, raised };
}
