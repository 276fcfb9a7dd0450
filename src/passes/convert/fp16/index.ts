/**
 * Float16 conversion: `convertToFloat16(model, options)` returns the new
 * model and a report.
 */
export { convertToFloat16, type Fp16Result } from './convert-fp16.js';
export { FLOAT16_MAX, FLOAT16_MIN_POSITIVE, tensorToFloat16 } from './tensor-fp16.js';
export { DEFAULT_FP16_BLOCK_LIST, type BlockReason, type Fp16Options, type Fp16Report } from './types.js';
