/**
 * The prune pass: unstructured magnitude pruning (exact sparsity, optional
 * sparse storage) and structured channel pruning with a dependency analysis.
 * Import from here.
 */
export { pruneModel, maskPrunedChannels, parameterStats, type ParameterStats } from './prune-model.js';
export { countMacs, type MacReport, type NodeMacs } from './macs.js';
export { smallestMagnitudeCut, applyMagnitudeCut, targetCount, type MagnitudeCut } from './select-smallest.js';
export { toSparseTensor, densifySparseInitializers, sparseSizeBytes, denseSizeBytes } from './sparse-storage.js';
export * from './types.js';
