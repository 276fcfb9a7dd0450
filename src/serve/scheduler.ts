/**
 * One model version's bounded request queue and dynamic batcher. Requests
 * run one batch at a time on the model's worker; while a batch runs, new
 * requests queue. A batchable request waits at most `batchDelayMs` for
 * others with the same non-batch dims, up to `maxBatchSize` inferences in
 * all; they run once, and each gets its slice of the outputs.
 */
import { MlctlError } from '../common/errors.js';
import type { HostTensor } from '../runtime/types.js';
import { BatchSplitError, batchKey, concatFeeds, splitOutputs } from './batching.js';
import { HttpError, badRequest, unavailable } from './http-error.js';
import type { InferRequest } from './infer-request.js';
import { RunnerStoppedError, type ModelRunner } from './runner/worker-runner.js';

/** Limits of a scheduler. */
export interface SchedulerOptions {
  /** Most inferences (sum of first dims) in one run; 1 turns dynamic batching off. */
  maxBatchSize: number;
  /** Longest a batchable request waits for others to join its batch, in milliseconds (0: only those already queued). */
  batchDelayMs: number;
  /** Most requests waiting to run; more are refused with 503. */
  maxQueue: number;
  /** Longest a request may wait in the queue, in milliseconds, before it is refused with 503. */
  timeoutMs: number;
}

/** A request's outputs and where its time went, in nanoseconds. */
export interface ScheduledResult {
  outputs: Record<string, HostTensor>;
  queueNs: number;
  computeInputNs: number;
  computeInferNs: number;
  /** When the run's result reached the main thread (`process.hrtime` ns); compute_output is measured from here. */
  outputStartNs: number;
}

/** What a scheduler reports as it runs, for statistics and logs. */
export interface SchedulerObserver {
  execution(batchSize: number, computeInputNs: number, computeInferNs: number, computeOutputNs: number): void;
  /** Dynamic batching was turned off for this model, and why. */
  batchingDisabled(reason: string): void;
}

interface Pending {
  request: InferRequest;
  key: string | undefined;
  enqueuedNs: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (result: ScheduledResult) => void;
  reject: (error: Error) => void;
}

function now(): number {
  return Number(process.hrtime.bigint());
}

/**
 * The response to a failed run. A run fails on a request that passed every
 * check against the model's inputs only because of the values it holds (the
 * warm-up run succeeded), so it is the client's 400, with the runtime's reason;
 * a worker that is gone is the server's 503.
 */
function runError(error: unknown, label: string): Error {
  if (error instanceof RunnerStoppedError) return unavailable(`${label} is not available: ${error.message}`, 5);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof MlctlError && error.code !== 'MLCTL_RUNTIME') return badRequest(`${label} cannot run this request: ${message}`, error);
  return badRequest(`${label} failed on this request's input: ${message}`, error);
}

