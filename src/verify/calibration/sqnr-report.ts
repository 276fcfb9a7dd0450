/**
 * The per-tensor debug report, like ONNX Runtime's `qdq_loss_debug`: for
 * each quantized activation, the signal-to-quantization-noise ratio
 * `20·log10(‖x‖ / ‖x − x̂‖)` (norms floored at float64's epsilon, as ORT does)
 *
 * - **cumulative** (`sqnrDb`): x from the float model, x̂ the quantized
 *   model's DequantizeLinear output: all the error up to this point;
 * - **local** (`localSqnrDb`): x the quantized model's own value entering the
 *   QuantizeLinear (after a folded Relu/Clip, clamped to its bounds), x̂ the
 *   DequantizeLinear's output: the error this one quantization step adds.
 *
 * A tensor where the cumulative SQNR drops while the local one is high
 * inherits its error; a low local SQNR points at a range that does not fit
 * (outliers clipped, or too wide a range for 8 bits).
 *
 * Both models run with the tensors exposed, in chunks whose outputs stay
 * under the memory budget; each chunk's tensors are compared and dropped
 * before the next chunk runs.
 */
import type { ModelProto } from '../../onnx/types.js';
import type { StaticActivationReport } from '../../passes/quantize/static/index.js';
import type { HostTensor } from '../../runtime/types.js';
import { DEFAULT_EXPOSE_BUDGET_BYTES, ExposedRunner } from './exposed-runner.js';
import type { SampleSource } from './samples.js';

/** One row of the report. */
export interface TensorSqnr {
  tensor: string;
  /** Float model vs dequantized value, in dB; null when the tensor was never seen as float32. */
  sqnrDb: number | null;
  /** Value entering the QuantizeLinear vs dequantized value, in dB. */
  localSqnrDb: number | null;
  rmin: number;
  rmax: number;
  scale: number;
  zeroPoint: number;
  /** Share of elements (over the samples) outside the representable range, i.e. clipped by the QuantizeLinear. */
  clippedFraction: number | null;
}

interface Sums {
  signal: number;
  noise: number;
  localSignal: number;
  localNoise: number;
  clipped: number;
  count: number;
  seen: boolean;
}

const EPSILON = 2.220446049250313e-16;

/** 20·log10(‖x‖ / ‖x − x̂‖) from sums of squares, norms floored at float64 epsilon. */
export function sqnrFromSums(signalSquares: number, noiseSquares: number): number {
  return 20 * Math.log10(Math.max(Math.sqrt(signalSquares), EPSILON) / Math.max(Math.sqrt(noiseSquares), EPSILON));
}

/** Options of {@link activationSqnr}. */
export interface SqnrOptions {
  budgetBytes?: number;
  /** At most this many samples of `source` (default 4). */
  maxSamples?: number;
}

function floats(tensor: HostTensor | undefined): Float32Array | undefined {
  return tensor?.dtype === 'float32' ? (tensor.data as Float32Array) : undefined;
}

/**
 * Measures the report (see the module comment) for `activations` of the
 * quantized model against the prepared float model.
 * @throws MlctlError MLCTL_RUNTIME when a model cannot be loaded or run.
 */
