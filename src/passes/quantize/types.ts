/**
 * Options and report of the quantize pass.
 */
import type { ModelProto, TensorProto } from '../../onnx/types.js';
import type { KernelOptions, KernelResult } from './kernel.js';
import type { QuantizedType } from './numerics.js';

export type { QuantizedType } from './numerics.js';

/**
 * - `weight-only`: each selected weight becomes int8/uint8 + `DequantizeLinear`
 *   feeding the original consumer. Runs on any runtime; buys size, not speed
 *   (ONNX Runtime runs the DequantizeLinear on every inference).
 * - `dynamic`: MatMul (and Gemm, rewritten to MatMul) with a constant weight
 *   become `DynamicQuantizeLinear → MatMulInteger → Cast → Mul`, which ONNX
 *   Runtime's CPU optimizer fuses into one int8 kernel; Conv becomes
 *   `ConvInteger` where the runtime supports the weight type; everything
 *   else selected gets weight-only treatment.
 */
export type QuantizeMode = 'weight-only' | 'dynamic';

/** Operator types the pass can quantize. */
export type QuantizableOpType = 'MatMul' | 'Gemm' | 'Conv' | 'ConvTranspose' | 'Gather';

export const quantizableOpTypes: readonly QuantizableOpType[] = ['MatMul', 'Gemm', 'Conv', 'ConvTranspose', 'Gather'];

/** Default of {@link QuantizeOptions.minElements}. */
export const DEFAULT_MIN_ELEMENTS = 1024;

/** A model-to-model opset conversion, as `convertOpset` of the convert pass provides. */
export type OpsetConverter = (model: ModelProto, targetOpset: number) => { model: ModelProto; report?: unknown };

/** One weight to quantize, as the pass hands it to a {@link WeightKernel}. */
export interface WeightKernelRequest {
  /** Identifies the request within a model: the same key always means the same values and options. */
  readonly key: string;
  /** Decodes the float32 values (may copy; a view is not to be mutated). */
  readonly values: () => Float32Array;
  /**
   * The same values as little-endian float32 bytes when the weight keeps them
   * in `raw_data` as they are (no scaling, not external): a view into the
   * model's bytes, for kernels that read it elsewhere without decoding here.
   */
  readonly rawBytes: Uint8Array | undefined;
  /**
   * The stored tensor when its float32 values sit in external data as they
   * are (no scaling): for kernels that read the bytes themselves, so that the
   * caller never holds them (see `values` for reading them here).
   */
  readonly external?: TensorProto | undefined;
  readonly dims: readonly number[];
  readonly options: KernelOptions;
  /** Transpose the quantized [rows, cols] result to [cols, rows] (Gemm with transB → MatMul). */
  readonly transpose: boolean;
}

/**
 * Computes quantized weights; the default ({@link localWeightKernel}) runs
 * `quantizeWeights` (then transposes when asked) in the calling thread. A caller may supply
 * results computed elsewhere (worker threads), keyed by `request.key`.
 * Throws NonFiniteWeightError for NaN or infinite weights.
 */
export type WeightKernel = (request: WeightKernelRequest) => KernelResult;

