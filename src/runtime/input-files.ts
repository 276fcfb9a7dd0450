/**
 * Real inputs from a folder (`--inputs <dir>` of `mlctl bench` and of
 * `mlctl quantize`'s verification): one file per model input, as a serialized ONNX TensorProto (`.pb`, the ONNX test-data
 * format), a NumPy array (`.npy`) or JSON (`.json`).
 *
 * A file belongs to the input named by, in order: the TensorProto's `name`
 * field (`.pb` only), its base name (`x.npy` → input `x`), or its position
 * (`input_0.pb` → the first input). Other files in the folder are ignored.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeError, FileError, MlctlError, withContext } from '../common/errors.js';
import { decodeMessage } from '../onnx/codec.js';
import { dataTypeInfo } from '../onnx/dtypes.js';
import { encodeFloat16 } from '../onnx/float-formats.js';
import { tensorData } from '../onnx/tensor.js';
import type { TensorProto } from '../onnx/types.js';
import { parseNpy } from './npy.js';
import type { HostTensor, IoMeta, TensorDtype } from './types.js';

const extensions = ['.pb', '.npy', '.json'];

/** Element types a `.pb` tensor can be fed as (others have no host representation in the runtime adapter). */
const feedableDtypes: ReadonlySet<string> = new Set<TensorDtype>([
  'float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string',
]);

function badInput(message: string): MlctlError {
  return new MlctlError('MLCTL_BAD_INPUT', message);
}

/** A TensorProto from a `.pb` file as a host tensor. */
export function tensorProtoToHost(tensor: TensorProto): HostTensor {
  const info = dataTypeInfo(tensor.dataType ?? 0);
  if (!feedableDtypes.has(info.name)) {
    throw new MlctlError('MLCTL_UNSUPPORTED', `tensor type ${info.name} cannot be fed as a model input`);
  }
  const dims = tensor.dims.map(Number);
  const values = tensorData(tensor);
  if (Array.isArray(values)) {
    const decoder = new TextDecoder();
    return { dtype: 'string', dims, data: values.map((bytes) => decoder.decode(bytes)) };
  }
  return { dtype: info.name as TensorDtype, dims, data: values as HostTensor['data'] };
}

type NestedValues = number | boolean | string | NestedValues[];

function flatten(values: NestedValues, dims: number[], depth: number, out: (number | boolean | string)[]): void {
  if (!Array.isArray(values)) {
    out.push(values);
    return;
  }
  if (dims.length === depth) dims.push(values.length);
  else if (dims[depth] !== values.length) throw badInput(`nested arrays are ragged at depth ${depth} (${values.length} values where ${dims[depth]} were expected)`);
  for (const value of values) flatten(value, dims, depth + 1, out);
}

function jsonData(dtype: TensorDtype, values: readonly (number | boolean | string)[]): HostTensor['data'] {
  const number = (value: number | boolean | string): number => {
    const result = typeof value === 'boolean' ? Number(value) : Number(value);
    if (Number.isNaN(result) && value !== 'NaN') throw badInput(`'${String(value)}' is not a number`);
    return result;
  };
  const bigint = (value: number | boolean | string): bigint => {
    try {
      return BigInt(typeof value === 'boolean' ? Number(value) : value);
    } catch {
      throw badInput(`'${String(value)}' is not an integer`);
    }
  };
  switch (dtype) {
    case 'float32': return Float32Array.from(values, number);
    case 'float64': return Float64Array.from(values, number);
    case 'float16': return Uint16Array.from(values, (value) => encodeFloat16(number(value)));
    case 'int8': return Int8Array.from(values, number);
    case 'uint8': return Uint8Array.from(values, number);
    case 'bool': return Uint8Array.from(values, (value) => (number(value) !== 0 ? 1 : 0));
    case 'int16': return Int16Array.from(values, number);
    case 'uint16': return Uint16Array.from(values, number);
    case 'int32': return Int32Array.from(values, number);
    case 'uint32': return Uint32Array.from(values, number);
    case 'int64': return BigInt64Array.from(values, bigint);
    case 'uint64': return BigUint64Array.from(values, bigint);
    case 'string': return values.map(String);
    default: throw new MlctlError('MLCTL_UNSUPPORTED', `JSON inputs of type ${dtype} are not supported`);
  }
}

/**
 * Parses a JSON input: either `{"dims": [...], "data": [...]}` (flat data,
 * optional `"dtype"`) or a nested array whose nesting gives the dims. The
 * element type defaults to the model input's.
 */
export function parseJsonInput(text: string, expected: IoMeta): HostTensor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw badInput(`it is not valid JSON (${describeError(error)})`);
  }
  const modelDtype = expected.dtype === 'non-tensor' ? undefined : expected.dtype;
  let dtype: string | undefined = modelDtype;
  const dims: number[] = [];
  const flat: (number | boolean | string)[] = [];
  if (Array.isArray(parsed)) {
    flatten(parsed as NestedValues[], dims, 0, flat);
  } else if (typeof parsed === 'object' && parsed !== null && 'data' in parsed && Array.isArray(parsed.data)) {
    const object = parsed as { dims?: unknown; data: unknown[]; dtype?: unknown };
    if (object.dtype !== undefined) dtype = String(object.dtype);
    const givenDims = object.dims ?? [object.data.length];
    if (!Array.isArray(givenDims) || !givenDims.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0)) {
      throw badInput(`"dims" must be a list of non-negative integers`);
    }
    dims.push(...(givenDims as number[]));
    flatten(object.data as NestedValues[], [], 0, flat);
  } else {
    throw badInput('expected a nested array or an object with "dims" and "data"');
  }
  if (dtype === undefined) throw badInput('set "dtype": the model does not say which element type this input takes');
  const count = dims.reduce((product, dim) => product * dim, 1);
  if (flat.length !== count) throw badInput(`dims [${dims.join(', ')}] need ${count} values, but "data" has ${flat.length}`);
  return { dtype: dtype as TensorDtype, dims, data: jsonData(dtype as TensorDtype, flat) };
}