/** See the module comment. */
export class Scheduler {
  readonly #runner: ModelRunner;
  readonly #options: SchedulerOptions;
  readonly #observer: SchedulerObserver;
  readonly #label: string;
  readonly #allOutputs: readonly string[];
  #batching: boolean;
  #queue: Pending[] = [];
  #running = false;
  #delayTimer: NodeJS.Timeout | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(runner: ModelRunner, options: SchedulerOptions, observer: SchedulerObserver, label: string) {
    this.#runner = runner;
    this.#options = options;
    this.#observer = observer;
    this.#label = label;
    this.#batching = options.maxBatchSize > 1;
    this.#allOutputs = runner.outputs.map((output) => output.name);
  }

  /** Requests waiting or running. */
  get pending(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  /**
   * Queues a request and resolves with its outputs.
   * @throws HttpError 503 (with Retry-After) when the queue is full or the request waited
   *   longer than the timeout; 400 when the model fails on the request's input.
   */
  submit(request: InferRequest): Promise<ScheduledResult> {
    if (this.#queue.length >= this.#options.maxQueue) {
      return Promise.reject(unavailable(`${this.#label} has ${this.#queue.length} requests queued, the limit (--max-queue ${this.#options.maxQueue}); retry later`));
    }
    return new Promise<ScheduledResult>((resolve, reject) => {
      const pending: Pending = {
        request,
        key: this.#batching && request.batchable ? batchKey(request.inputs) : undefined,
        enqueuedNs: now(),
        timer: undefined,
        resolve,
        reject,
      };
      pending.timer = setTimeout(() => this.#expire(pending), this.#options.timeoutMs);
      this.#queue.push(pending);
      this.#schedule();
    });
  }

  /** Resolves once nothing is queued or running (for draining and retiring a replaced session). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #expire(pending: Pending): void {
    const index = this.#queue.indexOf(pending);
    if (index < 0) return;
    this.#queue.splice(index, 1);
    pending.reject(unavailable(`${this.#label} did not start this request within ${this.#options.timeoutMs} ms (--timeout-ms); retry later`));
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.pending > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #schedule(): void {
    if (this.#running || this.#queue.length === 0) return;
    const head = this.#queue[0]!;
    if (head.key !== undefined && this.#batching && this.#options.batchDelayMs > 0) {
      const waitedMs = (now() - head.enqueuedNs) / 1e6;
      if (waitedMs < this.#options.batchDelayMs && this.#queuedBatchSize(head.key) < this.#options.maxBatchSize) {
        this.#delayTimer ??= setTimeout(() => {
          this.#delayTimer = undefined;
          this.#schedule();
        }, Math.max(1, Math.ceil(this.#options.batchDelayMs - waitedMs)));
        return;
      }
    }
    if (this.#delayTimer !== undefined) {
      clearTimeout(this.#delayTimer);
      this.#delayTimer = undefined;
    }
    const batch = this.#takeBatch();
    this.#running = true;
    void this.#execute(batch).finally(() => {
      this.#running = false;
      this.#schedule();
      this.#notifyIdle();
    });
  }

  #queuedBatchSize(key: string): number {
    let size = 0;
    for (const pending of this.#queue) if (pending.key === key) size += pending.request.batchSize;
    return size;
  }

  /** The head request plus, when batching, later queued requests with its key, up to maxBatchSize inferences. */
  #takeBatch(): Pending[] {
    const head = this.#queue.shift()!;
    const batch = [head];
    if (head.key !== undefined && this.#batching) {
      let size = head.request.batchSize;
      for (let i = 0; i < this.#queue.length && size < this.#options.maxBatchSize; ) {
        const candidate = this.#queue[i]!;
        if (candidate.key === head.key && size + candidate.request.batchSize <= this.#options.maxBatchSize) {
          batch.push(candidate);
          size += candidate.request.batchSize;
          this.#queue.splice(i, 1);
        } else {
          i++;
        }
      }
    }
    for (const pending of batch) clearTimeout(pending.timer);
    return batch;
  }

  async #execute(batch: Pending[]): Promise<void> {
    const dispatchNs = now();
    const outputNames = batch.length === 1
      ? batch[0]!.request.outputs.map((output) => output.name)
      : this.#allOutputs;
    try {
      const feeds = concatFeeds(batch.map((pending) => pending.request.inputs));
      const result = await this.#runner.run(feeds, outputNames);
      const receivedNs = now();
      const sizes = batch.map((pending) => pending.request.batchSize);
      const parts = splitOutputs(result.outputs, sizes);
      const batchSize = sizes.reduce((sum, size) => sum + size, 0);
      this.#observer.execution(batchSize, result.startNs - dispatchNs, result.endNs - result.startNs, now() - receivedNs);
      batch.forEach((pending, index) => pending.resolve({
        outputs: parts[index]!,
        queueNs: dispatchNs - pending.enqueuedNs,
        computeInputNs: result.startNs - dispatchNs,
        computeInferNs: result.endNs - result.startNs,
        outputStartNs: receivedNs,
      }));
    } catch (error) {
      if (batch.length > 1) {
        // Run them one by one, so only a request the model rejects fails.
        if (error instanceof BatchSplitError) {
          this.#batching = false;
          this.#observer.batchingDisabled(error.message);
        }
        for (const pending of batch) await this.#execute([pending]);
        return;
      }
      const failure = error instanceof HttpError ? error : runError(error, this.#label);
      batch[0]!.reject(failure);
    }
  }
}
