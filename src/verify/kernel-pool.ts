/**
 * Quantizing weights on worker threads, one tensor per worker at a time, for
 * the quantize pass (which is synchronous): a first run of the pass collects
 * the weights it needs and starts them on the workers, largest first; a
 * second run takes the finished results by key. Results are bit-identical to
 * the pass's own kernel (it is the same function).
 *
 * No weight is copied to get to a worker: floats in the model's shared
 * memory are read in place, and floats in external data are read from their
 * file by the worker itself (so the main thread never holds them). Results
 * come back as transferred buffers, not clones. The pool also hashes the
 * input file's bytes (for provenance) on a worker, alongside the weights.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MlctlError, type ErrorCode } from '../common/errors.js';
import { hostIsLittleEndian } from '../onnx/tensor-bytes.js';
import type { TensorProto } from '../onnx/types.js';
import {
  localWeightKernel,
  NonFiniteWeightError,
  type KernelOptions,
  type KernelResult,
  type WeightKernel,
  type WeightKernelRequest,
} from '../passes/quantize/index.js';
import type { ExternalRange } from './external-range.js';

/** Where a worker finds a weight's float32 values. */
export type WeightBytes =
  /** Little-endian floats at `byteOffset` of shared memory (`length` elements; the offset may be unaligned). */
  | { kind: 'shared'; buffer: SharedArrayBuffer; byteOffset: number; length: number }
  /** Little-endian floats in an external data file, read by the worker. */
  | { kind: 'file'; range: ExternalRange };

/** A message to a worker. */
export type PoolTask =
  | { type: 'quantize'; id: number; source: WeightBytes; dims: readonly number[]; options: KernelOptions; transpose: boolean }
  | { type: 'sha256'; id: number; buffer: SharedArrayBuffer; byteOffset: number; length: number };

/** A worker's answer. */
export type PoolTaskResult =
  | { id: number; bytes: Uint8Array; scales: Float32Array; zeroPoints: Int32Array; sqnrDb: number }
  | { id: number; digest: string }
  | { id: number; error: string; nonFinite: boolean; code: ErrorCode | undefined };

type Outcome = { ok: true; result: KernelResult } | { ok: false; error: Error };
type Settle = (message: PoolTaskResult | { id: number; failure: Error }) => void;

interface Slot {
  worker: Worker;
  busy: boolean;
}

/** Finds where an external tensor's bytes are (see external-reader.ts). */
export type ExternalLocator = (tensor: TensorProto) => ExternalRange | undefined;

/** The worker script next to this module (compiled builds only: under a TypeScript loader there is no .js file). */
function workerScript(): string | undefined {
  const url = new URL('./kernel-worker.js', import.meta.url);
  const file = fileURLToPath(url);
  return existsSync(file) ? file : undefined;
}

/** The error a worker reported, rebuilt with its class or code. */
function workerError(message: { error: string; nonFinite: boolean; code: ErrorCode | undefined }): Error {
  if (message.nonFinite) return new NonFiniteWeightError(message.error);
  return message.code === undefined ? new Error(message.error) : new MlctlError(message.code, message.error);
}

/** A fixed set of worker threads that quantize weights and hash bytes. */
export class WeightKernelPool {
  private readonly slots: Slot[];
  private readonly queue: { task: PoolTask; settle: Settle }[] = [];
  private readonly waiting = new Map<number, Settle>();
  private nextId = 0;

  private constructor(script: string, size: number) {
    this.slots = Array.from({ length: size }, () => {
      // The script is compiled JavaScript: no loader flags of the parent (a TypeScript loader under tsx) needed.
      const worker = new Worker(script, { execArgv: [] });
      const slot: Slot = { worker, busy: false };
      worker.on('message', (message: PoolTaskResult) => this.finish(slot, message));
      worker.on('error', (error) => this.failAll(error));
      return slot;
    });
  }

  /**
   * A pool of `size` workers (default: one per CPU, at most 8), or undefined
   * when worker threads cannot help: one CPU, or no compiled worker script.
   */
  static create(size = Math.min(availableParallelism(), 8)): WeightKernelPool | undefined {
    const script = workerScript();
    if (script === undefined || size < 2) return undefined;
    return new WeightKernelPool(script, size);
  }

  /**
   * Quantizes one request on a worker. Floats in shared memory or (through
   * `locate`) in external data go to the worker as a reference; others are
   * copied into shared memory here.
   */
  async run(request: WeightKernelRequest, locate?: ExternalLocator): Promise<Outcome> {
    const task: PoolTask = { type: 'quantize', id: this.nextId++, source: this.weightBytes(request, locate), dims: [...request.dims], options: request.options, transpose: request.transpose };
    const message = await this.submit(task, false);
    if ('failure' in message) return { ok: false, error: message.failure };
    if ('error' in message) return { ok: false, error: workerError(message) };
    if (!('bytes' in message)) return { ok: false, error: new Error('a kernel worker answered a quantize task with a digest') };
    return { ok: true, result: { bytes: message.bytes, scales: message.scales, zeroPoints: message.zeroPoints, sqnrDb: message.sqnrDb } };
  }

