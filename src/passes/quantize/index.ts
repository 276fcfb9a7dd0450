/**
 * The quantize pass: int8/uint8 weight quantization with ONNX Runtime's
 * numerics. Import from here.
 */
export { quantizeModel, settleOptions, defaultWeightKernel, localWeightKernel, QUANTIZE_TARGET_OPSET, type SettledOptions } from './quantize-model.js';
export {
  computeScaleZeroPoint,
  quantRange,
  quantizeValue,
  roundHalfEven,
  FLOAT32_SMALLEST_NORMAL,
  type QuantRange,
  type ScaleZeroPoint,
} from './numerics.js';
export { quantizeWeights, quantizeAndLayOut, transposeBytes, NonFiniteWeightError, type KernelOptions, type KernelResult } from './kernel.js';
export { KernelScratch, type FloatSource } from './kernel-scratch.js';
export type { FloatBytesSource } from './simd-kernel.js';
export { perChannelAxis } from './plan.js';
export type { ExternalDataReader } from './weights.js';
export * from './types.js';
