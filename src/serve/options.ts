/**
 * The settings of `mlctl serve`, their defaults, and their checks.
 */
import { UsageError } from '../common/errors.js';
import type { ExecutionProviderName } from '../runtime/types.js';
import type { LogFormat } from './logger.js';

/** Everything `serve()` needs; see {@link resolveServeOptions} for the defaults. */
export interface ServeOptions {
  /** A `.onnx` file or a model repository folder (`<name>/<version>/model.onnx`). */
  target: string;
  /** Address to bind (default 127.0.0.1: only this machine can connect). */
  host: string;
  /** TCP port; 0 picks a free one (default 8000). */
  port: number;
  executionProvider: ExecutionProviderName;
  /** Threads per model inside one operator (undefined: the runtime's choice). */
  threads: number | undefined;
  /** Most inferences per dynamically batched run; 1 (default) turns batching off. */
  maxBatchSize: number;
  /** Longest a request waits for others to batch with, in ms (default 0: batch only what is already queued). */
  batchDelayMs: number;
  /** Most requests queued per model version; more get 503 (default 128). */
  maxQueue: number;
  /** Longest a request may wait in the queue, in ms, before a 503 (default 30 000). */
  timeoutMs: number;
  /** Bearer key every route but /v2/health/* requires (undefined: none). */
  apiKey: string | undefined;
  /** PEM certificate and key files; both or neither. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** Allowed CORS origins (comma-separated, or '*'); undefined: no CORS headers. */
  cors: string | undefined;
  /** Poll the model files and reload changed ones atomically. */
  watch: boolean;
  /** How often --watch looks at the files, in ms (default 1000). */
  watchIntervalMs: number;
  /** Largest request body in bytes (default 64 MiB). */
  bodyLimitBytes: number;
  logFormat: LogFormat;
  /** How long SIGTERM/SIGINT waits for in-flight requests, in ms (default 25 000, under Kubernetes' 30 s grace period). */
  drainTimeoutMs: number;
}

/** The defaults of every setting but `target`. */
export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8000,
  executionProvider: 'cpu',
  maxBatchSize: 1,
  batchDelayMs: 0,
  maxQueue: 128,
  timeoutMs: 30_000,
  watchIntervalMs: 1000,
  bodyLimitBytes: 64 * 1024 * 1024,
  drainTimeoutMs: 25_000,
} as const satisfies Partial<ServeOptions>;

const sizeUnits: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/**
 * Parses a byte size: `1048576`, `512k`, `64MiB`, `1g` (units are powers of 1024).
 * @throws UsageError quoting the value when it is not a positive size.
 */
export function parseByteSize(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const scale = match === null ? undefined : sizeUnits[match[2]!.toLowerCase()];
  const value = match === null || scale === undefined ? Number.NaN : Math.floor(Number(match[1]) * scale);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${option} '${text}' is not a size; expected bytes, optionally with a unit (k, m, g), e.g. 64m`);
  }
  return value;
}

/**
 * Checks settings that depend on each other.
 * @throws UsageError for a port out of range, TLS with only one of its files, or limits below 1.
 */
export function checkServeOptions(options: ServeOptions): void {
  if (options.port > 65535) throw new UsageError(`--port ${options.port} is not a TCP port; expected 0 to 65535`);
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together; give both PEM files or neither');
  }
  if (options.maxBatchSize < 1) throw new UsageError(`--max-batch-size ${options.maxBatchSize} must be at least 1`);
  if (options.maxQueue < 1) throw new UsageError(`--max-queue ${options.maxQueue} must be at least 1`);
  if (options.timeoutMs < 1) throw new UsageError(`--timeout-ms ${options.timeoutMs} must be at least 1`);
  if (options.apiKey !== undefined && options.apiKey.trim() === '') throw new UsageError('the API key (--api-key or MLCTL_API_KEY) is empty');
}
