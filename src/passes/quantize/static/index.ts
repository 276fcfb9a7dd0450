/**
 * Static (calibrated) QDQ quantization: `prepareForStatic` gets a float
 * model ready, calibration (in src/verify/calibration) measures activation
 * ranges on the prepared model, and `quantizeStatic` writes the QDQ model.
 */
export { prepareForStatic, STATIC_MIN_OPSET, type PrepareOptions, type PrepareReport, type PrepareResult } from './prepare.js';
export { quantizeStatic } from './quantize-static.js';
export { calibrationTensors, nodeLabel } from './plan-static.js';
export { activationParams, quantizeBias, raiseWeightScalesForBias, type QuantizedBias } from './static-numerics.js';
export { staticOpTypes } from './op-rules.js';
export * from './types.js';
