/**
 * The messages between the server's main thread and a model's worker thread.
 * The worker owns one runtime session, so a model load or run never blocks
 * the event loop that answers health checks and parses requests.
 */
import type { ErrorCode } from '../../common/errors.js';
import type { HostTensor, IoMeta, SessionOptions } from '../../runtime/types.js';

/** What a worker is started with (its `workerData`). */
export interface WorkerInit {
  /** The model file. */
  modelPath: string;
  options: SessionOptions;
}

/** An error that crossed the thread boundary. */
export interface SerializedError {
  code: ErrorCode | undefined;
  message: string;
  hint: string | undefined;
}

/** Main thread → worker. */
export type ToWorker =
  | { kind: 'run'; id: number; feeds: Record<string, HostTensor>; outputNames: string[] }
  | { kind: 'release' };

/** Worker → main thread. Times are `process.hrtime` nanoseconds, comparable across threads. */
export type FromWorker =
  | { kind: 'loaded'; inputs: IoMeta[]; outputs: IoMeta[] }
  | { kind: 'load-failed'; error: SerializedError }
  | { kind: 'result'; id: number; outputs: Record<string, HostTensor>; startNs: number; endNs: number }
  | { kind: 'failed'; id: number; error: SerializedError }
  | { kind: 'released' };
