/**
 * mlctl as a library: the ONNX model layer (read, write, tensors, graph
 * helpers, external data) with the error types it throws.
 *
 * ```ts
 * import { loadModel, saveModel } from 'mlctl';
 * ```
 */
export { loadModel, saveModel, decodeModel, serializeModel } from './onnx/model-io.js';
export type { LoadedModel, LoadOptions, SaveOptions, SaveResult } from './onnx/model-io.js';
export { decodeMessage, encodeMessage, encodeMessageChunks } from './onnx/codec.js';
export * from './onnx/types.js';
export * from './onnx/tensor.js';
export { dataTypeInfo, dataTypeName, dataTypeByName, byteSizeOf, allDataTypes } from './onnx/dtypes.js';
export type { DataTypeInfo } from './onnx/dtypes.js';
export * from './onnx/float-formats.js';
export * from './onnx/float-arrays.js';
export * from './onnx/graph.js';
export * from './onnx/builder.js';
export * from './onnx/opset.js';
export { forEachTensorProto, mapTensorProtos } from './onnx/tensor-walk.js';
export {
  isExternalTensor,
  parseExternalDataInfo,
  readExternalData,
  validateExternalData,
  loadExternalDataInline,
} from './onnx/external-data.js';
export { summarizeModel } from './onnx/summary.js';
export type { ModelSummary } from './onnx/summary.js';
export { withProvenance } from './onnx/provenance.js';
export { MlctlError, ModelFormatError, UnsafePathError, UsageError, FileError, ExitCode } from './common/errors.js';
export type { ErrorCode } from './common/errors.js';
