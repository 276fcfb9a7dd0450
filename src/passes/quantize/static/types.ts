/**
 * Options and report of static (calibrated) QDQ quantization.
 */
import type { ModelProto } from '../../../onnx/types.js';
import type { QuantizedType } from '../numerics.js';
import type { QuantizedTensorReport, WeightKernel } from '../types.js';

/** The calibrated range of one activation tensor: float32 values, `min ≤ max`. */
export interface TensorRange {
  readonly min: number;
  readonly max: number;
}

/** Calibrated ranges by tensor name. A tensor without a range (non-float, never seen) is not quantized. */
export type TensorRanges = ReadonlyMap<string, TensorRange>;

/** Options of `quantizeStatic`; every field has a default. */
export interface StaticQuantizeOptions {
  /**
   * Activation element type (default uint8, asymmetric, as ONNX Runtime's
   * quantize_static). int8 activations are asymmetric too.
   */
  activationType?: QuantizedType;
  /** One weight scale per output channel (default true) or one per tensor. Weights are int8, symmetric. */
  perChannel?: boolean;
  /** 7-bit weights, for AVX2 CPUs without VNNI (default false). */
  reduceRange?: boolean;
  /** Nodes to leave in float: exact node names, or regular expressions matched against the name. */
  exclude?: readonly (string | RegExp)[];
  /** Node names or report keys to leave in float (the accuracy-driven search uses this). */
  forceFloat?: readonly string[];
  /** Weights with fewer elements stay float, and so does their node (default 0: all). */
  minElements?: number;
  /** Computes quantized weights (default: in this thread); lets a caller cache them across runs. */
  weightKernel?: WeightKernel;
  /**
   * Store each bias scale as an initializer (default false: a Mul of the
   * input's and the weight's scale initializers computes it, which ONNX
   * Runtime folds at load). For runtimes that want every QDQ scale stored.
   */
  explicitBiasScales?: boolean;
}

/** What happened to one node of the main graph that static quantization considered. */
export interface StaticNodeReport {
  /** Node name, or `#index` when it has none. */
  node: string;
  opType: string;
  /** Identifies the node across runs on the same prepared model; accepted by `forceFloat`. */
  key: string;
  /** `quantized`: QDQ around it; `fused`: a Relu/Clip folded into the quantization of its producer; `float`: left alone. */
  action: 'quantized' | 'fused' | 'float';
  /** Why it stayed float, or how it was treated. */
  reason?: string;
  /**
   * Whether this node decides a quantization error of its own: an anchor
   * (Conv/MatMul/Gemm) or an operator with its own output range. Only these
   * are ranked by the accuracy-driven search.
   */
  ownsError: boolean;
}

/** One activation tensor wrapped in QuantizeLinear → DequantizeLinear. */
export interface StaticActivationReport {
  /** The tensor as the float model names it (the QuantizeLinear's input). */
  tensor: string;
  /** The DequantizeLinear's output, which the consumers read. */
  dequantized: string;
  /** The range its scale and zero point come from. */
  rmin: number;
  rmax: number;
  scale: number;
  zeroPoint: number;
  /** Set when it reuses the scale and zero point of another tensor (the input of a MaxPool, Reshape, ...). */
  sharedWith?: string;
  /**
   * Set when a Relu/Clip was folded into it: the quantized model computes
   * the value before the activation, and the QuantizeLinear clamps to these bounds.
   */
  fusedActivation?: { opType: string; min: number; max: number };
}

/** One bias turned into int32. */
export interface StaticBiasReport {
  name: string;
  /** The consuming node. */
  node: string;
  /** `input_scale × weight_scale` per channel. */
  scaleMin: number;
  scaleMax: number;
  /** Elements that fell outside int32 and were clipped. */
  clipped: number;
  /** Weight channels whose scale was raised so that the bias fits in int32 (as ONNX Runtime does). */
  weightScalesRaised: number;
}

/** The structured result of `quantizeStatic`. */
export interface StaticQuantizeReport {
  activationType: QuantizedType;
  weightType: 'int8';
  perChannel: boolean;
  reduceRange: boolean;
  nodes: StaticNodeReport[];
  activations: StaticActivationReport[];
  weights: QuantizedTensorReport[];
  biases: StaticBiasReport[];
  nodesQuantized: number;
  nodesFloat: number;
  /** Bytes of float weights replaced, and of what replaced them (float copies kept for float consumers included). */
  weightBytesBefore: number;
  weightBytesAfter: number;
  notes: string[];
}

/** Result of `quantizeStatic`. */
export interface StaticQuantizeResult {
  model: ModelProto;
  report: StaticQuantizeReport;
}
