/**
 * Options and report of the simplify pass.
 */
import type { ModelProto, TensorProto } from '../../../onnx/types.js';
import type { ModelStats } from './model-stats.js';

/**
 * Evaluates a model that has no runtime inputs: `model` holds the constants
 * as initializers and the nodes to fold; the result has one tensor per name
 * in `outputs`, in that order, each named after its output. The pass stays
 * free of any runtime: the caller injects an implementation (mlctl's runs
 * the nodes in ONNX Runtime, see src/convert-runtime/).
 */
export type ConstantEvaluator = (request: { model: ModelProto; outputs: readonly string[] }) => Promise<TensorProto[]>;

/** The rewrites of the simplify pass, as `skip` names them. */
export type SimplifyStep =
  | 'lift-constants'
  | 'remove-identity'
  | 'remove-dropout'
  | 'dead-code'
  | 'dedupe-initializers'
  | 'fold-constants'
  | 'inline-if'
  | 'fuse-conv-bn'
  | 'fuse-matmul-add';

export const simplifySteps: readonly SimplifyStep[] = [
  'lift-constants', 'remove-identity', 'remove-dropout', 'dead-code', 'dedupe-initializers', 'fold-constants', 'inline-if', 'fuse-conv-bn', 'fuse-matmul-add',
];

/** Default of {@link SimplifyOptions.foldGrowthLimitBytes}: 64 KiB. */
export const DEFAULT_FOLD_GROWTH_LIMIT_BYTES = 64 * 1024;

/** Options of {@link simplifyModel}. */
export interface SimplifyOptions {
  /** Evaluates constant subgraphs; without it only Shape and Size of static shapes are folded. */
  evaluate?: ConstantEvaluator;
  /**
   * Folding may make the model at most this many bytes larger in total
   * (default 64 KiB): each folded result is charged what it adds beyond the
   * constants it frees. Folding must not turn a ConstantOfShape of a small
   * shape vector, an Expand or a Tile into a large stored tensor, copy an
   * enclosing graph's weights into subgraphs, or widen float16 weights into
   * float32 ones. Folds that add nothing are always allowed.
   */
  foldGrowthLimitBytes?: number;
  /** Most rounds of all rewrites (default 10); the pass stops earlier when a round changes nothing. */
  maxIterations?: number;
  /** Rewrites to leave out. */
  skip?: readonly SimplifyStep[];
}

/** A node constant folding left in place, and why. */
export interface FoldSkip {
  node: string;
  opType: string;
  reason: string;
}

/** What the simplify pass did. */
export interface SimplifyReport {
  before: ModelStats;
  after: ModelStats;
  /** Rounds run until nothing changed (or `maxIterations`). */
  iterations: number;
  /** Per rewrite, how many nodes or initializers it removed or changed. */
  changes: Record<SimplifyStep, number>;
  /** Constant nodes evaluated away (the count in `changes['fold-constants']` also includes Shape/Size nodes answered from static shapes). */
  foldedByEvaluator: number;
  /** Shape and Size nodes replaced using inferred static shapes. */
  foldedFromShapes: number;
  /** Candidate nodes not folded, first 20 of them, with reasons. */
  foldSkipped: FoldSkip[];
  /** How many candidate nodes were not folded, by reason. */
  foldSkippedByReason: Record<string, number>;
  notes: string[];
}
