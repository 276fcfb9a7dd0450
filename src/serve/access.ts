/**
 * Who may call the server: the API key check (constant time) and CORS.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './http-error.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * A checker of `Authorization: Bearer <key>` headers. Both sides are hashed
 * to the same length first, so the comparison takes the same time whatever
 * the length or content of the guess.
 * @returns a function that throws HttpError 401 (with `WWW-Authenticate: Bearer`) for a
 *   missing or wrong key.
 */
export function bearerKeyChecker(apiKey: string): (authorization: string | undefined) => void {
  const expected = digest(apiKey);
  return (authorization) => {
    const challenge = { 'www-authenticate': 'Bearer realm="mlctl"' };
    if (authorization === undefined || authorization === '') {
      throw new HttpError(401, 'this server needs an API key: send the header "Authorization: Bearer <key>"', { headers: challenge });
    }
    const match = /^Bearer[ \t]+(.*)$/i.exec(authorization);
    const given = digest(match?.[1]?.trim() ?? '');
    // Always compare, even for a malformed header, so its timing says nothing.
    const equal = timingSafeEqual(given, expected);
    if (match === null || !equal) {
      throw new HttpError(401, 'the API key is wrong or the Authorization header is not "Bearer <key>"', { headers: { ...challenge, 'www-authenticate': 'Bearer realm="mlctl", error="invalid_token"' } });
    }
  };
}

/** Headers a browser may send and read, for CORS. */
const allowedRequestHeaders = 'Authorization, Content-Type, Inference-Header-Content-Length';
const exposedResponseHeaders = 'Inference-Header-Content-Length, Retry-After';

/** CORS decisions for a configured origin list. */
export interface CorsPolicy {
  /** Headers to add to a response to a request from `origin` (none for an origin not allowed). */
  responseHeaders(origin: string | undefined): Record<string, string>;
  /** Headers for a preflight (OPTIONS) response. */
  preflightHeaders(origin: string | undefined): Record<string, string>;
}

/**
 * A CORS policy for `--cors <origin>`: `*` allows every origin (without
 * credentials); otherwise a comma-separated list of exact origins, echoed back
 * when the request's Origin is one of them.
 */
export function corsPolicy(setting: string): CorsPolicy {
  const origins = setting.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '');
  const any = origins.includes('*');
  const allowOrigin = (origin: string | undefined): string | undefined => {
    if (any) return '*';
    return origin !== undefined && origins.includes(origin) ? origin : undefined;
  };
  const base = (origin: string | undefined): Record<string, string> => {
    const allowed = allowOrigin(origin);
    if (allowed === undefined) return any ? {} : { vary: 'Origin' };
    return any ? { 'access-control-allow-origin': allowed } : { 'access-control-allow-origin': allowed, vary: 'Origin' };
  };
  return {
    responseHeaders: (origin) => {
      const headers = base(origin);
      if (headers['access-control-allow-origin'] !== undefined) headers['access-control-expose-headers'] = exposedResponseHeaders;
      return headers;
    },
    preflightHeaders: (origin) => {
      const headers = base(origin);
      if (headers['access-control-allow-origin'] !== undefined) {
        headers['access-control-allow-methods'] = 'GET, POST, OPTIONS';
        headers['access-control-allow-headers'] = allowedRequestHeaders;
        headers['access-control-max-age'] = '600';
      }
      return headers;
    },
  };
}
