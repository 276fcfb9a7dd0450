/**
 * The HTTP side of `mlctl serve`: KServe V2 REST routes, Triton's statistics
 * extension, Prometheus metrics, API key and CORS, body limits, 404/405, and
 * the one error handler that turns anything thrown into `{"error": "..."}`.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { bearerKeyChecker, corsPolicy } from './access.js';
import { HttpError, notFound, toErrorResponse, unavailable } from './http-error.js';
import { handleInfer } from './infer-handler.js';
import type { Logger } from './logger.js';
import type { ServerMetrics } from './metrics.js';
import type { ModelRegistry } from './model-registry.js';

/** What the HTTP server needs. */
export interface HttpServerOptions {
  registry: ModelRegistry;
  metrics: ServerMetrics;
  logger: Logger;
  /** Server name and version for `GET /v2`. */
  serverVersion: string;
  bodyLimitBytes: number;
  apiKey: string | undefined;
  cors: string | undefined;
  /** PEM certificate and key contents, for HTTPS. */
  tls: { cert: Buffer; key: Buffer } | undefined;
  /** Longest a request may take on the wire and in the queue, in ms (slow clients are cut off after it). */
  requestTimeoutMs: number;
}

/** Extensions advertised by `GET /v2`. */
export const SERVER_EXTENSIONS = ['binary_tensor_data', 'statistics'] as const;

/** Routes that answer without an API key (probes cannot send one). */
const HEALTH_ROUTES = new Set(['/v2/health/live', '/v2/health/ready']);

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
type Method = (typeof ALL_METHODS)[number];

type ModelParams = { model: string; version?: string };

const startTimes = new WeakMap<FastifyRequest, number>();
/** The error message each failed request was answered with, for its log line. */
const errorMessages = new WeakMap<FastifyRequest, string>();

function modelParams(request: FastifyRequest): ModelParams {
  return request.params as ModelParams;
}

/** `/v2/models/:model` and `/v2/models/:model/versions/:version` followed by `suffix`. */
function modelPaths(suffix: string): string[] {
  return [`/v2/models/:model${suffix}`, `/v2/models/:model/versions/:version${suffix}`];
}

/**
 * Answers a request Node could not even parse (oversized headers, bad HTTP,
 * a client too slow to send it) in mlctl's error format, then closes the connection.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? [408, 'the request did not arrive in time']
    : error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'the request headers are larger than the server accepts']
      : [400, `the request is not valid HTTP (${error.code ?? error.message})`];
  const body = JSON.stringify({ error: message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/**
 * Builds the server (not listening yet).
 * @param isClosing tells whether shutdown has begun, so readiness turns false at once.
 */
