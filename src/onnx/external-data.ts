/**
 * External data (ONNX docs/ExternalData.md): tensors whose bytes live in a
 * separate file next to the .onnx file, described by `external_data` entries
 * (`location`, `offset`, `length`, `checksum`) with `data_location = EXTERNAL`.
 *
 * A location comes from an untrusted file, so it is checked before any byte
 * is read: path traversal (CVE-2022-25882, CVE-2024-27318) and the later
 * variants through symbolic and hard links must not let a model read files
 * outside its own folder. Data is read lazily, one tensor at a time, with
 * positioned reads: data files may exceed 2 GiB, which `readFile` refuses.
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants as fsConstants, type BigIntStats } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { describeSystemError } from '../common/atomic-file.js';
import { FileError, MlctlError, ModelFormatError, UnsafePathError } from '../common/errors.js';
import { MAX_PROTOBUF_BYTES } from './codec.js';
import { dataTypeInfo, dataTypeName, isKnownDataType } from './dtypes.js';
import type { LoadedModel } from './model-io.js';
import { describeTensor, forEachTensorProto, mapTensorProtos, type TensorLocation } from './tensor-walk.js';
import { DataLocation, DataType, type ModelProto, type TensorProto } from './types.js';

/** A tensor's parsed `external_data` entries. */
export interface ExternalDataInfo {
  /** Path of the data file, relative to the model's folder, as written in the model. */
  readonly location: string;
  /** Where the tensor's bytes start in the file (default 0). */
  readonly offset: bigint;
  /** How many bytes the tensor has; undefined when the model leaves it out. */
  readonly length: bigint | undefined;
  /** The SHA-1 digest the model claims for the whole file; not verified by mlctl. */
  readonly checksum: string | undefined;
}

/** A data file that passed the path checks of {@link resolveExternalDataPath}. */
export interface ResolvedExternalFile {
  /** Absolute path of the file. */
  readonly path: string;
  readonly sizeBytes: bigint;
  /** Identity of the checked file, to detect a swap between the check and the open. */
  readonly dev: bigint;
  readonly ino: bigint;
}

/** A tensor's external bytes: the checked file and the byte range in it. */
export interface ExternalTensorData {
  readonly info: ExternalDataInfo;
  readonly file: ResolvedExternalFile;
  readonly offset: number;
  readonly lengthBytes: number;
}

/** One data file of a model, as {@link validateExternalData} reports it. */
export interface ExternalDataFile {
  /** The location as written in the model (the first spelling met, for files named several ways). */
  readonly location: string;
  /** Absolute path of the file. */
  readonly path: string;
  /** Names of the tensors stored in it (paths for unnamed ones), in model order. */
  readonly tensors: string[];
  /** Bytes of tensor data the model reads from it. */
  readonly bytes: number;
  readonly sizeBytes: number;
}

const allowedKeys = new Set(['location', 'offset', 'length', 'checksum']);

/** True when the tensor's data is stored in an external file (`data_location = EXTERNAL`). */
export function isExternalTensor(tensor: TensorProto): boolean {
  return tensor.dataLocation === DataLocation.EXTERNAL;
}