  /**
   * sha256 (hex) of `bytes`, which must lie in shared memory, computed on a
   * worker ahead of the queued weights.
   */
  async sha256(bytes: Uint8Array): Promise<string> {
    if (!(bytes.buffer instanceof SharedArrayBuffer)) throw new Error('WeightKernelPool.sha256 needs bytes in shared memory');
    const message = await this.submit({ type: 'sha256', id: this.nextId++, buffer: bytes.buffer, byteOffset: bytes.byteOffset, length: bytes.byteLength }, true);
    if ('failure' in message) throw message.failure;
    if ('error' in message) throw workerError(message);
    if (!('digest' in message)) throw new Error('a kernel worker answered a sha256 task with weights');
    return message.digest;
  }

  /**
   * Stops the workers. Tearing down a worker that held a large tensor takes
   * a while (its memory is unmapped); callers done with the pool need not
   * wait for it, and it never keeps the process alive.
   */
  async close(): Promise<void> {
    for (const slot of this.slots) slot.worker.unref();
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private weightBytes(request: WeightKernelRequest, locate: ExternalLocator | undefined): WeightBytes {
    // Only a little-endian host may hand raw bytes over as floats; the copy of an unaligned view is the worker's.
    const raw = request.rawBytes;
    if (hostIsLittleEndian && raw !== undefined && raw.buffer instanceof SharedArrayBuffer) {
      return { kind: 'shared', buffer: raw.buffer, byteOffset: raw.byteOffset, length: raw.byteLength / 4 };
    }
    const range = hostIsLittleEndian && request.external !== undefined ? locate?.(request.external) : undefined;
    if (range !== undefined) return { kind: 'file', range };
    const values = request.values();
    const buffer = new SharedArrayBuffer(values.byteLength);
    new Float32Array(buffer).set(values);
    return { kind: 'shared', buffer, byteOffset: 0, length: values.length };
  }

  private submit(task: PoolTask, urgent: boolean): Promise<PoolTaskResult | { id: number; failure: Error }> {
    return new Promise((resolve) => {
      if (urgent) this.queue.unshift({ task, settle: resolve });
      else this.queue.push({ task, settle: resolve });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.queue.shift();
      if (next === undefined) return;
      slot.busy = true;
      this.waiting.set(next.task.id, next.settle);
      slot.worker.postMessage(next.task);
    }
  }

  private finish(slot: Slot, message: PoolTaskResult): void {
    slot.busy = false;
    const settle = this.waiting.get(message.id);
    this.waiting.delete(message.id);
    settle?.(message);
    this.dispatch();
  }

  private failAll(error: Error): void {
    for (const [id, settle] of this.waiting) settle({ id, failure: error });
    this.waiting.clear();
    for (const { task, settle } of this.queue.splice(0)) settle({ id: task.id, failure: error });
  }
}

/** A stand-in result of the right shape, for the collecting run (whose model is thrown away). */
function placeholder(request: WeightKernelRequest): KernelResult {
  const channels = request.options.axis === undefined ? 1 : request.dims[request.options.axis]!;
  return { bytes: new Uint8Array(0), scales: new Float32Array(channels).fill(1), zeroPoints: new Int32Array(channels), sqnrDb: Infinity };
}

function elementCount(request: WeightKernelRequest): number {
  return request.dims.reduce((product, dim) => product * dim, 1);
}

/**
 * Runs `runPass` once with a kernel that collects every weight it asks for,
 * starts them on the pool largest first (so that the last tensor to finish
 * is a small one), waits for them all, and returns a kernel that hands out
 * the results (and quantizes in this thread anything the first run did not
 * ask for).
 * @param locate - where external tensors' bytes are, so that workers read them themselves.
 */
export async function precomputeWeights(pool: WeightKernelPool, runPass: (kernel: WeightKernel) => unknown, locate?: ExternalLocator): Promise<WeightKernel> {
  const requests = new Map<string, WeightKernelRequest>();
  runPass((request) => {
    if (!requests.has(request.key)) requests.set(request.key, request);
    return placeholder(request);
  });
  const ordered = [...requests.values()].sort((a, b) => elementCount(b) - elementCount(a));
  const pending = ordered.map((request) => [request.key, pool.run(request, locate)] as const);
  const outcomes = new Map<string, Outcome>();
  for (const [key, promise] of pending) outcomes.set(key, await promise);
  const local = localWeightKernel();
  return (request) => {
    const outcome = outcomes.get(request.key);
    if (outcome === undefined) return local(request);
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  };
}
