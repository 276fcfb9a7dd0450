/**
 * Converting one float32 tensor to float16, clamping values float16 cannot
 * hold: finite values beyond ±65504 would become infinities, and non-zero
 * values below the smallest subnormal would become zeros (a division by an
 * epsilon of 1e-12 would then give infinity).
 */
import { MlctlError } from '../../../common/errors.js';
import { isExternalTensor } from '../../../onnx/external-data.js';
import { float32ToFloat16Bits } from '../../../onnx/float-arrays.js';
import { createTensor, tensorData, tensorLabel } from '../../../onnx/tensor.js';
import { DataType, type TensorProto } from '../../../onnx/types.js';

/** Largest finite float16 value. */
export const FLOAT16_MAX = 65504;
/** Smallest positive float16 value (a subnormal), 2^-24. */
export const FLOAT16_MIN_POSITIVE = 2 ** -24;

/** A converted tensor and how many values were clamped. */
export interface Float16Conversion {
  tensor: TensorProto;
  clampedToMax: number;
  clampedToMin: number;
}

/**
 * A float16 copy of a dense float32 tensor; name, doc string and metadata are
 * kept. Infinities and NaNs stay as they are.
 * @throws MlctlError MLCTL_UNSUPPORTED for external data (the caller must read it in first).
 */
export function tensorToFloat16(tensor: TensorProto): Float16Conversion {
  if (isExternalTensor(tensor)) {
    throw new MlctlError('MLCTL_UNSUPPORTED', `${tensorLabel(tensor)} keeps its data in an external file; read it in before converting to float16`);
  }
  const source = tensorData(tensor) as Float32Array;
  const values = new Float32Array(source.length);
  let clampedToMax = 0;
  let clampedToMin = 0;
  for (let i = 0; i < source.length; i++) {
    const value = source[i]!;
    const magnitude = Math.abs(value);
    if (magnitude > FLOAT16_MAX && magnitude !== Infinity) {
      values[i] = value < 0 ? -FLOAT16_MAX : FLOAT16_MAX;
      clampedToMax += 1;
    } else if (magnitude !== 0 && magnitude < FLOAT16_MIN_POSITIVE) {
      values[i] = value < 0 ? -FLOAT16_MIN_POSITIVE : FLOAT16_MIN_POSITIVE;
      clampedToMin += 1;
    } else {
      values[i] = value;
    }
  }
  const created = createTensor(tensor.name ?? '', DataType.FLOAT16, tensor.dims, float32ToFloat16Bits(values));
  const converted: TensorProto = { ...created, metadataProps: tensor.metadataProps };
  if (tensor.name === undefined) delete converted.name;
  if (tensor.docString !== undefined) converted.docString = tensor.docString;
  return { tensor: converted, clampedToMax, clampedToMin };
}

/** Bytes of a tensor's data as stored (raw or typed fields), for size reports. */
export function tensorDataBytes(tensor: TensorProto): number {
  if (tensor.rawData !== undefined) return tensor.rawData.length;
  return tensor.floatData.length * 4 + tensor.int32Data.length * 4 + tensor.int64Data.length * 8 +
    tensor.doubleData.length * 8 + tensor.uint64Data.length * 8;
}