/** Quotes a location for a message, showing control characters (a NUL byte) as escapes. */
function quote(location: string): string {
  return `'${location.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}

function parseByteCount(value: string, key: string, label: string): bigint {
  // Only plain decimal digits: BigInt() alone would accept '0x10' and ' 1', Number() '1e3'.
  if (!/^[0-9]+$/.test(value)) {
    throw new ModelFormatError(`${label} has external data ${key} ${quote(value)}; expected a non-negative decimal integer`);
  }
  return BigInt(value);
}

/**
 * Parses a tensor's `external_data` entries. Only the keys ONNX defines are
 * accepted (ONNX Runtime refuses others too); `offset` and `length` must be
 * plain non-negative decimal integers.
 * @throws ModelFormatError for an unknown or repeated key, a missing
 *   location, or a malformed offset or length.
 */
export function parseExternalDataInfo(tensor: TensorProto, where?: TensorLocation): ExternalDataInfo {
  const label = describeTensor(tensor, where);
  const values = new Map<string, string>();
  for (const entry of tensor.externalData) {
    const key = entry.key ?? '';
    if (!allowedKeys.has(key)) {
      throw new ModelFormatError(`${label} has the unknown external data key ${quote(key)}; expected only location, offset, length and checksum`);
    }
    if (values.has(key)) throw new ModelFormatError(`${label} gives the external data key '${key}' more than once`);
    values.set(key, entry.value ?? '');
  }
  const location = values.get('location');
  if (location === undefined) throw new ModelFormatError(`${label} is stored externally but has no external data 'location'`);
  const offset = values.get('offset');
  const length = values.get('length');
  return {
    location,
    offset: offset === undefined ? 0n : parseByteCount(offset, 'offset', label),
    length: length === undefined ? undefined : parseByteCount(length, 'length', label),
    checksum: values.get('checksum'),
  };
}

function unsafe(location: string, label: string, problem: string): UnsafePathError {
  return new UnsafePathError(`external data location ${quote(location)} of ${label} ${problem}`);
}

/** Splits a location into its path components, treating `/` and `\` both as separators. */
function locationParts(location: string): string[] {
  return location.split(/[\\/]/).filter((part) => part !== '' && part !== '.');
}

/**
 * The rules on a location that need no file system: not empty, no NUL byte,
 * not absolute (POSIX `/x`, Windows `C:\x`, `C:x`, `\x`, `\\server\x`), no
 * `..` component (with `/` or `\` as separator, so a model made safe on one
 * system is safe on the other).
 * @throws UnsafePathError
 */
export function checkExternalDataLocation(location: string, label = 'a tensor'): void {
  if (location === '') throw unsafe(location, label, "is empty; expected a file name relative to the model's folder");
  if (location.includes('\0')) throw unsafe(location, label, 'contains a NUL byte');
  if (path.posix.isAbsolute(location) || path.win32.isAbsolute(location) || /^[A-Za-z]:/.test(location)) {
    throw unsafe(location, label, "is an absolute path; expected a path relative to the model's folder");
  }
  // Windows path normalisation trims trailing dots and spaces, so '.. ' or '...' may read as '..' there.
  if (location.split(/[\\/]/).some((part) => /^\.\.[. ]*$/.test(part))) {
    throw unsafe(location, label, "contains a '..' component; external data must stay inside the model's folder");
  }
  if (locationParts(location).length === 0) throw unsafe(location, label, 'names the model\'s folder itself, not a file');
}

function fileKind(stats: BigIntStats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function isInside(folder: string, file: string): boolean {
  const relative = path.relative(folder, file);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

/**
 * Resolves a location against the model's folder and checks, without reading
 * or opening the file, that it is a regular file inside that folder: the
 * rules of {@link checkExternalDataLocation}, then no component below
 * `modelDir` is a symbolic link, the file is a regular file (not a directory,
 * FIFO, socket or device) with a single hard link, and its real path lies
 * inside the real path of `modelDir`.
 * @param label how to name the tensor in messages (`tensor 'W'`).
 * @throws UnsafePathError when a rule is broken; FileError when the file is missing or unreadable.
 */
export async function resolveExternalDataPath(modelDir: string, location: string, label = 'a tensor'): Promise<ResolvedExternalFile> {
  checkExternalDataLocation(location, label);
  const root = path.resolve(modelDir);
  const parts = locationParts(location);
  const cannotRead = (error: unknown): FileError => {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' || code === 'ENOTDIR' ? `no such file in '${root}'` : describeSystemError(error);
    return new FileError(`cannot read external data file ${quote(location)} of ${label}: ${reason}`, { cause: error });
  };
  let current = root;
  let stats: BigIntStats | undefined;
  for (const [index, part] of parts.entries()) {
    current = path.join(current, part);
    stats = await lstat(current, { bigint: true }).catch((error: unknown) => {
      throw cannotRead(error);
    });
    if (stats.isSymbolicLink()) {
      throw unsafe(location, label, index === parts.length - 1
        ? "is a symbolic link; external data must be a regular file inside the model's folder"
        : `passes through the symbolic link '${parts.slice(0, index + 1).join('/')}'; external data must be a regular file inside the model's folder`);
    }
  }
  if (stats === undefined) throw unsafe(location, label, "names the model's folder itself, not a file");
  if (!stats.isFile()) throw unsafe(location, label, `is ${fileKind(stats)}, not a regular file`);
  if (stats.nlink > 1n) {
    throw unsafe(location, label, `is a file with ${stats.nlink} hard links; a hard link may alias a file outside the model's folder, so external data files must have exactly one`);
  }
  const [realRoot, realFile] = await Promise.all([realpath(root), realpath(current)]).catch((error: unknown) => {
    throw cannotRead(error);
  });
  if (!isInside(realRoot, realFile)) {
    throw unsafe(location, label, `resolves to '${realFile}', outside the model's folder '${realRoot}'`);
  }
  return { path: current, sizeBytes: stats.size, dev: stats.dev, ino: stats.ino };
}

