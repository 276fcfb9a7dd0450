/**
 * `mlctl serve` from start to stop: listen at once (live), load and warm
 * every model (then ready, and one ready line on stdout), optionally watch
 * for changes, and on SIGINT/SIGTERM stop accepting, drain in-flight
 * requests up to the drain timeout, release the models and return.
 */
import { readFile } from 'node:fs/promises';
import { FileError, MlctlError, describeError } from '../common/errors.js';
import { createHttpServer } from './http-server.js';
import { createLogger, type LogSink } from './logger.js';
import { createMetrics } from './metrics.js';
import { ModelRegistry } from './model-registry.js';
import { checkServeOptions, type ServeOptions } from './options.js';
import { scanRepositoryForStartup } from './repository.js';
import { watchRepository, type RepositoryWatcher } from './watcher.js';

/** Where the server writes: the ready line to stdout, logs to stderr. */
export interface ServeIo {
  stdout: LogSink;
  stderr: LogSink;
}

/** Extra controls for embedding and tests. */
export interface ServeControls {
  /** Aborting it shuts the server down as SIGTERM does. */
  signal?: AbortSignal;
  /** Listen for SIGINT and SIGTERM (default true). */
  handleSignals?: boolean;
  /** The version `GET /v2` reports. */
  serverVersion?: string;
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new FileError(`cannot read the TLS ${what} '${file}': ${describeError(error)}`, { cause: error });
  }
}

function urlOf(protocol: 'http' | 'https', host: string, port: number): string {
  return `${protocol}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Resolves when a shutdown signal arrives; a second one forces the drain to end. */
function shutdownRequests(controls: ServeControls): { first: Promise<string>; second: Promise<string>; dispose: () => void } {
  let resolveFirst: (reason: string) => void = () => undefined;
  let resolveSecond: (reason: string) => void = () => undefined;
  const first = new Promise<string>((resolve) => { resolveFirst = resolve; });
  const second = new Promise<string>((resolve) => { resolveSecond = resolve; });
  let count = 0;
  const onSignal = (reason: string): void => {
    count += 1;
    if (count === 1) resolveFirst(reason);
    else resolveSecond(reason);
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  const onAbort = (): void => onSignal('abort');
  if (controls.handleSignals !== false) {
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  }
  controls.signal?.addEventListener('abort', onAbort, { once: true });
  if (controls.signal?.aborted === true) onAbort();
  return {
    first,
    second,
    dispose: () => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      controls.signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Serves the models of `options.target` until SIGINT/SIGTERM (or the abort
 * signal), then drains and returns.
 * @throws UsageError for inconsistent options; FileError for a missing repository or TLS
 *   file; MlctlError (MLCTL_BAD_INPUT, MLCTL_UNSUPPORTED, MLCTL_RUNTIME, MLCTL_EP_UNAVAILABLE)
 *   when a model cannot be loaded at startup (the server then stops before becoming ready).
 */
export async function serve(options: ServeOptions, io: ServeIo, controls: ServeControls = {}): Promise<void> {
  checkServeOptions(options);
  const logger = createLogger(io.stderr, options.logFormat);
  const scan = await scanRepositoryForStartup(options.target);
  for (const skipped of scan.skipped) logger.warn('repository-entry-skipped', { path: skipped.path, reason: skipped.reason });
  const tls = options.tlsCert === undefined || options.tlsKey === undefined
    ? undefined
    : { cert: await readPem(options.tlsCert, 'certificate'), key: await readPem(options.tlsKey, 'key') };

  const registry = new ModelRegistry({
    session: { executionProvider: options.executionProvider, ...(options.threads === undefined ? {} : { intraOpThreads: options.threads }) },
    scheduler: { maxBatchSize: options.maxBatchSize, batchDelayMs: options.batchDelayMs, maxQueue: options.maxQueue, timeoutMs: options.timeoutMs },
  }, logger);
  registry.expect(scan.sources);

  let closing = false;
  const app = createHttpServer({
    registry,
    metrics: createMetrics(registry),
    logger,
    serverVersion: controls.serverVersion ?? '0.0.0',
    bodyLimitBytes: options.bodyLimitBytes,
    apiKey: options.apiKey,
    cors: options.cors,
    tls,
    requestTimeoutMs: options.timeoutMs + 60_000,
  }, () => closing);

  const shutdown = shutdownRequests(controls);
  let watcher: RepositoryWatcher | undefined;
  try {
    try {
      await app.listen({ host: options.host, port: options.port });
    } catch (error) {
      throw new MlctlError('MLCTL_IO', `cannot listen on ${options.host}:${options.port}: ${describeError(error)}`, {
        cause: error,
        hint: 'pick another --port (0 picks a free one) or stop the process using it',
      });
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    const url = urlOf(tls === undefined ? 'http' : 'https', options.host, port);
    logger.info('listening', { url, models: scan.sources.length });

    const loading = (async () => {
      for (const source of scan.sources) registry.install(await registry.load(source));
    })();
    const stoppedEarly = await Promise.race([loading.then(() => undefined), shutdown.first]);
    if (stoppedEarly !== undefined) {
      logger.info('stopping', { reason: stoppedEarly, during: 'startup' });
      registry.abandonLoads();
      await loading.catch(() => undefined);
    } else {
      if (options.watch) watcher = await watchRepository(options.target, scan.sources, registry, logger, options.watchIntervalMs);
      logger.flush();
      io.stdout.write(options.logFormat === 'json' ? `${JSON.stringify({ event: 'ready', url })}\n` : `ready ${url}\n`);
      logger.info('ready', { url });
      const reason = await shutdown.first;
      logger.info('draining', { reason, drainTimeoutMs: options.drainTimeoutMs });
    }
  } finally {
    closing = true;
    await watcher?.stop();
    const drained = app.close().then(() => 'drained' as const);
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), options.drainTimeoutMs).unref());
    const outcome = await Promise.race([drained, timeout, shutdown.second.then(() => 'forced' as const)]);
    if (outcome !== 'drained') {
      logger.warn('drain-incomplete', { outcome, action: 'closing the remaining connections' });
      app.server.closeAllConnections();
      await drained;
    }
    await registry.close();
    shutdown.dispose();
    logger.info('stopped', {});
    logger.flush();
  }
}
