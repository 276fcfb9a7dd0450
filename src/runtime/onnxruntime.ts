/**
 * The runtime adapter's implementation over onnxruntime-node: the only module
 * in mlctl that imports it. Everything else sees the interfaces in types.ts.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describeError, MlctlError } from '../common/errors.js';
import type {
  ExecutionProviderName,
  HostTensor,
  IoMeta,
  ProviderStatus,
  RuntimeLogLevel,
  RuntimeSession,
  SessionOptions,
  TensorData,
  TensorDtype,
} from './types.js';

const hostDtypes: ReadonlySet<string> = new Set<TensorDtype>([
  'float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32',
  'int64', 'uint64', 'bool', 'string', 'int4', 'uint4',
]);

const logSeverity: Record<RuntimeLogLevel, 0 | 1 | 2 | 3 | 4> = { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 };

/** Native provider libraries that onnxruntime-node downloads at install time instead of bundling them. */
const providerLibraries: Partial<Record<string, Partial<Record<NodeJS.Platform, string>>>> = {
  cuda: { linux: 'libonnxruntime_providers_cuda.so', win32: 'onnxruntime_providers_cuda.dll' },
  tensorrt: { linux: 'libonnxruntime_providers_tensorrt.so', win32: 'onnxruntime_providers_tensorrt.dll' },
};

/** npm's install-time switch that makes onnxruntime-node fetch its CUDA 12 provider libraries. */
export const CUDA_INSTALL_COMMAND = 'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node';

/** Runtime error texts that mean the provider (or the driver, toolkit or device under it) is missing. */
const providerMissingPatterns = [
  /failed to load (shared )?library/i,
  /cannot open shared object file/i,
  /libcudart|libcudnn|libcublas|libnvinfer/i,
  /no CUDA-capable device|CUDA driver version is insufficient|cudaErrorNoDevice/i,
  /failed to get a WebGPU adapter/i,
];

function platformLabel(): string {
  return `${process.platform}/${process.arch}`;
}

/** The folder holding onnxruntime-node's native binding for this platform. */
function bindingFolder(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** How to make a provider's library present, for the reason text. */
function installAdvice(name: string): string {
  if (name === 'cuda' || name === 'tensorrt') return `; install it with \`${CUDA_INSTALL_COMMAND}\``;
  return '';
}

/** What else the provider needs on the machine, for the hint line. */
function providerHint(name: string): string {
  if (name === 'cuda') return 'the CUDA build also needs CUDA 12 and cuDNN 9 on the machine; the cpu provider needs nothing';
  if (name === 'tensorrt') return 'the TensorRT provider also needs CUDA 12, cuDNN 9 and TensorRT 10 on the machine; the cpu provider needs nothing';
  return 'the cpu provider runs everywhere';
}

/**
 * Every execution provider the installed onnxruntime-node build lists, and
 * whether its native library is really present. cuda and tensorrt are listed
 * even when their libraries were never downloaded (onnxruntime-node marks them
 * not bundled); they count as available only when the library file exists.
 * Availability does not prove a usable device: createSession still fails with
 * MLCTL_EP_UNAVAILABLE when the driver or hardware is missing.
 */
export function providerStatuses(): ProviderStatus[] {
  const folder = bindingFolder();
  return ort.listSupportedBackends().map(({ name, bundled }): ProviderStatus => {
    if (bundled) return { name, available: true };
    const library = providerLibraries[name]?.[process.platform];
    if (library !== undefined && existsSync(path.join(folder, library))) return { name, available: true };
    return {
      name,
      available: false,
      reason: `onnxruntime-node ${ort.env.versions.node} for ${platformLabel()} was installed without its '${name}' provider library${installAdvice(name)}`,
    };
  });
}

/** Names of the execution providers whose native libraries the installed build has (see providerStatuses()). */
export function availableProviders(): string[] {
  return providerStatuses().filter((status) => status.available).map((status) => status.name);
}

function checkProvider(provider: string, label: string): void {
  if (provider === 'cpu') return;
  const status = providerStatuses().find((s) => s.name === provider);
  if (status === undefined) {
    throw new MlctlError('MLCTL_EP_UNAVAILABLE', `cannot run '${label}' on execution provider '${provider}': onnxruntime-node for ${platformLabel()} has no such provider (it has ${availableProviders().join(', ')})`, {
      hint: providerHint(provider),
    });
  }
  if (!status.available) {
    throw new MlctlError('MLCTL_EP_UNAVAILABLE', `cannot run '${label}' on execution provider '${provider}': ${status.reason ?? 'it is not installed'}`, {
      hint: providerHint(provider),
    });
  }
}

function toSessionOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  const provider = options.executionProvider ?? 'cpu';
  const result: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    logSeverityLevel: logSeverity[options.logLevel ?? 'error'],
  };
  if (options.intraOpThreads !== undefined) result.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) result.interOpNumThreads = options.interOpThreads;
  if (options.graphOptimizationLevel !== undefined) result.graphOptimizationLevel = options.graphOptimizationLevel;
  if (options.executionMode !== undefined) result.executionMode = options.executionMode;
  if (options.optimizedModelPath !== undefined) result.optimizedModelFilePath = options.optimizedModelPath;
  return result;
}