export async function activationSqnr(
  floatModel: ModelProto,
  quantizedModel: ModelProto,
  activations: readonly StaticActivationReport[],
  source: SampleSource,
  options: SqnrOptions = {},
): Promise<TensorSqnr[]> {
  const budget = options.budgetBytes ?? DEFAULT_EXPOSE_BUDGET_BYTES;
  const floatRunner = await ExposedRunner.create(floatModel, activations.map((a) => a.tensor), { budgetBytes: budget / 3, label: 'the float model' });
  let quantRunner: ExposedRunner | undefined;
  const sums = new Map<string, Sums>(activations.map((a) => [a.tensor, { signal: 0, noise: 0, localSignal: 0, localNoise: 0, clipped: 0, count: 0, seen: false }]));
  try {
    quantRunner = await ExposedRunner.create(quantizedModel, activations.flatMap((a) => [a.tensor, a.dequantized]), { budgetBytes: (2 * budget) / 3, label: 'the quantized model' });
    const samples = Math.min(source.count, options.maxSamples ?? 4);
    for (let index = 0; index < samples; index++) {
      const feeds = await source.load(index);
      for (let start = 0; start < activations.length;) {
        const chunk = nextChunk(activations, start, floatRunner, budget);
        start += chunk.length;
        const reference = new Map<string, Float32Array>();
        await floatRunner.run(feeds, (name, tensor) => {
          const data = floats(tensor);
          if (data !== undefined) reference.set(name, data);
        }, new Set(chunk.map((a) => a.tensor)));
        const quantized = new Map<string, Float32Array>();
        await quantRunner.run(feeds, (name, tensor) => {
          const data = floats(tensor);
          if (data !== undefined) quantized.set(name, data);
        }, new Set(chunk.flatMap((a) => [a.tensor, a.dequantized])));
        for (const activation of chunk) accumulate(sums.get(activation.tensor)!, activation, reference.get(activation.tensor), quantized.get(activation.tensor), quantized.get(activation.dequantized));
      }
    }
  } finally {
    await floatRunner.release();
    await quantRunner?.release();
  }
  return activations.map((a) => {
    const s = sums.get(a.tensor)!;
    return {
      tensor: a.tensor,
      sqnrDb: s.seen ? sqnrFromSums(s.signal, s.noise) : null,
      localSqnrDb: s.seen ? sqnrFromSums(s.localSignal, s.localNoise) : null,
      rmin: a.rmin,
      rmax: a.rmax,
      scale: a.scale,
      zeroPoint: a.zeroPoint,
      clippedFraction: s.count === 0 ? null : s.clipped / s.count,
    };
  });
}

/**
 * The activations from `start` whose float values, values before quantization
 * and dequantized values (three tensors of one size each) fit in `budget`
 * together, sized from the last run; 16 while sizes are unknown.
 */
function nextChunk(activations: readonly StaticActivationReport[], start: number, runner: ExposedRunner, budget: number): StaticActivationReport[] {
  const chunk: StaticActivationReport[] = [];
  let bytes = 0;
  for (let i = start; i < activations.length; i++) {
    const size = runner.knownSize(activations[i]!.tensor);
    if (size === undefined && chunk.length >= 16) break;
    const cost = 3 * (size ?? 0);
    if (chunk.length > 0 && bytes + cost > budget) break;
    chunk.push(activations[i]!);
    bytes += cost;
  }
  return chunk;
}

function accumulate(sums: Sums, activation: StaticActivationReport, reference: Float32Array | undefined, pre: Float32Array | undefined, dequantized: Float32Array | undefined): void {
  if (dequantized === undefined) return;
  const lowBound = activation.fusedActivation?.min ?? -Infinity;
  const highBound = activation.fusedActivation?.max ?? Infinity;
  if (reference !== undefined && reference.length === dequantized.length) {
    for (let i = 0; i < reference.length; i++) {
      const d = reference[i]! - dequantized[i]!;
      sums.signal += reference[i]! * reference[i]!;
      sums.noise += d * d;
    }
    sums.seen = true;
  }
  if (pre !== undefined && pre.length === dequantized.length) {
    // Rounding moves a value by at most half a step; further means the QuantizeLinear clamped it.
    const half = (activation.scale / 2) * 1.0001;
    for (let i = 0; i < pre.length; i++) {
      let x = pre[i]!;
      x = x < lowBound ? lowBound : x > highBound ? highBound : x;
      const d = x - dequantized[i]!;
      sums.localSignal += x * x;
      sums.localNoise += d * d;
      if (d > half || d < -half) sums.clipped += 1;
    }
    sums.count += pre.length;
    sums.seen = true;
  }
}
