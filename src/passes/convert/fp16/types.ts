/**
 * Options and report of the float16 conversion pass.
 */

/**
 * Operators kept in float32 unless told otherwise: their float16 kernels
 * are missing, slow or numerically fragile in common runtimes, or ONNX does
 * not allow float16 for some of their inputs (Range, CumSum before opset 14,
 * NonMaxSuppression). The list onnxconverter-common's float16 converter also
 * starts from.
 */
export const DEFAULT_FP16_BLOCK_LIST: readonly string[] = [
  'Resize', 'Range', 'CumSum', 'TopK', 'NonMaxSuppression', 'RoiAlign', 'Min', 'Max', 'Upsample', 'RandomUniformLike',
];

/** Options of {@link convertToFloat16}. */
export interface Fp16Options {
  /** Start from {@link DEFAULT_FP16_BLOCK_LIST} (default true). */
  defaultBlockList?: boolean;
  /** More operator types (default domain) to keep in float32, e.g. `['Softmax']`. */
  opBlockList?: readonly string[];
  /** Names of nodes to keep in float32. */
  nodeBlockList?: readonly string[];
  /**
   * Keep float32 graph inputs and outputs, with Casts at the edges (default
   * false: float inputs and outputs become float16).
   */
  keepIoTypes?: boolean;
  /**
   * Keep in float32 the nodes that read a float32 constant holding finite
   * values beyond float16's ±65504 (default true), rather than clamping those
   * values. A BatchNormalization whose running variance is 1e8 (PP-OCR's
   * detector has one) computes garbage with a clamped variance.
   */
  keepOutOfRangeNodes?: boolean;
}

/** Why a node stays in float32. */
export type BlockReason =
  | 'default block list'
  | 'op block list'
  | 'node block list'
  | 'custom domain'
  | 'float32-only in ONNX'
  | 'constant beyond float16 range';

/** What the pass did. */
export interface Fp16Report {
  /** float32 tensors (initializers, Constant values, attribute tensors) written as float16. */
  tensorsConverted: number;
  /** Bytes of those tensors before and after. */
  bytesBefore: number;
  bytesAfter: number;
  /** Finite values beyond ±65504, stored as ±65504. */
  clampedToMax: number;
  /** Non-zero values closer to zero than float16's smallest subnormal (2^-24), stored as ±2^-24. */
  clampedToMin: number;
  /** float32 initializers left as they are because only float32 consumers read them. */
  tensorsKeptFloat32: number;
  /** Nodes kept in float32, counted by operator type and reason. */
  blocked: { opType: string; reason: BlockReason; count: number }[];
  /** Names of the nodes kept in float32 (in graph order). */
  blockedNodes: string[];
  /** Casts inserted at float16/float32 boundaries (before clean-up). */
  castsInserted: number;
  /** Casts the clean-up removed: no-ops and redundant pairs (inserted ones and the model's own). */
  castsRemoved: number;
  /** Cast nodes in the whole model before and after. */
  castsBefore: number;
  castsAfter: number;
  /** Graph inputs and outputs whose type became float16. */
  ioConverted: string[];
  /** Graph inputs and outputs kept float32 with `keepIoTypes`. */
  ioKeptFloat32: string[];
  /** Values whose element type could not be worked out; left as they were. */
  unknownTypeValues: number;
  notes: string[];
}