function toIoMeta(meta: ort.InferenceSession.ValueMetadata): IoMeta {
  if (!meta.isTensor) return { name: meta.name, dtype: 'non-tensor', shape: [] };
  return {
    name: meta.name,
    dtype: meta.type as TensorDtype,
    // onnxruntime reports a dimension with neither a size nor a name as an empty name.
    shape: meta.shape.map((dim) => (dim === '' ? null : dim)),
  };
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

/** Length of the data array that holds `count` elements of `dtype`. */
function dataLength(dtype: TensorDtype, count: number): number {
  return dtype === 'int4' || dtype === 'uint4' ? Math.ceil(count / 2) : count;
}

function badInput(message: string): MlctlError {
  return new MlctlError('MLCTL_BAD_INPUT', message);
}

function toOrtTensor(name: string, tensor: HostTensor, expected: IoMeta, label: string): ort.Tensor {
  if (!hostDtypes.has(tensor.dtype)) throw badInput(`input '${name}' has unknown dtype '${tensor.dtype}'`);
  if (expected.dtype !== 'non-tensor' && expected.dtype !== tensor.dtype) {
    throw badInput(`input '${name}' of '${label}' takes ${expected.dtype} tensors, not ${tensor.dtype}`);
  }
  if (!tensor.dims.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw badInput(`input '${name}' has dims [${tensor.dims.join(', ')}]; expected non-negative integers`);
  }
  // onnxruntime reports an input of unknown rank as shape [], like a scalar:
  // an empty expected shape cannot be checked here (onnxruntime checks it).
  if (tensor.dims.length !== expected.shape.length && expected.dtype !== 'non-tensor' && expected.shape.length > 0) {
    throw badInput(`input '${name}' of '${label}' has rank ${expected.shape.length} ([${expected.shape.join(', ')}]), not ${tensor.dims.length} ([${tensor.dims.join(', ')}])`);
  }
  const want = dataLength(tensor.dtype, elementCount(tensor.dims));
  if (tensor.data.length !== want) {
    throw badInput(`input '${name}' has ${tensor.data.length} data elements but dims [${tensor.dims.join(', ')}] need ${want}`);
  }
  // The dtype/data pairing is checked above; onnxruntime's overloads cannot see that.
  return new ort.Tensor(tensor.dtype, tensor.data as Float32Array, tensor.dims);
}

function fromOrtValue(name: string, value: ort.OnnxValue, label: string): HostTensor {
  if (!hostDtypes.has(value.type)) {
    throw new MlctlError('MLCTL_UNSUPPORTED', `output '${name}' of '${label}' has element type '${value.type}', which mlctl cannot read`);
  }
  const dtype = value.type as TensorDtype;
  let data = value.data as TensorData;
  // Runtimes with a native Float16Array hand float16 back in it; keep the contract's raw bits.
  if (dtype === 'float16' && !(data instanceof Uint16Array)) {
    const view = data as unknown as ArrayBufferView;
    data = new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
  }
  return { dtype, dims: [...value.dims], data };
}

class OnnxruntimeSession implements RuntimeSession {
  readonly inputs: IoMeta[];
  readonly outputs: IoMeta[];
  #session: ort.InferenceSession | undefined;
  readonly #label: string;

  constructor(session: ort.InferenceSession, label: string) {
    this.#session = session;
    this.#label = label;
    this.inputs = session.inputMetadata.map(toIoMeta);
    this.outputs = session.outputMetadata.map(toIoMeta);
  }

  async run(feeds: Record<string, HostTensor>, outputNames?: readonly string[]): Promise<Record<string, HostTensor>> {
    const session = this.#session;
    if (session === undefined) throw new MlctlError('MLCTL_RUNTIME', `cannot run '${this.#label}': its session has been released`);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) {
      const expected = this.inputs.find((input) => input.name === name);
      if (expected === undefined) {
        throw badInput(`'${name}' is not an input of '${this.#label}'; its inputs are ${this.inputs.map((i) => `'${i.name}'`).join(', ')}`);
      }
      ortFeeds[name] = toOrtTensor(name, tensor, expected, this.#label);
    }
    const missing = this.inputs.filter((input) => !(input.name in feeds));
    if (missing.length > 0) {
      throw badInput(`'${this.#label}' needs input ${missing.map((i) => `'${i.name}'`).join(', ')}, which the feeds lack`);
    }
    const fetches = outputNames ?? this.outputs.map((output) => output.name);
    for (const name of fetches) {
      if (!this.outputs.some((output) => output.name === name)) {
        throw badInput(`'${name}' is not an output of '${this.#label}'; its outputs are ${this.outputs.map((o) => `'${o.name}'`).join(', ')}`);
      }
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await session.run(ortFeeds, [...fetches]);
    } catch (error) {
      throw new MlctlError('MLCTL_RUNTIME', `running '${this.#label}' failed: ${describeError(error)}`, { cause: error });
    }
    const outputs: Record<string, HostTensor> = {};
    for (const name of fetches) {
      const value = results[name];
      if (value === undefined) throw new MlctlError('MLCTL_RUNTIME', `running '${this.#label}' returned no output '${name}'`);
      outputs[name] = fromOrtValue(name, value, this.#label);
    }
    return outputs;
  }

  async release(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) await session.release();
  }
}

/**
 * Loads a model into onnxruntime on the requested execution provider.
 * Never falls back to another provider: asking for one the installed build or
 * the machine lacks is an error.
 * @param model a model file path, or serialized ModelProto bytes.
 * @throws MlctlError MLCTL_EP_UNAVAILABLE (exit 4) when the provider's library, driver or
 *   device is missing, with a hint saying how to install it; MLCTL_RUNTIME (exit 4) when
 *   onnxruntime cannot load the model, naming the model and keeping onnxruntime's error as cause.
 */
export async function createSession(model: string | Uint8Array, options: SessionOptions = {}): Promise<RuntimeSession> {
  const label = options.label !== undefined && (typeof model !== 'string' || options.labelFile === true)
    ? options.label
    : typeof model === 'string' ? model : 'model bytes';
  const provider: ExecutionProviderName = options.executionProvider ?? 'cpu';
  checkProvider(provider, label);
  let session: ort.InferenceSession;
  try {
    session = typeof model === 'string'
      ? await ort.InferenceSession.create(model, toSessionOptions(options))
      : await ort.InferenceSession.create(model, toSessionOptions(options));
  } catch (error) {
    const message = describeError(error);
    if (provider !== 'cpu' && providerMissingPatterns.some((pattern) => pattern.test(message))) {
      throw new MlctlError('MLCTL_EP_UNAVAILABLE', `cannot run '${label}' on execution provider '${provider}': ${message.trim()}`, {
        cause: error,
        hint: providerHint(provider),
      });
    }
    throw new MlctlError('MLCTL_RUNTIME', `onnxruntime cannot load '${label}': ${message.trim()}`, { cause: error });
  }
  return new OnnxruntimeSession(session, label);
}
