/**
 * The tensor layer of the ONNX model layer: element counts and dims,
 * decoding a TensorProto's elements, and building TensorProtos.
 *
 * Split by responsibility into tensor-shape.ts, tensor-decode.ts and
 * tensor-create.ts (byte-level helpers in tensor-bytes.ts); import from here.
 */

export { tensorElementCount, tensorDims, tensorLabel, formatDims } from './tensor-shape.js';
export { tensorData, checkTensorStorage, type TensorValues, type TensorDataOptions } from './tensor-decode.js';
export { createTensor, type TensorInput } from './tensor-create.js';
