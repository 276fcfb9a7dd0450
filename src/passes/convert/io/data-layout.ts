/**
 * Where a converted model's weights go: `--external-data` moves every
 * tensor of at least the threshold into one aligned data file next to the
 * model; `--inline-data` reads them all back into the .onnx file, which
 * protobuf limits to 2 GiB; without either, weights stay inline unless the
 * input kept them external or the model would pass 2 GiB.
 */
import path from 'node:path';
import { MlctlError, UsageError } from '../../../common/errors.js';
import { MAX_PROTOBUF_BYTES } from '../../../onnx/codec.js';
import { formatBytes } from './byte-size.js';

/** Default of `--threshold`: tensors of 1 KiB and more move out (ONNX's own default). */
export const DEFAULT_EXTERNAL_THRESHOLD_BYTES = 1024;

/** Headroom under the 2 GiB limit for the fields mlctl adds (metadata) after deciding. */
const marginBytes = 1024 * 1024;

/** What the user asked for. */
export type DataLayoutRequest =
  | { mode: 'keep' }
  | { mode: 'external'; thresholdBytes?: number }
  | { mode: 'inline' };

/** The layout to save with, and why. */
export type DataLayout =
  | { mode: 'inline'; reason: string }
  | { mode: 'external'; location: string; thresholdBytes: number; reason: string };

/** Facts about the model to be saved. */
export interface DataLayoutFacts {
  /** Whether the input model kept tensors in external data files. */
  inputHadExternalData: boolean;
  /** Serialized size of the model with every tensor inline. */
  inlineSizeBytes: number;
}

/** The data file's name for an output path: `model.onnx` → `model.onnx.data`. */
export function externalDataLocation(outputPath: string): string {
  return `${path.basename(outputPath)}.data`;
}

/**
 * Decides the layout.
 * @throws MlctlError MLCTL_TOO_LARGE when `--inline-data` would make a file over 2 GiB;
 *   UsageError for a negative or non-integer threshold.
 */
export function decideDataLayout(request: DataLayoutRequest, facts: DataLayoutFacts, outputPath: string): DataLayout {
  const location = externalDataLocation(outputPath);
  const tooLarge = facts.inlineSizeBytes > MAX_PROTOBUF_BYTES - marginBytes;
  switch (request.mode) {
    case 'inline':
      if (tooLarge) {
        throw new MlctlError('MLCTL_TOO_LARGE', `--inline-data would make '${outputPath}' ${formatBytes(facts.inlineSizeBytes)}, above protobuf's 2 GiB limit for one .onnx file`, {
          hint: 'keep the weights in an external data file: use --external-data instead',
        });
      }
      return { mode: 'inline', reason: '--inline-data' };
    case 'external': {
      const thresholdBytes = request.thresholdBytes ?? DEFAULT_EXTERNAL_THRESHOLD_BYTES;
      if (!Number.isSafeInteger(thresholdBytes) || thresholdBytes < 0) throw new UsageError(`--threshold ${thresholdBytes} is not a whole number of bytes`);
      return { mode: 'external', location, thresholdBytes, reason: '--external-data' };
    }
    case 'keep':
      if (tooLarge) {
        return { mode: 'external', location, thresholdBytes: DEFAULT_EXTERNAL_THRESHOLD_BYTES, reason: `the model is ${formatBytes(facts.inlineSizeBytes)}, above protobuf's 2 GiB limit for one file` };
      }
      if (facts.inputHadExternalData) {
        return { mode: 'external', location, thresholdBytes: DEFAULT_EXTERNAL_THRESHOLD_BYTES, reason: 'the input kept its weights in external data (pass --inline-data to bring them in)' };
      }
      return { mode: 'inline', reason: 'the input kept its weights inline' };
  }
}
