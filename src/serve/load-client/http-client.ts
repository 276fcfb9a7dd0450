/**
 * A small keep-alive HTTP(S) client for the load client: node:http with one
 * pooled connection per concurrent caller, so every request reuses a warm
 * connection as perf_analyzer's do.
 */
import http from 'node:http';
import https from 'node:https';
import { UsageError } from '../../common/errors.js';

/** Where requests go, and the connection pool to send them on. */
export interface HttpTarget {
  /** `http://host:port`, for messages. */
  origin: string;
  request: typeof http.request;
  hostname: string;
  port: number;
  /** Path prefix of the URL (without a trailing slash), e.g. '' or '/serving'. */
  basePath: string;
  agent: http.Agent;
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey: string | undefined;
}

/** One response, read whole. */
export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A target for `url` with a pool of `connections` keep-alive connections.
 * @throws UsageError for a URL that is not http(s)://host[:port][/path].
 */
export function createTarget(url: string, connections: number, apiKey: string | undefined): HttpTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url '${url}' is not a URL; expected e.g. http://127.0.0.1:8000`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url '${url}' uses ${parsed.protocol}; expected http:// or https://`);
  }
  const secure = parsed.protocol === 'https:';
  const agentOptions = { keepAlive: true, maxSockets: connections, maxFreeSockets: connections };
  return {
    origin: parsed.origin,
    request: secure ? https.request : http.request,
    hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port),
    basePath: parsed.pathname.replace(/\/+$/, ''),
    agent: secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions),
    apiKey,
  };
}

/**
 * Sends one request and reads the whole response.
 * @throws the socket's error (ECONNREFUSED, ECONNRESET, a timeout) when no response arrives.
 */
export function httpRequest(target: HttpTarget, method: string, path: string, body: Buffer | undefined, headers: Record<string, string>, timeoutMs = 60_000): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const allHeaders: Record<string, string> = { ...headers };
    if (body !== undefined) allHeaders['content-length'] = String(body.byteLength);
    if (target.apiKey !== undefined) allHeaders['authorization'] = `Bearer ${target.apiKey}`;
    const request = target.request({
      hostname: target.hostname,
      port: target.port,
      path: target.basePath + path,
      method,
      headers: allHeaders,
      agent: target.agent,
      timeout: timeoutMs,
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error(`no response within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
    request.end(body);
  });
}

/** Closes the pool's idle connections. */
export function closeTarget(target: HttpTarget): void {
  target.agent.destroy();
}
