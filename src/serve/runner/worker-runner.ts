/**
 * The main thread's handle on a model's worker thread: load, run, release.
 */
import { Worker } from 'node:worker_threads';
import { MlctlError, describeError } from '../../common/errors.js';
import type { HostTensor, IoMeta, SessionOptions, TensorData } from '../../runtime/types.js';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './messages.js';

/** What one run returned, with its timing on the worker. */
export interface RunResult {
  outputs: Record<string, HostTensor>;
  /** `process.hrtime` nanoseconds when the worker started and finished the run. */
  startNs: number;
  endNs: number;
}

/** Runs a loaded model; the scheduler's view of a session. */
export interface ModelRunner {
  readonly inputs: readonly IoMeta[];
  readonly outputs: readonly IoMeta[];
  run(feeds: Record<string, HostTensor>, outputNames: readonly string[]): Promise<RunResult>;
  release(): Promise<void>;
}

/** The worker is gone (it crashed or was released): no fault of the request being run. */
export class RunnerStoppedError extends MlctlError {
  constructor(message: string, cause?: unknown) {
    super('MLCTL_RUNTIME', message, cause === undefined ? {} : { cause });
  }
}

function revive(error: SerializedError, fallback: string): MlctlError {
  return new MlctlError(error.code ?? 'MLCTL_RUNTIME', error.message || fallback, error.hint === undefined ? {} : { hint: error.hint });
}

/** Input buffers the worker may take over: typed arrays that own their whole buffer (decoded or concatenated here). */
function transferList(feeds: Record<string, HostTensor>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const tensor of Object.values(feeds)) {
    const data = tensor.data as TensorData;
    if (Array.isArray(data)) continue;
    const view = data as Exclude<TensorData, string[]>;
    if (view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength) buffers.add(view.buffer);
  }
  return [...buffers];
}

class WorkerRunner implements ModelRunner {
  readonly inputs: readonly IoMeta[];
  readonly outputs: readonly IoMeta[];
  readonly #worker: Worker;
  readonly #label: string;
  readonly #pending = new Map<number, { resolve: (result: RunResult) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #stopped: RunnerStoppedError | undefined;
  #released: Promise<void> | undefined;

  constructor(worker: Worker, inputs: IoMeta[], outputs: IoMeta[], label: string, onStop: (error: RunnerStoppedError) => void) {
    this.#worker = worker;
    this.inputs = inputs;
    this.outputs = outputs;
    this.#label = label;
    worker.on('message', (message: FromWorker) => this.#onMessage(message));
    worker.on('error', (error) => this.#stop(new RunnerStoppedError(`the worker running ${label} failed: ${describeError(error)}`, error), onStop));
    worker.on('exit', (code) => {
      const expected = this.#released !== undefined;
      this.#stop(new RunnerStoppedError(`the worker running ${label} exited (code ${code})`), expected ? undefined : onStop);
    });
  }

  #onMessage(message: FromWorker): void {
    if (message.kind !== 'result' && message.kind !== 'failed') return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    if (message.kind === 'result') pending.resolve({ outputs: message.outputs, startNs: message.startNs, endNs: message.endNs });
    else pending.reject(revive(message.error, `running ${this.#label} failed`));
  }

  #stop(error: RunnerStoppedError, onStop: ((error: RunnerStoppedError) => void) | undefined): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    onStop?.(error);
  }

  run(feeds: Record<string, HostTensor>, outputNames: readonly string[]): Promise<RunResult> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    const id = this.#nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message: ToWorker = { kind: 'run', id, feeds, outputNames: [...outputNames] };
      this.#worker.postMessage(message, transferList(feeds));
    });
  }

  release(): Promise<void> {
    this.#released ??= new Promise<void>((resolve) => {
      if (this.#stopped !== undefined) {
        resolve();
        return;
      }
      this.#worker.once('exit', () => resolve());
      const message: ToWorker = { kind: 'release' };
      this.#worker.postMessage(message);
      // A worker stuck in native code must not hold the process open.
      setTimeout(() => void this.#worker.terminate(), 5000).unref();
    });
    return this.#released;
  }
}

/**
 * Starts a worker thread that loads `modelPath` into a runtime session.
 * @param onStop called if the worker dies later (not after release()).
 * @param signal aborting it abandons the load (the worker is terminated and no longer keeps the process alive).
 * @throws MlctlError with the runtime's code (MLCTL_RUNTIME, MLCTL_EP_UNAVAILABLE, …) when the model cannot be loaded.
 */
export function startWorkerRunner(
  modelPath: string,
  options: SessionOptions,
  label: string,
  onStop: (error: RunnerStoppedError) => void,
  signal?: AbortSignal,
): Promise<ModelRunner> {
  const init: WorkerInit = { modelPath, options };
  const worker = new Worker(new URL('./model-worker.js', import.meta.url), { workerData: init });
  return new Promise<ModelRunner>((resolve, reject) => {
    const onAbort = (): void => {
      // A load stuck in native code cannot be interrupted; unref() at least lets the process exit without it.
      worker.unref();
      fail(new RunnerStoppedError(`loading ${label} was abandoned: the server is stopping`));
    };
    const settle = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: Error): void => {
      settle();
      void worker.terminate();
      reject(error);
    };
    const onMessage = (message: FromWorker): void => {
      if (message.kind === 'loaded') {
        // The runner's listeners go on before these come off, so the worker's port never stops delivering.
        const runner = new WorkerRunner(worker, message.inputs, message.outputs, label, onStop);
        settle();
        resolve(runner);
      } else if (message.kind === 'load-failed') {
        fail(revive(message.error, `cannot load ${label}`));
      } else {
        fail(new MlctlError('MLCTL_RUNTIME', `the worker loading ${label} sent '${message.kind}' before loading`));
      }
    };
    const onError = (error: Error): void => fail(new MlctlError('MLCTL_RUNTIME', `the worker loading ${label} failed: ${describeError(error)}`, { cause: error }));
    const onExit = (code: number): void => fail(new MlctlError('MLCTL_RUNTIME', `the worker loading ${label} exited (code ${code}) before loading`));
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
