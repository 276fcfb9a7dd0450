/**
 * Errors the server answers with, and the one function that maps anything
 * thrown while handling a request to a status, headers and a
 * `{"error": "..."}` body.
 */
import { MlctlError, describeError } from '../common/errors.js';

/** An error with the HTTP status (and extra headers) it should be answered with. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, options: { headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.headers = options.headers ?? {};
  }
}

/** 400: the request is malformed or does not fit the model. */
export function badRequest(message: string, cause?: unknown): HttpError {
  return new HttpError(400, message, { cause });
}

/** 404: no such model, version or route. */
export function notFound(message: string): HttpError {
  return new HttpError(404, message);
}

/** 503 with Retry-After: the server cannot take the request now (queue full, model not ready, shutting down). */
export function unavailable(message: string, retryAfterSeconds = 1): HttpError {
  return new HttpError(503, message, { headers: { 'retry-after': String(retryAfterSeconds) } });
}

/** What a response to a failed request consists of. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: string };
  /** True when this is a server fault (a bug, or the runtime failing on a valid request), to log with its stack. */
  internal: boolean;
}

/** Statuses that fastify (or Node) attaches to errors it raises about the client's request. */
const clientStatuses = new Set([400, 401, 404, 405, 408, 411, 413, 414, 415, 431]);

/**
 * Maps anything thrown while serving a request to its response: an
 * {@link HttpError} keeps its status; an `MlctlError` with code
 * MLCTL_BAD_INPUT is the client's mistake (400); fastify's own client errors
 * (body too large, bad content length) keep their 4xx status with mlctl's
 * wording; anything else is a server fault (500), never blamed on the client.
 */
export function toErrorResponse(error: unknown, bodyLimitBytes: number): ErrorResponse {
  if (error instanceof HttpError) {
    return { status: error.status, headers: { ...error.headers }, body: { error: error.message }, internal: error.status >= 500 && error.status !== 503 };
  }
  if (error instanceof MlctlError && error.code === 'MLCTL_BAD_INPUT') {
    return { status: 400, headers: {}, body: { error: error.message }, internal: false };
  }
  const status = fastifyStatus(error);
  if (status === 413) {
    return { status, headers: {}, body: { error: `the request body is larger than the server's limit of ${bodyLimitBytes} bytes (--body-limit)` }, internal: false };
  }
  if (status !== undefined && clientStatuses.has(status)) {
    return { status, headers: {}, body: { error: describeError(error) }, internal: false };
  }
  return { status: 500, headers: {}, body: { error: `internal server error: ${describeError(error)}` }, internal: true };
}

function fastifyStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  const status = (error as { statusCode: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}
