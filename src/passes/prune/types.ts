/**
 * Options and report of the prune pass.
 */
import type { ModelProto } from '../../onnx/types.js';

/**
 * - `magnitude`: unstructured; zeroes the smallest |w| of each selected
 *   weight (or of all of them together) to the exact target sparsity. The
 *   tensors stay dense unless `sparseStorage` is set: the file shrinks only
 *   with sparse storage or compression, and the model does not run faster.
 * - `channels`: structured; removes whole output channels (Conv) or columns
 *   (MatMul/Gemm) together with everything that depends on them, so the
 *   model really has fewer parameters and MACs.
 */
export type PruneMethod = 'magnitude' | 'channels';

/** How magnitude pruning counts the target: per weight tensor, or over all selected weights together. */
export type PruneScope = 'layer' | 'global';

/** Channel importance: the L1 or L2 norm of the channel's weights. */
export type ChannelNorm = 'l1' | 'l2';

/** Operator types whose weights the pass can prune. */
export type PrunableOpType = 'Conv' | 'ConvTranspose' | 'MatMul' | 'Gemm';

export const prunableOpTypes: readonly PrunableOpType[] = ['Conv', 'ConvTranspose', 'MatMul', 'Gemm'];

/** Default of {@link PruneOptions.opTypes}. */
export const DEFAULT_PRUNE_OP_TYPES: readonly PrunableOpType[] = ['Conv', 'MatMul', 'Gemm'];

/** Default of {@link PruneOptions.minElements}: as in quantize, 4 KiB of float32. */
export const DEFAULT_MIN_ELEMENTS = 1024;

/** Dims of the values of a model's main graph, by value name (e.g. measured by running it once). */
export type ValueShapes = ReadonlyMap<string, readonly number[]>;

/** Options of `pruneModel`; only `sparsity` is required. */
export interface PruneOptions {
  /** Default `magnitude`. */
  method?: PruneMethod;
  /**
   * Fraction to remove, 0 ≤ sparsity < 1: of the weights' elements
   * (magnitude) or of each prunable layer's channels (channels).
   */
  sparsity: number;
  /** Magnitude only; default `layer`. */
  scope?: PruneScope;
  /** Channels only; default `l1`. */
  norm?: ChannelNorm;
  /**
   * Channels only: leave each layer a multiple of this many channels, the
   * multiple nearest to (1 − sparsity) of them (default 1: no rounding).
   * CPU kernels work on blocks of 8 or 16 channels, so odd counts save
   * fewer milliseconds than MACs.
   */
  roundTo?: number;
  /** Which operators' weights to prune (default {@link DEFAULT_PRUNE_OP_TYPES}). */
  opTypes?: readonly PrunableOpType[];
  /** Nodes to leave alone: exact node names, or regular expressions matched against the name. */
  exclude?: readonly (string | RegExp)[];
  /** Magnitude only: weights with fewer elements are left dense (default {@link DEFAULT_MIN_ELEMENTS}). */
  minElements?: number;
  /**
   * Magnitude only: store each pruned initializer (or Constant value) as an
   * ONNX sparse tensor (values + linear int64 indices, strictly increasing)
   * when that is smaller than the dense tensor. Models below IR 6 are raised
   * to IR 6, which sparse initializers need.
   */
  sparseStorage?: boolean;
  /**
   * Channels: dims of the main graph's values. The analysis needs ranks and
   * sizes to follow channels through Reshape, Flatten, Concat and broadcasts;
   * a value whose shape is neither here nor in the model's value_info stops
   * the channels that reach it (they are reported, not pruned).
   */
  valueShapes?: ValueShapes;
}

/** One weight tensor that magnitude pruning zeroed. */
export interface MagnitudeTensorReport {
  /** The tensor's name. */
  name: string;
  /** Names (or `#index`) of the nodes that read it. */
  nodes: string[];
  shape: number[];
  elements: number;
  zerosBefore: number;
  zerosAfter: number;
  /** zerosAfter / elements. */
  sparsityAfter: number;
  /** Where its values ended up: a dense tensor, or a sparse one. */
  storage: 'dense' | 'sparse';
  /** Bytes of the stored tensor before and after (sparse: values plus indices). */
  bytesBefore: number;
  bytesAfter: number;
}

/** One group of channels that structured pruning treated together. */
export interface ChannelGroupReport {
  /** Nodes whose output channels the group removes (producers), in graph order. */
  producers: string[];
  /** Each producer's output channel count before and after. */
  channels: Array<{ node: string; before: number; after: number }>;
  /** Nodes whose inputs or parameters changed to follow (consumers, BatchNormalization, Concat, ...). */
  followers: string[];
}

/** Something the pass considered and left unchanged, and why. */
export interface SkippedReport {
  /** The node (name or `#index`), when the reason concerns one. */
  node?: string;
  /** The tensor, when the reason concerns one. */
  tensor?: string;
  reason: string;
}

/** The structured result of the pass. */
export interface PruneReport {
  method: PruneMethod;
  sparsity: number;
  scope?: PruneScope;
  norm?: ChannelNorm;
  /** Magnitude: the tensors zeroed. */
  tensors: MagnitudeTensorReport[];
  /** Channels: the channel groups pruned. */
  groups: ChannelGroupReport[];
  skipped: SkippedReport[];
  /** Float elements of all weights (initializers and Constant values, sparse ones at full size). */
  parametersBefore: number;
  parametersAfter: number;
  /** Of those, the ones that are not zero. */
  nonzeroParametersBefore: number;
  nonzeroParametersAfter: number;
  notes: string[];
}

/** Result of `pruneModel`. */
export interface PruneResult {
  model: ModelProto;
  report: PruneReport;
}
