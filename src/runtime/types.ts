/**
 * The runtime adapter's contract: what commands (bench, serve, check) and
 * tests see of an inference engine. Nothing here imports onnxruntime-node;
 * the one implementation lives in onnxruntime.ts.
 */

/** Element types a host tensor can hold, named as JavaScript runtimes name them. */
export type TensorDtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string'
  | 'int4'
  | 'uint4';

/**
 * The typed array that holds each dtype's elements:
 * float16 is raw IEEE half bits in a Uint16Array, bool is 0/1 bytes in a
 * Uint8Array, int4/uint4 are packed two elements per byte (low nibble first)
 * in a Uint8Array, as onnxruntime takes them.
 */
export interface TensorDataByDtype {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
  string: string[];
  int4: Uint8Array;
  uint4: Uint8Array;
}

export type TensorData = TensorDataByDtype[TensorDtype];

/** A dense tensor in host memory. */
export interface HostTensor {
  dtype: TensorDtype;
  /** Dimensions; the product is the element count (empty for a scalar). */
  dims: number[];
  data: TensorData;
}

/** A symbolic dimension's name, a fixed size, or null where the model leaves the dimension unnamed. */
export type IoDim = number | string | null;

/** Name, element type and shape of a session input or output. */
export interface IoMeta {
  name: string;
  /** The element type, or 'non-tensor' for sequences, maps and optionals (shape is then empty). */
  dtype: TensorDtype | 'non-tensor';
  shape: IoDim[];
}

/**
 * Execution providers mlctl knows how to ask for. Which ones work depends on
 * the installed onnxruntime-node build and the machine (see availableProviders()).
 */
export type ExecutionProviderName = 'cpu' | 'cuda' | 'tensorrt' | 'webgpu' | 'dml' | 'coreml';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export type RuntimeLogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';

export interface SessionOptions {
  /** Where to run the model (default 'cpu'). Never falls back to another provider. */
  executionProvider?: ExecutionProviderName;
  /** Threads used inside one operator (0 or absent: the runtime's choice). */
  intraOpThreads?: number;
  /** Threads used across operators when executionMode is 'parallel'. */
  interOpThreads?: number;
  /** Graph rewrites the runtime applies before running (default 'all'). */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** Run independent operators one after another or in parallel (default 'sequential'). */
  executionMode?: 'sequential' | 'parallel';
  /** Where to write the model as optimized by the runtime (for inspection). */
  optimizedModelPath?: string;
  /** Least severe runtime log messages printed to stderr (default 'error'). */
  logLevel?: RuntimeLogLevel;
  /** How to name the model in error messages when it is given as bytes (default 'model bytes'), or as a path with `labelFile`. */
  label?: string;
  /** Name a model given as a path by `label` too: a temporary copy's path (see verify/runtime-input.ts) means nothing to the user. */
  labelFile?: boolean;
}

/** Whether an execution provider can be used, and if not, why. */
export interface ProviderStatus {
  name: string;
  /** True when the provider's native library is present in the installed build. */
  available: boolean;
  /** Why it is not available, and how to make it so; absent when available. */
  reason?: string;
}

/** A loaded model ready to run. Always release() it, also after a failed run. */
export interface RuntimeSession {
  readonly inputs: IoMeta[];
  readonly outputs: IoMeta[];
  /**
   * Runs the model once.
   * @param feeds one tensor per input name.
   * @param outputNames outputs to compute (default: all of them).
   * @throws MlctlError MLCTL_BAD_INPUT for unknown names or data that does not fit its dims,
   *   MLCTL_RUNTIME when the runtime fails.
   */
  run(feeds: Record<string, HostTensor>, outputNames?: readonly string[]): Promise<Record<string, HostTensor>>;
  /** Frees the native session; later run() calls throw. Calling it twice is harmless. */
  release(): Promise<void>;
}
