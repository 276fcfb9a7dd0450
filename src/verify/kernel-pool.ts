/**
 * Quantizing weights on worker threads, one tensor per worker at a time, for
 * the quantize pass (which is synchronous): a first run of the pass collects
 * the weights it needs and starts them on the workers; a second run takes
 * the finished results by key. Results are bit-identical to the pass's own
 * kernel (it is the same function).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { hostIsLittleEndian } from '../onnx/tensor-bytes.js';
import {
  defaultWeightKernel,
  NonFiniteWeightError,
  type KernelOptions,
  type KernelResult,
  type WeightKernel,
  type WeightKernelRequest,
} from '../passes/quantize/index.js';

/** A message to a worker. */
export interface KernelTask {
  id: number;
  buffer: SharedArrayBuffer;
  byteOffset: number;
  /** Element count. */
  length: number;
  dims: readonly number[];
  options: KernelOptions;
  transpose: boolean;
}

/** A worker's answer. */
export type KernelTaskResult =
  | { id: number; bytes: Uint8Array; scales: Float32Array; zeroPoints: Int32Array; sqnrDb: number }
  | { id: number; error: string; nonFinite: boolean };

type Outcome = { ok: true; result: KernelResult } | { ok: false; error: Error };

interface Slot {
  worker: Worker;
  busy: boolean;
}

/** The worker script next to this module (compiled builds only: under a TypeScript loader there is no .js file). */
function workerScript(): string | undefined {
  const url = new URL('./kernel-worker.js', import.meta.url);
  const file = fileURLToPath(url);
  return existsSync(file) ? file : undefined;
}

/** A fixed set of worker threads that quantize weights. */
export class WeightKernelPool {
  private readonly slots: Slot[];
  private readonly queue: { task: KernelTask; resolve: (outcome: Outcome) => void }[] = [];
  private readonly waiting = new Map<number, (outcome: Outcome) => void>();
  private nextId = 0;

  private constructor(script: string, size: number) {
    this.slots = Array.from({ length: size }, () => {
      // The script is compiled JavaScript: no loader flags of the parent (a TypeScript loader under tsx) needed.
      const worker = new Worker(script, { execArgv: [] });
      const slot: Slot = { worker, busy: false };
      worker.on('message', (message: KernelTaskResult) => this.finish(slot, message));
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

  /** Quantizes one request on a worker; the values are copied into shared memory unless they already are. */
  run(request: WeightKernelRequest): Promise<Outcome> {
    let buffer: SharedArrayBuffer;
    let byteOffset: number;
    let length: number;
    const raw = request.rawBytes;
    // Only a little-endian host may hand raw bytes over as floats; the copy of an unaligned view is the worker's.
    if (raw !== undefined && raw.buffer instanceof SharedArrayBuffer && hostIsLittleEndian) {
      buffer = raw.buffer;
      byteOffset = raw.byteOffset;
      length = raw.byteLength / 4;
    } else {
      const values = request.values();
      buffer = new SharedArrayBuffer(values.byteLength);
      new Float32Array(buffer).set(values);
      byteOffset = 0;
      length = values.length;
    }
    const task: KernelTask = { id: this.nextId++, buffer, byteOffset, length, dims: [...request.dims], options: request.options, transpose: request.transpose };
    return new Promise((resolve) => {
      this.queue.push({ task, resolve });
      this.dispatch();
    });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.queue.shift();
      if (next === undefined) return;
      slot.busy = true;
      this.waiting.set(next.task.id, next.resolve);
      slot.worker.postMessage(next.task);
    }
  }

  private finish(slot: Slot, message: KernelTaskResult): void {
    slot.busy = false;
    const resolve = this.waiting.get(message.id);
    this.waiting.delete(message.id);
    if ('error' in message) {
      resolve?.({ ok: false, error: message.nonFinite ? new NonFiniteWeightError(message.error) : new Error(message.error) });
    } else {
      resolve?.({ ok: true, result: { bytes: message.bytes, scales: message.scales, zeroPoints: message.zeroPoints, sqnrDb: message.sqnrDb } });
    }
    this.dispatch();
  }

  private failAll(error: Error): void {
    for (const resolve of this.waiting.values()) resolve({ ok: false, error });
    this.waiting.clear();
    for (const { resolve } of this.queue.splice(0)) resolve({ ok: false, error });
  }
}

/** A stand-in result of the right shape, for the collecting run (whose model is thrown away). */
function placeholder(request: WeightKernelRequest): KernelResult {
  const channels = request.options.axis === undefined ? 1 : request.dims[request.options.axis]!;
  return { bytes: new Uint8Array(0), scales: new Float32Array(channels).fill(1), zeroPoints: new Int32Array(channels), sqnrDb: Infinity };
}

/**
 * Runs `runPass` once with a kernel that starts every weight on the pool,
 * waits for them all, and returns a kernel that hands out the results (and
 * quantizes in this thread anything the first run did not ask for).
 */
export async function precomputeWeights(pool: WeightKernelPool, runPass: (kernel: WeightKernel) => unknown): Promise<WeightKernel> {
  const pending = new Map<string, Promise<Outcome>>();
  runPass((request) => {
    if (!pending.has(request.key)) pending.set(request.key, pool.run(request));
    return placeholder(request);
  });
  const outcomes = new Map<string, Outcome>();
  for (const [key, promise] of pending) outcomes.set(key, await promise);
  return (request) => {
    const outcome = outcomes.get(request.key);
    if (outcome === undefined) return defaultWeightKernel(request);
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  };
}