/** Options of `quantizeModel`; every field has a default. */
export interface QuantizeOptions {
  /** Default `dynamic`. */
  mode?: QuantizeMode;
  /** Weight element type (default int8). */
  weightType?: QuantizedType;
  /** One scale per output channel (default true) or one per tensor. */
  perChannel?: boolean;
  /** Symmetric range with zero point at the middle (default: true for int8, false for uint8, as ONNX Runtime). */
  symmetric?: boolean;
  /** 7-bit weights, for AVX2 CPUs without VNNI whose int8 kernels can saturate (default false). */
  reduceRange?: boolean;
  /** Which operator types to quantize (default all of {@link quantizableOpTypes}). */
  opTypes?: readonly QuantizableOpType[];
  /** Nodes to leave in float: exact node names, or regular expressions matched against the name. */
  exclude?: readonly (string | RegExp)[];
  /**
   * Weights with fewer elements stay float (default {@link DEFAULT_MIN_ELEMENTS},
   * 4 KiB of float32): on them the scale, zero point and extra node cost
   * about as much as they save.
   */
  minElements?: number;
  /**
   * Emit `ConvInteger` for Conv in dynamic mode (default false: Conv gets
   * weight-only treatment). ONNX Runtime 1.30's CPU ConvInteger measured
   * 2.9–6.4× slower than float Conv on PP-OCR (benchmarks/RESULTS.md), and its
   * per-tensor activation quantization costs accuracy on detection maps.
   */
  convInteger?: boolean;
  /**
   * Weight types the target runtime's `ConvInteger` accepts (with a uint8
   * input), as probed by the caller; in dynamic mode a Conv whose weight type
   * is not listed gets weight-only treatment. Default none: ONNX Runtime's CPU
   * ConvInteger has long accepted only uint8 × uint8.
   */
  convIntegerWeightTypes?: readonly QuantizedType[];
  /**
   * Raises the default-domain opset when the model's is below what the
   * emitted operators need (per-axis DequantizeLinear needs 13). Without it,
   * nodes that need a higher opset are left in float and reported.
   */
  convertOpset?: OpsetConverter;
  /** Nodes to leave in float, by name or by report `key`, e.g. after a runtime check failed on them. */
  forceFloat?: readonly string[];
  /** Computes quantized weights (default: a `localWeightKernel()`, in this thread). */
  weightKernel?: WeightKernel;
}

/** One weight tensor that was quantized. */
export interface QuantizedTensorReport {
  /** The float weight's name. */
  name: string;
  /** The new int8/uint8 tensor's name. */
  quantizedName: string;
  shape: number[];
  type: QuantizedType;
  /** Channel axis, or null when per-tensor. */
  axis: number | null;
  bytesBefore: number;
  /** Quantized data plus scales and zero points. */
  bytesAfter: number;
  scaleMin: number;
  scaleMax: number;
  /** Weight signal-to-quantization-noise ratio in dB; null when the round trip is exact. */
  sqnrDb: number | null;
  /** Whether the float weight was kept too, for consumers that stay float. */
  floatKept: boolean;
}

/** What happened to one candidate node. */
export interface NodeReport {
  /** Node name, or `#index` when it has none. */
  node: string;
  opType: string;
  /** Path of the graph holding it (`graph 'main'`, or a subgraph path). */
  graph: string;
  /** Identifies the node across runs of the pass on the same model: `<graph> / <node>`; accepted by `forceFloat`. */
  key: string;
  /** `dynamic` (integer kernel), `weight-only` (DequantizeLinear on the weight), or `skipped`. */
  action: 'dynamic' | 'weight-only' | 'skipped';
  /** Why it was skipped, or a note on how it was treated. */
  reason?: string;
  /** The weight input it quantized or considered. */
  weight?: string;
  /** Names of the nodes that replaced it (shared DequantizeLinear / DynamicQuantizeLinear nodes not included). */
  replacedBy?: string[];
}

/** The structured result of the pass. */
export interface QuantizeReport {
  mode: QuantizeMode;
  weightType: QuantizedType;
  perChannel: boolean;
  symmetric: boolean;
  reduceRange: boolean;
  minElements: number;
  opsetBefore: number;
  opsetAfter: number;
  irVersionBefore: number;
  irVersionAfter: number;
  /** Set when the opset had to be raised but could not be. */
  opsetConversionError?: string;
  tensors: QuantizedTensorReport[];
  nodes: NodeReport[];
  nodesQuantized: number;
  nodesSkipped: number;
  /** Bytes of float weights replaced, and of what replaced them. */
  weightBytesBefore: number;
  weightBytesAfter: number;
  /** Notes for the user (e.g. that weight-only buys size, not speed). */
  notes: string[];
}

/** Result of `quantizeModel`. */
export interface QuantizeResult {
  model: ModelProto;
  report: QuantizeReport;
}
