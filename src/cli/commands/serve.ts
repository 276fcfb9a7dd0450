/**
 * `mlctl serve <model.onnx | repository> [options]`: a KServe V2 (Open
 * Inference Protocol) HTTP server. The server lives in src/serve; this file
 * only declares the options.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../../common/errors.js';
import { parseByteSize } from '../../serve/options.js';
import { defineCommand } from '../command-definition.js';

/** Options of `mlctl serve`, as commander parses them. */
export interface ServeCommandOptions {
  host: string;
  port: number;
  ep: 'cpu' | 'cuda' | 'tensorrt' | 'webgpu' | 'dml' | 'coreml';
  threads?: number;
  maxBatchSize: number;
  batchDelayMs: number;
  maxQueue: number;
  timeoutMs: number;
  apiKey?: string;
  tlsCert?: string;
  tlsKey?: string;
  cors?: string;
  watch?: boolean;
  watchIntervalMs: number;
  bodyLimit: number;
  logFormat?: 'json' | 'pretty';
  drainTimeout: number;
}

function integer(flag: string, min: number) {
  return (value: string): number => {
    const number = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number) || number < min) throw new UsageError(`${flag} '${value}' is not an integer of at least ${min}`);
    return number;
  };
}

function packageVersion(): string {
  // Three levels up from both src/cli/commands/ and dist/cli/commands/.
  const manifest: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  return typeof manifest === 'object' && manifest !== null && 'version' in manifest && typeof manifest.version === 'string' ? manifest.version : '0.0.0';
}

export const serveCommand = defineCommand<[target: string], ServeCommandOptions>({
  name: 'serve',
  summary: 'serve models over HTTP with the KServe V2 / Open Inference Protocol',
  description:
    'Serve one .onnx file (as its file stem, version 1) or a model repository laid out as <name>/<version>/model.onnx ' +
    'over HTTP with the KServe V2 (Open Inference Protocol) REST API, Triton\'s binary tensor data and statistics ' +
    'extensions, and Prometheus metrics at /metrics. The server is live at once and ready once every model is loaded ' +
    'and warmed; then it prints one ready line on stdout ({"event":"ready","url":...} with --log-format json). ' +
    'SIGINT/SIGTERM stop it after in-flight requests finish. Logs go to stderr.',
  arguments: [{ name: 'target', description: 'a .onnx file or a model repository folder' }],
  options: [
    { flags: '--host <address>', description: 'address to bind; 0.0.0.0 accepts connections from other machines', defaultValue: '127.0.0.1' },
    { flags: '--port <port>', description: 'TCP port; 0 picks a free one', parse: integer('--port', 0), defaultValue: 8000 },
    { flags: '--ep <provider>', description: 'execution provider', choices: ['cpu', 'cuda', 'tensorrt', 'webgpu', 'dml', 'coreml'], defaultValue: 'cpu' },
    { flags: '--threads <n>', description: 'threads per model inside one operator (default: the runtime\'s choice)', parse: integer('--threads', 1) },
    { flags: '--max-batch-size <n>', description: 'dynamic batching: most inferences per run for models with a dynamic first dimension (1: off)', parse: integer('--max-batch-size', 1), defaultValue: 1 },
    { flags: '--batch-delay-ms <ms>', description: 'dynamic batching: longest a request waits for others (0: batch only what is queued)', parse: integer('--batch-delay-ms', 0), defaultValue: 0 },
    { flags: '--max-queue <n>', description: 'most requests queued per model version; more get 503 with Retry-After', parse: integer('--max-queue', 1), defaultValue: 128 },
    { flags: '--timeout-ms <ms>', description: 'longest a request may wait in the queue before a 503', parse: integer('--timeout-ms', 1), defaultValue: 30_000 },
    { flags: '--api-key <key>', description: 'require "Authorization: Bearer <key>" on every route but /v2/health/* (default: env MLCTL_API_KEY)' },
    { flags: '--tls-cert <file>', description: 'serve HTTPS with this PEM certificate (with --tls-key)' },
    { flags: '--tls-key <file>', description: 'PEM private key for --tls-cert' },
    { flags: '--cors <origin>', description: 'allow browsers from these origins (comma-separated, or *)' },
    { flags: '--watch', description: 'reload models whose files change, atomically; load new versions, unload removed ones' },
    { flags: '--watch-interval-ms <ms>', description: 'how often --watch looks at the files', parse: integer('--watch-interval-ms', 50), defaultValue: 1000 },
    { flags: '--body-limit <size>', description: 'largest request body (bytes, or with k, m, g)', parse: (value: string) => parseByteSize(value, '--body-limit'), defaultValue: 64 * 1024 * 1024 },
    { flags: '--log-format <format>', description: 'log lines on stderr (default: pretty on a terminal, else json)', choices: ['json', 'pretty'] },
    { flags: '--drain-timeout <ms>', description: 'on SIGINT/SIGTERM, how long in-flight requests may take to finish', parse: integer('--drain-timeout', 0), defaultValue: 25_000 },
  ],
  examples: [
    'mlctl serve model.onnx',
    'mlctl serve models/ --port 0 --log-format json --max-batch-size 32 --batch-delay-ms 2',
    'curl -s localhost:8000/v2/models/model',
  ],

  async run([target], options, context) {
    const { serve } = await import('../../serve/serve.js');
    await serve({
      target,
      host: options.host,
      port: options.port,
      executionProvider: options.ep,
      threads: options.threads,
      maxBatchSize: options.maxBatchSize,
      batchDelayMs: options.batchDelayMs,
      maxQueue: options.maxQueue,
      timeoutMs: options.timeoutMs,
      apiKey: options.apiKey ?? (process.env['MLCTL_API_KEY'] || undefined),
      tlsCert: options.tlsCert,
      tlsKey: options.tlsKey,
      cors: options.cors,
      watch: options.watch === true,
      watchIntervalMs: options.watchIntervalMs,
      bodyLimitBytes: options.bodyLimit,
      logFormat: options.logFormat ?? (context.stderr.isTTY === true ? 'pretty' : 'json'),
      drainTimeoutMs: options.drainTimeout,
    }, context, { serverVersion: packageVersion() });
  },
});
