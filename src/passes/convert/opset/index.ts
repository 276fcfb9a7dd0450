/**
 * Opset conversion: `convertOpset(model, targetOpset)` moves a model's
 * default-domain opset up or down, returning the new model and a report.
 */
export { convertOpset } from './convert-opset.js';
export { OpsetConversionError } from './errors.js';
export type {
  AdapterRecord,
  ConversionFailure,
  OpsetConversionOptions,
  OpsetConversionReport,
} from './types.js';