export function createHttpServer(options: HttpServerOptions, isClosing: () => boolean): FastifyInstance {
  const { registry, metrics, logger } = options;
  const common = {
    logger: false,
    bodyLimit: options.bodyLimitBytes,
    requestTimeout: options.requestTimeoutMs,
    // Requests on open connections during a drain get mlctl's own 503 (with Retry-After, logged) from the hook below.
    return503OnClosing: false,
    forceCloseConnections: 'idle' as const,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors fastify raises before routing (a URL that does not decode, an over-long model name) keep mlctl's format.
    frameworkErrors: (error: Error & { statusCode?: number }, request: FastifyRequest, reply: FastifyReply) => {
      const status = error.statusCode === 414 ? 414 : 400;
      logger.info('request', { method: request.method, path: request.url, status, error: error.message });
      void reply.code(status).send({ error: error.message });
    },
    clientErrorHandler: answerClientError,
  };
  // Both branches build the same server but for the socket type; the routes do not depend on it.
  const app = (options.tls === undefined
    ? Fastify(common)
    : Fastify({ ...common, https: { cert: options.tls.cert, key: options.tls.key } })) as unknown as FastifyInstance;

  const checkKey = options.apiKey === undefined ? undefined : bearerKeyChecker(options.apiKey);
  const cors = options.cors === undefined ? undefined : corsPolicy(options.cors);

  app.removeAllContentTypeParsers();
  // Every body is read as bytes: JSON and binary-extension requests are told apart by a header, not the content type.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    startTimes.set(request, performance.now());
    if (cors !== undefined) reply.headers(cors.responseHeaders(request.headers.origin));
    const isPreflight = cors !== undefined && request.method === 'OPTIONS';
    // Judged by the matched route, not the raw URL, so no spelling of a path slips past the key check.
    const isHealth = HEALTH_ROUTES.has(request.routeOptions.url ?? '');
    if (checkKey !== undefined && !isPreflight && !isHealth) checkKey(request.headers.authorization);
    if (isClosing() && !isHealth) throw unavailable('the server is shutting down; retry on another replica');
  });

  // A response finished during a drain closes its connection, so the drain does not wait on idle keep-alive clients.
  app.addHook('onSend', async (_request, reply) => {
    if (isClosing()) reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    const started = startTimes.get(request);
    const params = (request.params ?? {}) as Partial<ModelParams>;
    logger.info('request', {
      method: request.method,
      path: request.url,
      status: reply.statusCode,
      durationMs: started === undefined ? undefined : Math.round((performance.now() - started) * 1000) / 1000,
      model: params.model,
      version: params.version,
      error: errorMessages.get(request),
    });
  });

  app.setErrorHandler((error, request, reply) => {
    const response = toErrorResponse(error, options.bodyLimitBytes);
    if (response.internal) {
      logger.error('internal-error', { method: request.method, path: request.url, error: error instanceof Error ? error.stack ?? error.message : String(error) });
    }
    errorMessages.set(request, response.body.error);
    return reply.code(response.status).headers(response.headers).send(response.body);
  });

  app.setNotFoundHandler((request) => {
    throw notFound(`no route ${request.method} ${request.url.split('?')[0]}; see GET /v2 and the KServe V2 protocol for the routes`);
  });

  const routes = new Map<string, Method[]>();
  const route = (method: 'GET' | 'POST', urls: string[], handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void => {
    for (const url of urls) {
      app.route({ method, url, handler });
      routes.set(url, [...(routes.get(url) ?? []), method, ...(method === 'GET' ? ['HEAD' as const] : [])]);
    }
  };

  route('GET', ['/v2/health/live'], async (_request, reply) => reply.code(200).send());
  route('GET', ['/v2/health/ready'], async (_request, reply) => {
    if (isClosing()) throw unavailable('the server is shutting down');
    if (!registry.ready) throw unavailable('the server is not ready: models are still loading or one has failed (see GET /v2/models/<name>/ready)', 1);
    return reply.code(200).send();
  });
  route('GET', ['/v2'], async () => ({ name: 'mlctl', version: options.serverVersion, extensions: SERVER_EXTENSIONS }));
  route('GET', modelPaths(''), async (request) => {
    const { model, version } = modelParams(request);
    return registry.metadata(registry.resolve(model, version));
  });
  route('GET', modelPaths('/ready'), async (request, reply) => {
    const { model, version } = modelParams(request);
    registry.resolve(model, version);
    return reply.code(200).send();
  });
  route('GET', ['/v2/models/stats', ...modelPaths('/stats')], async (request) => {
    const { model, version } = (request.params ?? {}) as Partial<ModelParams>;
    return { model_stats: registry.stats(model, version).map((stats) => stats.toJSON()) };
  });
  route('POST', modelPaths('/infer'), async (request, reply) => {
    const { model, version } = modelParams(request);
    const instance = registry.resolve(model, version);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const response = await handleInfer(instance, body, request.headers['inference-header-content-length']);
    reply.header('content-type', response.contentType);
    if (response.inferenceHeaderLength !== undefined) reply.header('inference-header-content-length', String(response.inferenceHeaderLength));
    return reply.send(response.body);
  });
  route('GET', ['/metrics'], async (_request, reply) => {
    reply.header('content-type', metrics.contentType);
    return reply.send(await metrics.render());
  });

  if (cors !== undefined) {
    app.route({
      method: 'OPTIONS',
      url: '*',
      handler: async (request, reply) => reply.code(204).headers(cors.preflightHeaders(request.headers.origin)).send(),
    });
  }
  for (const [url, allowed] of routes) {
    const others = ALL_METHODS.filter((method) => !allowed.includes(method) && !(method === 'OPTIONS' && cors !== undefined));
    const allow = cors === undefined ? allowed : [...allowed, 'OPTIONS'];
    app.route({
      method: others,
      url,
      handler: async (request) => {
        throw new HttpError(405, `${request.method} is not allowed on ${url.replace(/:(\w+)/g, '{$1}')}; use ${allowed.filter((m) => m !== 'HEAD').join(' or ')}`, { headers: { allow: allow.join(', ') } });
      },
    });
  }
  return app;
}