/** Reads one candidate file; resolves to the tensor and, for `.pb`, the name stored in it. */
async function readInputFile(file: string, jsonInput: IoMeta | undefined): Promise<{ name: string | undefined; tensor: HostTensor }> {
  const bytes = await readFile(file).catch((error: unknown) => {
    throw new FileError(`cannot read input file '${file}': ${describeError(error)}`, { cause: error });
  });
  const extension = path.extname(file).toLowerCase();
  try {
    if (extension === '.pb') {
      const proto = decodeMessage<TensorProto>('TensorProto', new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      const name = proto.name !== undefined && proto.name !== '' ? proto.name : undefined;
      return { name, tensor: tensorProtoToHost(proto) };
    }
    if (extension === '.npy') return { name: undefined, tensor: parseNpy(bytes, file) };
    if (jsonInput === undefined) throw new Error(`no model input for JSON file ${file}`);
    return { name: undefined, tensor: parseJsonInput(bytes.toString('utf8'), jsonInput) };
  } catch (error) {
    if (error instanceof MlctlError) throw withContext(error, `input file '${file}': `);
    throw error;
  }
}

/** Refuses a tensor whose rank or fixed dimensions differ from the model input's, naming the file. */
function checkDims(tensor: HostTensor, input: IoMeta, file: string): void {
  if (input.dtype === 'non-tensor') return;
  const modelShape = `[${input.shape.map((dim) => dim ?? '?').join(', ')}]`;
  const fileShape = `[${tensor.dims.join(', ')}]`;
  const fits = tensor.dims.length === input.shape.length
    && input.shape.every((dim, axis) => typeof dim !== 'number' || dim === tensor.dims[axis]);
  if (!fits) throw badInput(`input file '${file}' has shape ${fileShape}, but input '${input.name}' takes ${modelShape}`);
}

/** Feeds and where each came from. */
export interface FileFeeds {
  feeds: Record<string, HostTensor>;
  /** Input name → file path. */
  sources: Record<string, string>;
}

/**
 * Reads one file per model input from `dir` (see the module comment).
 * @throws MlctlError MLCTL_BAD_INPUT when an input has no file, two files claim
 *   one input, a file's element type differs from the input's, or a file is malformed;
 *   FileError when the folder or a file cannot be read.
 */
export async function readInputDir(dir: string, inputs: readonly IoMeta[]): Promise<FileFeeds> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    throw new FileError(`cannot read the inputs folder '${dir}': ${describeError(error)}`, { cause: error });
  });
  const byName = new Map(inputs.map((input) => [input.name, input]));
  const byBase = (base: string | undefined): IoMeta | undefined => {
    if (base === undefined) return undefined;
    const direct = byName.get(base);
    if (direct !== undefined) return direct;
    const position = /^input_(\d+)$/.exec(base);
    return position === null ? undefined : inputs[Number(position[1])];
  };
  const feeds: Record<string, HostTensor> = {};
  const sources: Record<string, string> = {};
  const files = entries
    .filter((entry) => entry.isFile() && extensions.includes(path.extname(entry.name).toLowerCase()))
    .map((entry) => path.join(dir, entry.name))
    .sort();
  for (const file of files) {
    const base = path.basename(file, path.extname(file));
    const isJson = path.extname(file).toLowerCase() === '.json';
    // A JSON file needs its input's element type to be read; one that names no input is not ours.
    if (isJson && byBase(base) === undefined) continue;
    const { name, tensor } = await readInputFile(file, isJson ? byBase(base) : undefined);
    const input = name !== undefined && byName.has(name) ? byName.get(name) : byBase(base);
    if (input === undefined) continue;
    const previous = sources[input.name];
    if (previous !== undefined) throw badInput(`input '${input.name}' has two files in '${dir}': '${previous}' and '${file}'`);
    if (input.dtype !== 'non-tensor' && tensor.dtype !== input.dtype) {
      throw badInput(`input file '${file}' holds ${tensor.dtype} values, but input '${input.name}' takes ${input.dtype}`);
    }
    checkDims(tensor, input, file);
    feeds[input.name] = tensor;
    sources[input.name] = file;
  }
  const missing = inputs.filter((input) => sources[input.name] === undefined);
  if (missing.length > 0) {
    throw new MlctlError('MLCTL_BAD_INPUT', `the inputs folder '${dir}' has no file for input ${missing.map((input) => `'${input.name}'`).join(', ')}`, {
      hint: `name the files after the inputs (${missing.map((input) => `${input.name}.npy`).join(', ')}), or input_<position>.pb; .pb, .npy and .json are read`,
    });
  }
  return { feeds, sources };
}
