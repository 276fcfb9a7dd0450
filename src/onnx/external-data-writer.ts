/**
 * Saving a model with its large tensors in one external data file
 * (ONNX docs/ExternalData.md): planning which tensors move and where, and
 * writing the data file atomically, streaming tensors that are already
 * external instead of buffering their files.
 */
import { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomicWith } from '../common/atomic-file.js';
import { MlctlError, UnsafePathError, UsageError } from '../common/errors.js';
import {
  checkExternalDataLocation,
  isExternalTensor,
  openExternalDataFile,
  readFully,
  resolveExternalData,
  type ExternalTensorData,
} from './external-data.js';
import { describeTensor, forEachTensorProto, mapTensorProtos, type TensorLocation } from './tensor-walk.js';
import { DataLocation, type ModelProto, type TensorProto } from './types.js';

/** How {@link planExternalData} lays tensors out in the data file. */
export interface ExternalDataSaveOptions {
  /** The data file's name, in the .onnx file's folder: a plain file name such as `model.onnx.data`. */
  location: string;
  /** Tensors with at least this many bytes of data move to the file (default 1024). */
  thresholdBytes?: number;
  /** Each tensor starts at a multiple of this many bytes (default 4096, the page size, so runtimes can mmap). */
  alignBytes?: number;
}

/** One tensor's bytes in the planned data file. */
type Piece =
  | { readonly offset: number; readonly bytes: Uint8Array }
  | { readonly offset: number; readonly source: ExternalTensorData; readonly label: string };

/** A model rewritten to reference the data file, and what the file must hold. */
export interface ExternalDataPlan {
  /** The model to encode: moved tensors carry location/offset/length entries. */
  readonly model: ModelProto;
  /** Absolute path of the data file. */
  readonly dataPath: string;
  readonly pieces: readonly Piece[];
  /** Size of the data file in bytes. */
  readonly sizeBytes: number;
}

const defaultThresholdBytes = 1024;
const defaultAlignBytes = 4096;
const copyBlockBytes = 8 * 1024 * 1024;

/** Graph initializers and the `value` of Constant nodes in graphs, the tensors runtimes load from external data. */
function isMovable(where: TensorLocation): boolean {
  if (where.role === 'initializer') return true;
  // Function bodies are left alone: runtimes inline them, and support for external data there is uneven.
  if (where.role !== 'attribute' || where.function !== undefined || where.attributeName !== 'value') return false;
  const domain = where.node?.domain ?? '';
  return where.node?.opType === 'Constant' && (domain === '' || domain === 'ai.onnx');
}

function checkOptions(options: ExternalDataSaveOptions, target: string): { threshold: number; align: number } {
  const { location } = options;
  checkExternalDataLocation(location, `the model saved to '${target}'`);
  if (/[\\/]/.test(location) || location === '.') {
    throw new UnsafePathError(`external data location '${location}' for '${target}' must be a plain file name in the model's folder`);
  }
  if (location === path.basename(target)) {
    throw new UsageError(`external data location '${location}' is the model file itself; choose another name, e.g. '${location}.data'`);
  }
  const threshold = options.thresholdBytes ?? defaultThresholdBytes;
  const align = options.alignBytes ?? defaultAlignBytes;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new UsageError(`external data threshold ${threshold} is not a non-negative whole number of bytes`);
  }
  if (!Number.isSafeInteger(align) || align < 1) {
    throw new UsageError(`external data alignment ${align} is not a positive whole number of bytes`);
  }
  return { threshold, align };
}

function externalEntries(location: string, offset: number, length: number): TensorProto['externalData'] {
  return [
    { key: 'location', value: location },
    { key: 'offset', value: String(offset) },
    { key: 'length', value: String(length) },
  ];
}

/**
 * Decides which tensors go to the data file and rewrites the model to point
 * at it; reads no tensor data. Tensors move when they are graph initializers
 * or Constant values whose `rawData` has at least `thresholdBytes` bytes
 * (tensors in typed fields such as `floatData` stay inline), and every tensor
 * already external moves too, wherever it is, read from `sourceDir`.
 * @param target the .onnx path the model will be saved to.
 * @param sourceDir folder the input's external data lives in; required when it has any.
 * @throws UnsafePathError for a location that is not a plain file name;
 *   UsageError for bad options; MlctlError MLCTL_BAD_INPUT when `sourceDir` is
 *   needed and missing; the errors of resolveExternalData for the input's external tensors.
 */
