/**
 * The memory bound of static quantization, checked before any weight is
 * read. Calibration runs the whole model, so static mode holds every weight
 * in memory (a model over protobuf's 2 GiB too: it goes to onnxruntime as a
 * temporary file, see runtime-input.ts), where dynamic and weight-only modes
 * stream tensor by tensor.
 */
import { MlctlError } from '../../common/errors.js';
import { MAX_PROTOBUF_BYTES } from '../../onnx/codec.js';
import { expectedDataBytes, validateExternalData } from '../../onnx/external-data.js';
import type { LoadedModel } from '../../onnx/model-io.js';
import { DataType, type ModelProto } from '../../onnx/types.js';

/** What static mode holds at its peak, in bytes; see {@link estimateStaticMemory}. */
export interface StaticMemoryEstimate {
  /** The model with its weights read in: the .onnx file plus its external data. */
  modelBytes: number;
  /** New copies of the weights that preparation may rewrite (Conv/ConvTranspose weights and biases, Div divisors). */
  preparedCopyBytes: number;
  /** The quantized weights: int8, a quarter of float32. */
  quantizedBytes: number;
  /**
   * onnxruntime's own copy of the model it runs (with the debug report, the
   * float and the quantized model at once), plus the serialized bytes when
   * the model goes as bytes (2 GiB or less).
   */
  runtimeBytes: number;
  /** The sum of the above. */
  totalBytes: number;
}

/** Operators whose constant inputs preparation may replace by folded copies (BatchNormalization and Mul/Add folds, the ConvTranspose rewrite, Div → Mul). */
const rewrittenInputs: Readonly<Record<string, readonly number[]>> = { Conv: [1, 2], ConvTranspose: [1, 2], Div: [1] };

/** Bytes of the main graph's initializers that preparation may rewrite, from their shapes (nothing is read). */
function rewritableBytes(model: ModelProto): number {
  const graph = model.graph;
  if (graph === undefined) return 0;
  const names = new Set<string>();
  for (const node of graph.node) {
    for (const index of rewrittenInputs[node.opType ?? ''] ?? []) names.add(node.input[index] ?? '');
  }
  let bytes = 0;
  for (const tensor of graph.initializer) {
    if (!names.has(tensor.name ?? '') || tensor.dataType === DataType.STRING) continue;
    bytes += Number(expectedDataBytes(tensor) ?? 0n);
  }
  return bytes;
}

/**
 * The peak memory of `mlctl quantize --mode static` on `loaded`, from sizes
 * alone (external data is checked, not read). Static mode keeps, at once:
 * the original model with its weights in memory (M: the file plus its
 * external data); the copies preparation makes of weights it rewrites (at
 * most the Conv, ConvTranspose and Div constants); the int8 weights of the
 * quantized model (M / 4); and the model onnxruntime runs: its own copy of
 * the weights (M; with the debug report the quantized model's too, M / 4),
 * plus, for a model that fits in protobuf's 2 GiB and so goes as bytes, the
 * serialized bytes (as much again). Activations, bounded by the calibration
 * budget (256 MiB by default), and the process's own ~150 MiB are not
 * counted. Measured: 5.2 GiB peak RSS for 2.25 GiB of MatMul weights, where
 * this says 5.1 GiB (test/cli/quantize-large.test.ts).
 * @param loaded - a model loaded from a path, external tensors not yet read.
 * @param options.debugReport - whether the debug report runs both models at once.
 * @throws the errors of `validateExternalData` for a bad external tensor.
 */
export async function estimateStaticMemory(loaded: LoadedModel, options: { debugReport?: boolean } = {}): Promise<StaticMemoryEstimate> {
  const files = loaded.dir === undefined ? [] : await validateExternalData(loaded.model, loaded.dir);
  const modelBytes = files.reduce((sum, file) => sum + file.bytes, loaded.sizeBytes);
  const preparedCopyBytes = rewritableBytes(loaded.model);
  const quantizedBytes = Math.ceil(modelBytes / 4);
  const held = modelBytes + (options.debugReport === true ? quantizedBytes : 0);
  const runtimeBytes = modelBytes + preparedCopyBytes > MAX_PROTOBUF_BYTES ? held : 2 * held;
  return { modelBytes, preparedCopyBytes, quantizedBytes, runtimeBytes, totalBytes: modelBytes + preparedCopyBytes + quantizedBytes + runtimeBytes };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/**
 * Refuses, before any weight is read, a model whose {@link StaticMemoryEstimate}
 * exceeds the machine's memory.
 * @param totalMemoryBytes - what the machine has (`os.totalmem()`).
 * @throws MlctlError MLCTL_TOO_LARGE (exit 3) naming the estimate, its parts and what works instead.
 */
export function checkStaticMemory(input: string, estimate: StaticMemoryEstimate, totalMemoryBytes: number): void {
  if (estimate.totalBytes <= totalMemoryBytes) return;
  const parts = [
    `${gib(estimate.modelBytes)} of weights`,
    ...(estimate.preparedCopyBytes > 0 ? [`${gib(estimate.preparedCopyBytes)} of prepared copies`] : []),
    `${gib(estimate.quantizedBytes)} quantized`,
    `${gib(estimate.runtimeBytes)} for onnxruntime`,
  ];
  throw new MlctlError(
    'MLCTL_TOO_LARGE',
    `cannot quantize '${input}' statically: calibration holds the whole model in memory, about ${gib(estimate.totalBytes)} (${parts.join(' + ')}), more than this machine's ${gib(totalMemoryBytes)}`,
    { hint: '--mode dynamic and --mode weight-only quantize large models tensor by tensor; or run static mode on a machine with more memory' },
  );
}
