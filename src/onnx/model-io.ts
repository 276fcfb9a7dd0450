/**
 * Loading and saving ONNX model files.
 */
import { open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { assertWritable, writeFileAtomic, describeSystemError, type AtomicWriteOptions } from '../common/atomic-file.js';
import { FileError, ModelFormatError, MlctlError, withContext } from '../common/errors.js';
import { decodeMessage, encodedSize, encodeMessage, encodeMessageChunks, MAX_PROTOBUF_BYTES, type DecodeOptions, type EncodedMessage } from './codec.js';
import { validateExternalData } from './external-data.js';
import { planExternalData, writeExternalDataFile, type ExternalDataSaveOptions } from './external-data-writer.js';
import type { ModelProto } from './types.js';

export interface LoadedModel {
  model: ModelProto;
  /** The file it came from, or undefined when loaded from bytes. */
  path: string | undefined;
  /** Folder that external data locations are relative to. */
  dir: string | undefined;
  /** Size of the serialized model in bytes. */
  sizeBytes: number;
  /** The serialized bytes; the model's byte fields are views into them. */
  bytes: Uint8Array;
}

export interface LoadOptions extends DecodeOptions {
  /**
   * When loading from a path, check every external tensor (path safety,
   * byte ranges; see external-data.ts) before returning, without reading its
   * data (default true). A model loaded from bytes is never checked here.
   */
  checkExternalData?: boolean;
  /**
   * Read the file into a SharedArrayBuffer, so that worker threads can read
   * the model's tensor bytes (views into it) without a copy (default false).
   */
  sharedMemory?: boolean;
}

/** First bytes of ModelProto fields (tag bytes of fields 1 to 8 and 14). */
const modelTags = new Set([0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72]);

/** Signatures of formats people often mistake for ONNX, checked before decoding. */
const foreignFormats: Array<{ name: string; test: (b: Uint8Array) => boolean }> = [
  { name: 'a JPEG image', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { name: 'a PNG image', test: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 },
  { name: 'a ZIP archive (a PyTorch checkpoint or .npz?)', test: (b) => b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04 },
  { name: 'a gzip file', test: (b) => b[0] === 0x1f && b[1] === 0x8b },
  { name: 'a Python pickle', test: (b) => b[0] === 0x80 && b[1] !== undefined && b[1] >= 2 && b[1] <= 5 && b.length > 2 && b[b.length - 1] === 0x2e },
  { name: 'a GGUF model', test: (b) => b[0] === 0x47 && b[1] === 0x47 && b[2] === 0x55 && b[3] === 0x46 },
  { name: 'a TensorFlow Lite model', test: (b) => b[4] === 0x54 && b[5] === 0x46 && b[6] === 0x4c && b[7] === 0x33 },
  { name: 'an HDF5 file (Keras?)', test: (b) => b[0] === 0x89 && b[1] === 0x48 && b[2] === 0x44 && b[3] === 0x46 },
  { name: 'a NumPy array', test: (b) => b[0] === 0x93 && b[1] === 0x4e && b[2] === 0x55 && b[3] === 0x4d },
  {
    // ModelProto's own field tags ':' (graph), 'B' (opset_import), 'r' (metadata_props) are printable.
    name: 'a text file',
    test: (b) => b.length >= 4 && !modelTags.has(b[0]!) &&
      b.subarray(0, Math.min(b.length, 64)).every((c) => c === 9 || c === 10 || c === 13 || (c >= 0x20 && c < 0x7f)),
  },
];

/**
 * Decodes serialized ModelProto bytes and checks that they describe a model.
 * @param label how to name the source in error messages (a file path).
 * @throws ModelFormatError
 */
export function decodeModel(bytes: Uint8Array, label = 'input', options: LoadOptions = {}): ModelProto {
  if (bytes.length === 0) throw new ModelFormatError(`'${label}' is empty, not an ONNX model`);
  const foreign = foreignFormats.find((format) => format.test(bytes));
  if (foreign !== undefined) throw new ModelFormatError(`'${label}' is ${foreign.name}, not an ONNX model`);
  let model: ModelProto;
  try {
    model = decodeMessage<ModelProto>('ModelProto', bytes, options);
  } catch (error) {
    if (error instanceof ModelFormatError) {
      throw new ModelFormatError(`'${label}' is not a valid ONNX model: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (model.irVersion === undefined || model.irVersion < 1n || model.irVersion > 1000n) {
    throw new ModelFormatError(
      `'${label}' is not an ONNX model: it decodes as protobuf but has ${model.irVersion === undefined ? 'no ir_version field' : `ir_version ${model.irVersion}`}`,
    );
  }
  if (model.graph === undefined && model.functions.length === 0) {
    throw new ModelFormatError(`'${label}' is not an ONNX model: it has no graph`);
  }
  return model;
}

/**
 * Loads an ONNX model from a file path or from serialized bytes.
 * External data is not read here: tensors stored outside the file keep their
 * `externalData` entries, and `dir` says where to find them (see external-data.ts).
 * Loaded from a path, the external tensors are checked unless
 * `checkExternalData` is false.
 * @throws FileError when the file cannot be read; ModelFormatError when it is
 *   not a valid model; UnsafePathError for an external data location that
 *   leaves the model's folder.
 */
export async function loadModel(source: string | Uint8Array, options: LoadOptions = {}): Promise<LoadedModel> {
  if (typeof source !== 'string') {
    return { model: decodeModel(source, 'input', options), path: undefined, dir: undefined, sizeBytes: source.length, bytes: source };
  }
  const info = await stat(source).catch((error: unknown) => {
    throw new FileError(`cannot read '${source}': ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : describeSystemError(error)}`, { cause: error });
  });
  if (info.isDirectory()) throw new FileError(`cannot read '${source}': it is a directory, not an ONNX model file`);
  if (!info.isFile()) throw new FileError(`cannot read '${source}': it is not a regular file`);
  if (info.size > MAX_PROTOBUF_BYTES) {
    throw new ModelFormatError(`'${source}' is ${info.size} bytes, larger than any valid protobuf (2 GiB)`, {
      hint: 'models over 2 GiB keep their weights in external data files next to a small .onnx file',
    });
  }
  let bytes: Uint8Array;
  try {
    bytes = options.sharedMemory === true ? await readIntoSharedMemory(source, info.size) : await readFile(source);
  } catch (error) {
    throw new FileError(`cannot read '${source}': ${describeSystemError(error)}`, { cause: error });
  }
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const model = decodeModel(bytes, source, options);
  const dir = path.dirname(path.resolve(source));
  if (options.checkExternalData !== false) {
    try {
      await validateExternalData(model, dir);
    } catch (error) {
      if (error instanceof MlctlError) {
        throw withContext(error, `'${source}': `);
      }
      throw error;
    }
  }
  return { model, path: source, dir, sizeBytes: bytes.length, bytes };
}

/** Reads a whole file into a SharedArrayBuffer, which worker threads can read without a copy. */
async function readIntoSharedMemory(file: string, sizeBytes: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(new SharedArrayBuffer(sizeBytes));
  const handle = await open(file, 'r');
  try {
    let offset = 0;
    while (offset < sizeBytes) {
      const { bytesRead } = await handle.read(bytes, offset, sizeBytes - offset, offset);
      if (bytesRead === 0) throw new Error(`the file shrank to ${offset} bytes while being read`);
      offset += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return bytes;
}

/**
 * Bytes the model serializes to, without building them; may exceed
 * protobuf's 2 GiB limit (where {@link serializeModel} throws).
 */
export function serializedModelSize(model: ModelProto): number {
  return encodedSize('ModelProto', model);
}

/** Serializes a model to bytes (one buffer). */
export function serializeModel(model: ModelProto): Uint8Array {
  return encodeMessage('ModelProto', model);
}

export interface SaveOptions extends AtomicWriteOptions {
  /**
   * Store large tensors in one data file next to the model (ONNX external
   * data): graph initializers and Constant values with at least
   * `thresholdBytes` of raw data, at `alignBytes`-aligned offsets, plus every
   * tensor that is already external. Both files are written atomically, the
   * data file first; on failure neither remains.
   */
  externalData?: ExternalDataSaveOptions;
  /** Folder that the input's already-external tensors are read from (`LoadedModel.dir`). */
  sourceDir?: string;
}

export interface SaveResult {
  path: string;
  sizeBytes: number;
  /** The data file written with `externalData`; undefined when no tensor went into one. */
  externalData?: { path: string; sizeBytes: number; tensorCount: number };
}

function encodeForSave(model: ModelProto, target: string): EncodedMessage {
  try {
    return encodeMessageChunks('ModelProto', model);
  } catch (error) {
    if (error instanceof MlctlError) {
      throw new MlctlError(error.code, `cannot save '${target}': ${error.message}`, { cause: error, hint: error.hint });
    }
    throw error;
  }
}

/**
 * Saves a model atomically: never a partial file, never over an existing file
 * unless `force` is set. An unmodified loaded model saves back byte-identical.
 * The input model is never changed. Without `externalData`, tensors already
 * external keep their entries and are not copied.
 * @throws MlctlError MLCTL_TOO_LARGE over 2 GiB (use external data), MLCTL_OUTPUT_EXISTS, FileError;
 *   with `externalData`, also UnsafePathError, UsageError and the errors of reading the input's external data.
 */
export async function saveModel(model: ModelProto, target: string, options: SaveOptions = {}): Promise<SaveResult> {
  const writeOptions: AtomicWriteOptions = { force: options.force };
  if (options.externalData === undefined) {
    const encoded = encodeForSave(model, target);
    await writeFileAtomic(target, encoded.chunks, writeOptions);
    return { path: target, sizeBytes: encoded.byteLength };
  }
  const plan = await planExternalData(model, target, options.externalData, options.sourceDir);
  const encoded = encodeForSave(plan.model, target);
  if (plan.pieces.length === 0) {
    await writeFileAtomic(target, encoded.chunks, writeOptions);
    return { path: target, sizeBytes: encoded.byteLength };
  }
  // Check the model's own target first, so an existing file stops us before the data file is written.
  await assertWritable(target, writeOptions);
  await writeExternalDataFile(plan, writeOptions);
  try {
    await writeFileAtomic(target, encoded.chunks, writeOptions);
  } catch (error) {
    await unlink(plan.dataPath).catch(() => undefined);
    throw error;
  }
  return {
    path: target,
    sizeBytes: encoded.byteLength,
    externalData: { path: plan.dataPath, sizeBytes: plan.sizeBytes, tensorCount: plan.pieces.length },
  };
}
