/**
 * Calibration: running the prepared float model on the calibration samples
 * with the tensors to calibrate exposed (in memory-bounded groups, see
 * exposed-runner.ts) and reducing each fetched tensor into its collector at
 * once, so that no tensor outlives the run that made it.
 */
import type { ModelProto } from '../../onnx/types.js';
import type { TensorRange } from '../../passes/quantize/static/index.js';
import { ExposedRunner, type ExposedRunStats } from './exposed-runner.js';
import { RangeCollector, type CalibrationSettings } from './range-collectors.js';
import type { SampleSource } from './samples.js';

/** Options of {@link collectRanges}. */
export interface CollectOptions extends CalibrationSettings {
  /** Bytes of exposed tensors one run may hold (see exposed-runner.ts). */
  budgetBytes?: number;
  /** Called after each sample of each pass, for progress. */
  onSample?: (pass: number, index: number) => void;
}

/** The outcome of calibration. */
export interface CalibrationResult {
  /** Float32 ranges by tensor name. */
  ranges: Map<string, TensorRange>;
  /** Tensors that got no range, and why (not float32, never finite). */
  skipped: { tensor: string; reason: string }[];
  samples: number;
  passes: number;
  stats: ExposedRunStats;
}

/**
 * Collects the ranges of `tensors` of `model` over `source`.
 * @throws MlctlError MLCTL_RUNTIME when the model cannot be loaded or run; MLCTL_BAD_INPUT when a sample does not fit it.
 */
export async function collectRanges(model: ModelProto, tensors: readonly string[], source: SampleSource, options: CollectOptions): Promise<CalibrationResult> {
  const collector = new RangeCollector(options);
  const runner = await ExposedRunner.create(model, tensors, options.budgetBytes === undefined ? {} : { budgetBytes: options.budgetBytes });
  const dtypes = new Map<string, string>();
  try {
    for (let pass = 0; pass < collector.passes; pass++) {
      const only = pass === 0 ? undefined : new Set(tensors.filter((name) => collector.needsSecondPass(name)));
      if (only !== undefined && only.size === 0) break;
      for (let index = 0; index < source.count; index++) {
        const feeds = await source.load(index);
        await runner.run(
          feeds,
          (name, tensor) => {
            dtypes.set(name, tensor.dtype);
            if (tensor.dtype === 'float32') collector.observe(pass, name, tensor.data as Float32Array);
          },
          only,
        );
        options.onSample?.(pass, index);
      }
    }
  } finally {
    await runner.release();
  }
  const ranges = new Map<string, TensorRange>();
  const skipped: CalibrationResult['skipped'] = [];
  for (const tensor of tensors) {
    const dtype = dtypes.get(tensor);
    if (dtype !== undefined && dtype !== 'float32') {
      skipped.push({ tensor, reason: `it holds ${dtype} values` });
      continue;
    }
    const range = collector.range(tensor);
    if (range === undefined || !Number.isFinite(range.min) || !Number.isFinite(range.max)) {
      skipped.push({ tensor, reason: range === undefined ? 'it held no value in any sample' : `its range [${range.min}, ${range.max}] is not finite` });
      continue;
    }
    ranges.set(tensor, range);
  }
  return { ranges, skipped, samples: source.count, passes: collector.passes, stats: runner.stats };
}
