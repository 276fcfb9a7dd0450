/**
 * Handing a model held in memory to onnxruntime. One that fits in protobuf's
 * 2 GiB goes as serialized bytes; a larger one (a model whose weights were
 * read in from external data) is saved, its tensors in one external data
 * file, into a private temporary folder, and onnxruntime loads that path:
 * onnxruntime-node passes a path to the native `InferenceSession` as a file
 * name, and onnxruntime (1.30) resolves each tensor's external data location
 * against the folder of that file, refusing one that escapes it
 * (`ValidateExternalDataPathFromDir`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MAX_PROTOBUF_BYTES } from '../onnx/codec.js';
import { isExternalTensor } from '../onnx/external-data.js';
import { saveModel, serializedModelSize, serializeModel } from '../onnx/model-io.js';
import { forEachTensorProto } from '../onnx/tensor-walk.js';
import type { ModelProto } from '../onnx/types.js';

/** Prefix of the temporary folders under `os.tmpdir()` that {@link toRuntimeInput} makes. */
export const RUNTIME_TEMP_PREFIX = 'mlctl-runtime-';

/** A model as `createSession` takes it, and the temporary files to remove once the session is released. */
export interface RuntimeInput {
  /** Serialized bytes, or the path of a model file (its external data beside it). */
  readonly model: string | Uint8Array;
  /** The temporary folder holding `model` and its data file; undefined when nothing was written. */
  readonly tempDir: string | undefined;
  /**
   * Removes the temporary folder, if any; safe to call more than once. Call it
   * in a `finally` after the session using `model` is released: onnxruntime
   * may map the data file while the session lives.
   */
  dispose(): Promise<void>;
}

/** Options of {@link toRuntimeInput}. */
export interface RuntimeInputOptions {
  /** Largest serialized size, in bytes, handed over as bytes (default protobuf's limit, 2 GiB − 1); tests lower it. */
  limitBytes?: number;
  /** Folder the model's still-external tensors are read from (`LoadedModel.dir`); such a model always goes as a file. */
  sourceDir?: string;
}

const nothingToDispose = (): Promise<void> => Promise.resolve();

/** A model onnxruntime can load as it is: bytes, or a file on disk (the original model, unchanged); disposes nothing. */
export function existingRuntimeInput(model: string | Uint8Array): RuntimeInput {
  return { model, tempDir: undefined, dispose: nothingToDispose };
}

function hasExternalTensors(model: ModelProto): boolean {
  let found = false;
  forEachTensorProto(model, (tensor) => {
    found ||= isExternalTensor(tensor);
  });
  return found;
}

/**
 * `model` as onnxruntime can load it (see the module comment). Its size is
 * computed without serializing it; only a model over `limitBytes` (or with
 * external tensors) is written, to a folder made with `fs.mkdtemp` under
 * `os.tmpdir()`, removed again if saving fails. The model is not changed.
 * @throws the errors of `saveModel` (FileError when the temporary folder is full or unwritable).
 */
export async function toRuntimeInput(model: ModelProto, options: RuntimeInputOptions = {}): Promise<RuntimeInput> {
  const limitBytes = options.limitBytes ?? MAX_PROTOBUF_BYTES;
  if (!hasExternalTensors(model) && serializedModelSize(model) <= limitBytes) return existingRuntimeInput(serializeModel(model));
  const tempDir = await mkdtemp(path.join(os.tmpdir(), RUNTIME_TEMP_PREFIX));
  let removed: Promise<void> | undefined;
  const dispose = (): Promise<void> => (removed ??= rm(tempDir, { recursive: true, force: true }));
  try {
    const file = path.join(tempDir, 'model.onnx');
    await saveModel(model, file, {
      externalData: { location: 'model.onnx.data' },
      ...(options.sourceDir === undefined ? {} : { sourceDir: options.sourceDir }),
    });
    return { model: file, tempDir, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/**
 * Runs `use` on `model` as onnxruntime can load it ({@link toRuntimeInput}),
 * removing any temporary files afterwards, whether `use` succeeds or throws.
 * `use` must release every session it creates before it settles.
 */
export async function withRuntimeInput<T>(model: ModelProto, use: (model: string | Uint8Array) => Promise<T>, options: RuntimeInputOptions = {}): Promise<T> {
  const input = await toRuntimeInput(model, options);
  try {
    return await use(input.model);
  } finally {
    await input.dispose();
  }
}