/**
 * Bytes a tensor's data must have, from its dims and data type; undefined
 * when the type has no fixed size known to mlctl.
 * @throws ModelFormatError for a negative dimension or a STRING tensor (which cannot be stored externally).
 */
export function expectedDataBytes(tensor: TensorProto, where?: TensorLocation): bigint | undefined {
  let count = 1n;
  for (const dim of tensor.dims) {
    if (dim < 0n) throw new ModelFormatError(`${describeTensor(tensor, where)} has the negative dimension ${dim}`);
    count *= dim;
  }
  const dataType = tensor.dataType;
  if (dataType === DataType.STRING) {
    throw new ModelFormatError(`${describeTensor(tensor, where)} is a STRING tensor stored externally; strings cannot be stored as raw bytes`);
  }
  if (dataType === undefined || !isKnownDataType(dataType)) return undefined;
  const bits = dataTypeInfo(dataType).bitsPerElement;
  if (bits === undefined) return undefined;
  // In bigint, like byteSizeOf but without its 2^53 limit: dims in a hostile file can be anything.
  return (count * BigInt(bits) + 7n) / 8n;
}

function checkRange(tensor: TensorProto, where: TensorLocation | undefined, info: ExternalDataInfo, file: ResolvedExternalFile): ExternalTensorData {
  const label = describeTensor(tensor, where);
  const expected = expectedDataBytes(tensor, where);
  // Without a length, a runtime reads as many bytes as the shape needs (or the rest of the file).
  const length = info.length ?? expected ?? (info.offset <= file.sizeBytes ? file.sizeBytes - info.offset : 0n);
  if (info.offset + length > file.sizeBytes) {
    throw unsafe(info.location, label, `is ${file.sizeBytes} bytes long, but the tensor's data (offset ${info.offset}, length ${length}) runs past its end`);
  }
  if (expected !== undefined && length !== expected) {
    throw new ModelFormatError(
      `${label} has ${length} bytes of external data, but its shape [${tensor.dims.join(', ')}] of ${dataTypeName(tensor.dataType)} needs ${expected}`,
    );
  }
  return { info, file, offset: Number(info.offset), lengthBytes: Number(length) };
}

/**
 * Everything about one external tensor, checked: its entries, its file's
 * path safety, and that its byte range lies inside the file and matches its
 * shape. Opens nothing and reads nothing.
 * @throws UnsafePathError, ModelFormatError, FileError
 */
export async function resolveExternalData(modelDir: string, tensor: TensorProto, where?: TensorLocation): Promise<ExternalTensorData> {
  const info = parseExternalDataInfo(tensor, where);
  const file = await resolveExternalDataPath(modelDir, info.location, describeTensor(tensor, where));
  return checkRange(tensor, where, info, file);
}

interface ExternalTensorRecord extends ExternalTensorData {
  readonly tensor: TensorProto;
  readonly where: TensorLocation;
}

