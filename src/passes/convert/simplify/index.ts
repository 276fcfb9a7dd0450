/**
 * Graph simplification: `simplifyModel(model, options)` returns the new
 * model and a report with before/after statistics.
 */
export { simplifyModel, type SimplifyResult } from './simplify-model.js';
export { modelStats, opKey, type ModelStats } from './model-stats.js';
export {
  DEFAULT_FOLD_GROWTH_LIMIT_BYTES,
  simplifySteps,
  type ConstantEvaluator,
  type FoldSkip,
  type SimplifyOptions,
  type SimplifyReport,
  type SimplifyStep,
} from './types.js';
