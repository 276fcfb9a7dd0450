/**
 * Moving values between the runtime adapter's host tensors and ONNX
 * TensorProtos, and between float16 and float32 host tensors (a float16
 * model is fed and compared in float32).
 */
import { MlctlError } from '../common/errors.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../onnx/float-arrays.js';
import { createTensor } from '../onnx/tensor.js';
import { DataType, type TensorProto } from '../onnx/types.js';
import type { HostTensor, TensorDtype } from '../runtime/types.js';

const dataTypeByDtype: Partial<Record<TensorDtype, number>> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  float16: DataType.FLOAT16,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  int16: DataType.INT16,
  uint16: DataType.UINT16,
  int32: DataType.INT32,
  uint32: DataType.UINT32,
  int64: DataType.INT64,
  uint64: DataType.UINT64,
  bool: DataType.BOOL,
  string: DataType.STRING,
};

/**
 * A TensorProto holding a host tensor's values.
 * @throws MlctlError MLCTL_UNSUPPORTED for packed 4-bit tensors.
 */
export function hostToTensorProto(name: string, tensor: HostTensor): TensorProto {
  const dataType = dataTypeByDtype[tensor.dtype];
  if (dataType === undefined) throw new MlctlError('MLCTL_UNSUPPORTED', `value '${name}' has element type ${tensor.dtype}, which mlctl cannot store as a constant`);
  return createTensor(name, dataType, tensor.dims, tensor.data as ArrayLike<number>);
}

/** A float16 host tensor widened to float32; other tensors unchanged. */
export function widenFloat16(tensor: HostTensor): HostTensor {
  if (tensor.dtype !== 'float16') return tensor;
  return { dtype: 'float32', dims: [...tensor.dims], data: float16BitsToFloat32(tensor.data as Uint16Array) };
}

/** A float32 host tensor as `dtype` wants it (float16 bit patterns for a float16 input); other pairs unchanged. */
export function feedAs(tensor: HostTensor, dtype: TensorDtype | 'non-tensor'): HostTensor {
  if (tensor.dtype === 'float32' && dtype === 'float16') {
    return { dtype: 'float16', dims: [...tensor.dims], data: float32ToFloat16Bits(tensor.data as Float32Array) };
  }
  if (tensor.dtype === 'float16' && dtype === 'float32') return widenFloat16(tensor);
  return tensor;
}