/** Checks every external tensor of a model, each file once; opens nothing. */
async function collectExternalTensors(model: ModelProto, modelDir: string): Promise<ExternalTensorRecord[]> {
  const found: { tensor: TensorProto; where: TensorLocation; info: ExternalDataInfo }[] = [];
  forEachTensorProto(model, (tensor, where) => {
    if (!isExternalTensor(tensor)) return;
    const info = parseExternalDataInfo(tensor, where);
    checkExternalDataLocation(info.location, describeTensor(tensor, where));
    found.push({ tensor, where, info });
  });
  const files = new Map<string, ResolvedExternalFile>();
  const records: ExternalTensorRecord[] = [];
  for (const { tensor, where, info } of found) {
    const key = locationParts(info.location).join('/');
    let file = files.get(key);
    if (file === undefined) {
      file = await resolveExternalDataPath(modelDir, info.location, describeTensor(tensor, where));
      files.set(key, file);
    }
    records.push({ tensor, where, ...checkRange(tensor, where, info, file) });
  }
  return records;
}

/**
 * Checks every external tensor of `model` (see {@link resolveExternalData})
 * without reading any data, and lists the data files it uses.
 * @param modelDir the folder the model file is in.
 * @throws UnsafePathError, ModelFormatError, FileError for the first tensor that fails.
 */
export async function validateExternalData(model: ModelProto, modelDir: string): Promise<ExternalDataFile[]> {
  const byPath = new Map<string, { location: string; path: string; tensors: string[]; bytes: number; sizeBytes: number }>();
  for (const record of await collectExternalTensors(model, modelDir)) {
    let entry = byPath.get(record.file.path);
    if (entry === undefined) {
      entry = { location: record.info.location, path: record.file.path, tensors: [], bytes: 0, sizeBytes: Number(record.file.sizeBytes) };
      byPath.set(record.file.path, entry);
    }
    entry.tensors.push(record.tensor.name !== undefined && record.tensor.name !== '' ? record.tensor.name : record.where.path);
    entry.bytes += record.lengthBytes;
  }
  return [...byPath.values()];
}

/**
 * Opens a checked data file for reading, refusing if what is opened is not
 * the file that was checked (swapped for a link, FIFO or other file since).
 * @throws UnsafePathError, FileError
 */
export async function openExternalDataFile(file: ResolvedExternalFile, location: string, label: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO swapped in after the check must not hang.
    handle = await open(file.path, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw unsafe(location, label, 'became a symbolic link while being checked');
    throw new FileError(`cannot open external data file ${quote(location)} of ${label}: ${describeSystemError(error)}`, { cause: error });
  }
  const stats = await handle.stat({ bigint: true });
  if (!stats.isFile() || stats.dev !== file.dev || stats.ino !== file.ino || stats.nlink > 1n) {
    await handle.close();
    throw unsafe(location, label, 'changed while being checked; refusing to read it');
  }
  return handle;
}

/** Reads `length` bytes at `position` into `target` (FileHandle.read may return fewer). */
export async function readFully(handle: FileHandle, target: Uint8Array, position: number, what: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new FileError(`cannot read ${what}: the file ended early (was it truncated while reading?)`);
    done += bytesRead;
  }
}

async function readRecord(handle: FileHandle, data: ExternalTensorData, label: string): Promise<Uint8Array> {
  if (data.lengthBytes > bufferConstants.MAX_LENGTH) {
    throw new MlctlError('MLCTL_TOO_LARGE', `the external data of ${label} is ${data.lengthBytes} bytes, more than one buffer can hold`);
  }
  const bytes = new Uint8Array(data.lengthBytes);
  await readFully(handle, bytes, data.offset, `the external data of ${label} from ${quote(data.info.location)}`);
  return bytes;
}

function noBaseDir(label: string): MlctlError {
  return new MlctlError('MLCTL_BAD_INPUT', `cannot read the external data of ${label}: the model was loaded from bytes, so the folder of its data files is unknown`, {
    hint: 'pass the folder the model file came from as baseDir',
  });
}

