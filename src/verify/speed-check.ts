/**
 * A short latency comparison of the original and quantized model on this
 * machine (`mlctl quantize --check-speed`): int8 is not faster everywhere
 * (no VNNI, slow integer kernels such as ConvInteger, DequantizeLinear run on
 * every inference), so the tool measures instead of promising.
 */
import { createSession } from '../runtime/onnxruntime.js';
import type { HostTensor, RuntimeSession } from '../runtime/types.js';

/** What the comparison found. */
export interface SpeedCheck {
  /** Timed runs of each model (after two untimed warm-ups each). */
  runs: number;
  /** Median milliseconds of one inference. */
  originalMs: number;
  quantizedMs: number;
  /** Median of the per-pair ratios quantized / original (below 1: the quantized model is faster). */
  ratio: number;
  /** What to do about it, in one sentence. */
  advice: string;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function timeRun(session: RuntimeSession, feeds: Record<string, HostTensor>): Promise<number> {
  const started = performance.now();
  await session.run(feeds);
  return performance.now() - started;
}

function advise(ratio: number, mode: 'weight-only' | 'dynamic', reduceRange: boolean): string {
  if (ratio <= 0.95) return `the quantized model runs at ${ratio.toFixed(2)}× the original's latency here`;
  const slower = `the quantized model is ${ratio <= 1.05 ? 'no faster than' : `${ratio.toFixed(2)}× slower than`} the original here`;
  if (mode === 'weight-only') return `${slower}: weight-only quantization buys size, not speed; try --mode dynamic for MatMul-heavy models`;
  if (!reduceRange) return `${slower}: on CPUs without AVX-512 VNNI try --reduce-range, or --mode weight-only to keep only the size gain`;
  return `${slower}: keep the float model for speed, or use --mode weight-only for the size gain alone`;
}

/**
 * Times both models on `feeds`, interleaved run by run (A B, B A, …) so that
 * a drift in machine speed hits both alike.
 * @param originalModel - the original's path (onnxruntime reads it and its external data) or bytes.
 */
export async function checkSpeed(
  originalModel: string | Uint8Array,
  quantizedBytes: Uint8Array,
  feeds: Record<string, HostTensor>,
  settings: { mode: 'weight-only' | 'dynamic'; reduceRange: boolean; runs?: number },
): Promise<SpeedCheck> {
  const runs = settings.runs ?? 10;
  const original = await createSession(originalModel, { label: 'the original model', logLevel: 'fatal' });
  try {
    const quantized = await createSession(quantizedBytes, { label: 'the quantized model', logLevel: 'fatal' });
    try {
      for (let i = 0; i < 2; i++) {
        await timeRun(original, feeds);
        await timeRun(quantized, feeds);
      }
      const originalMs: number[] = [];
      const quantizedMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        if (i % 2 === 0) {
          originalMs.push(await timeRun(original, feeds));
          quantizedMs.push(await timeRun(quantized, feeds));
        } else {
          quantizedMs.push(await timeRun(quantized, feeds));
          originalMs.push(await timeRun(original, feeds));
        }
      }
      const ratio = median(quantizedMs.map((ms, i) => ms / originalMs[i]!));
      return { runs, originalMs: median(originalMs), quantizedMs: median(quantizedMs), ratio, advice: advise(ratio, settings.mode, settings.reduceRange) };
    } finally {
      await quantized.release();
    }
  } finally {
    await original.release();
  }
}