export async function planExternalData(
  model: ModelProto,
  target: string,
  options: ExternalDataSaveOptions,
  sourceDir: string | undefined,
): Promise<ExternalDataPlan> {
  const { threshold, align } = checkOptions(options, target);
  const moving: { tensor: TensorProto; where: TensorLocation }[] = [];
  forEachTensorProto(model, (tensor, where) => {
    if (isExternalTensor(tensor) || (isMovable(where) && tensor.rawData !== undefined && tensor.rawData.length >= threshold)) {
      moving.push({ tensor, where });
    }
  });

  const pieces: Piece[] = [];
  const replacements = new Map<TensorProto, TensorProto>();
  let end = 0;
  for (const { tensor, where } of moving) {
    if (replacements.has(tensor)) continue;
    const offset = Math.ceil(end / align) * align;
    let length: number;
    if (isExternalTensor(tensor)) {
      const label = describeTensor(tensor, where);
      if (sourceDir === undefined) {
        throw new MlctlError('MLCTL_BAD_INPUT', `cannot save ${label}: its data is external and no source folder was given`, {
          hint: 'pass sourceDir, the folder the model was loaded from',
        });
      }
      const source = await resolveExternalData(sourceDir, tensor, where);
      pieces.push({ offset, source, label });
      length = source.lengthBytes;
    } else {
      const bytes = tensor.rawData!;
      pieces.push({ offset, bytes });
      length = bytes.length;
    }
    const { rawData: _inline, ...rest } = tensor;
    replacements.set(tensor, { ...rest, externalData: externalEntries(options.location, offset, length), dataLocation: DataLocation.EXTERNAL });
    end = offset + length;
  }
  return {
    model: mapTensorProtos(model, (tensor) => replacements.get(tensor)),
    dataPath: path.join(path.dirname(path.resolve(target)), options.location),
    pieces,
    sizeBytes: end,
  };
}

async function writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Streams one already-external tensor from its checked source file into the data file. */
async function copyPiece(
  out: FileHandle,
  piece: { offset: number; source: ExternalTensorData; label: string },
  sources: Map<string, FileHandle>,
  buffer: Uint8Array,
): Promise<void> {
  const { source } = piece;
  let input = sources.get(source.file.path);
  if (input === undefined) {
    input = await openExternalDataFile(source.file, source.info.location, piece.label);
    sources.set(source.file.path, input);
  }
  for (let done = 0; done < source.lengthBytes; done += buffer.length) {
    const block = buffer.subarray(0, Math.min(buffer.length, source.lengthBytes - done));
    await readFully(input, block, source.offset + done, `the external data of ${piece.label}`);
    await writeAt(out, block, piece.offset + done);
  }
}

/**
 * Writes the plan's data file atomically: into a temporary file in the same
 * folder, flushed, then moved into place (no-clobber unless `force`). The
 * gaps between aligned tensors are left as zeros.
 * @throws MlctlError MLCTL_OUTPUT_EXISTS; FileError; the errors of reading already-external tensors.
 */
export async function writeExternalDataFile(plan: ExternalDataPlan, options: { force?: boolean } = {}): Promise<void> {
  const sources = new Map<string, FileHandle>();
  try {
    await writeFileAtomicWith(plan.dataPath, async (out) => {
      const buffer = plan.pieces.some((piece) => 'source' in piece) ? new Uint8Array(copyBlockBytes) : new Uint8Array(0);
      for (const piece of plan.pieces) {
        if ('bytes' in piece) await writeAt(out, piece.bytes, piece.offset);
        else await copyPiece(out, piece, sources, buffer);
      }
      await out.truncate(plan.sizeBytes);
    }, { ...options, what: 'external data file' });
  } finally {
    await Promise.all([...sources.values()].map((handle) => handle.close()));
  }
}