/**
 * Reads exactly one external tensor's bytes, after the checks of
 * {@link resolveExternalData}, with a positioned read (never the whole file).
 * @param modelDir the model's folder (`LoadedModel.dir`); required.
 * @throws MlctlError MLCTL_BAD_INPUT without a folder; UnsafePathError, ModelFormatError, FileError.
 */
export async function readExternalData(tensor: TensorProto, modelDir: string | undefined, where?: TensorLocation): Promise<Uint8Array> {
  const label = describeTensor(tensor, where);
  if (!isExternalTensor(tensor)) throw new ModelFormatError(`${label} is not stored as external data`);
  if (modelDir === undefined) throw noBaseDir(label);
  const data = await resolveExternalData(modelDir, tensor, where);
  const handle = await openExternalDataFile(data.file, data.info.location, label);
  try {
    return await readRecord(handle, data, label);
  } finally {
    await handle.close();
  }
}

/** Options of {@link loadExternalDataInline}. */
export interface InlineOptions {
  /** Folder of the data files; defaults to `loaded.dir`, and is required for a model loaded from bytes. */
  baseDir?: string;
  /**
   * Allow a result over protobuf's 2 GiB limit (default false). Such a model
   * lives in memory only: it cannot be serialized as one message, so save it
   * with external data (`saveModel(..., { externalData })`) to write it or
   * hand it to onnxruntime. The caller bounds the memory it takes.
   */
  allowOverProtobufLimit?: boolean;
}

/**
 * A new model with the data of every external tensor read into `rawData`
 * (`externalData` emptied, `dataLocation` removed). Every tensor is checked
 * before any byte is read. `loaded.model` is not changed.
 * @throws MlctlError MLCTL_TOO_LARGE when the result would exceed protobuf's
 *   2 GiB limit (unless `allowOverProtobufLimit`) or a tensor is larger than
 *   one buffer can hold; MLCTL_BAD_INPUT without a folder; UnsafePathError, ModelFormatError, FileError.
 */
export async function loadExternalDataInline(loaded: LoadedModel, options: InlineOptions = {}): Promise<ModelProto> {
  let firstExternal: TensorProto | undefined;
  forEachTensorProto(loaded.model, (tensor) => {
    if (firstExternal === undefined && isExternalTensor(tensor)) firstExternal = tensor;
  });
  if (firstExternal === undefined) return loaded.model;
  const dir = options.baseDir ?? loaded.dir;
  if (dir === undefined) throw noBaseDir(describeTensor(firstExternal));

  const records = await collectExternalTensors(loaded.model, dir);
  const totalBytes = records.reduce((sum, record) => sum + record.lengthBytes, loaded.sizeBytes);
  if (totalBytes > MAX_PROTOBUF_BYTES && options.allowOverProtobufLimit !== true) {
    throw new MlctlError('MLCTL_TOO_LARGE', `with its external data inlined, '${loaded.path ?? 'the model'}' would be over ${totalBytes} bytes, above protobuf's 2 GiB limit`, {
      hint: 'keep the weights in external data files',
    });
  }
  const handles = new Map<string, FileHandle>();
  const dataByTensor = new Map<TensorProto, Uint8Array>();
  try {
    for (const record of records) {
      const label = describeTensor(record.tensor, record.where);
      let handle = handles.get(record.file.path);
      if (handle === undefined) {
        handle = await openExternalDataFile(record.file, record.info.location, label);
        handles.set(record.file.path, handle);
      }
      dataByTensor.set(record.tensor, await readRecord(handle, record, label));
    }
  } finally {
    await Promise.all([...handles.values()].map((handle) => handle.close()));
  }
  return mapTensorProtos(loaded.model, (tensor) => {
    const rawData = dataByTensor.get(tensor);
    if (rawData === undefined) return undefined;
    const { dataLocation: _external, ...rest } = tensor;
    return { ...rest, rawData, externalData: [] };
  });
}
