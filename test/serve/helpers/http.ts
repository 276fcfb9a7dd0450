/**
 * A plain node:http(s) client for the conformance tests: every test talks to
 * a spawned `mlctl serve` over a real socket, as a user's client would.
 */
import http from 'node:http';
import https from 'node:https';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
  /** Trusted CA (PEM) for HTTPS to a self-signed server. */
  ca?: Buffer;
  /** Socket timeout; the request fails after it (default 20 s). */
  timeoutMs?: number;
  agent?: http.Agent;
}

/** Sends one request and reads the whole response. */
export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  const target = new URL(url);
  const body = options.body === undefined ? undefined
    : Buffer.isBuffer(options.body) ? options.body
    : typeof options.body === 'string' ? Buffer.from(options.body) : Buffer.from(JSON.stringify(options.body));
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) {
    headers['content-length'] ??= String(body.byteLength);
    headers['content-type'] ??= 'application/json';
  }
  const send = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, ca: options.ca, agent: options.agent, timeout: options.timeoutMs ?? 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const all = Buffer.concat(chunks);
        const text = all.toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, json, text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no response from ${url} within ${options.timeoutMs ?? 20_000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A binary-extension request body: the JSON header followed by the tensors' bytes. */
export function binaryBody(header: object, ...tensors: Uint8Array[]): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([json, ...tensors]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.byteLength) },
  };
}

/** Splits a binary-extension response into its JSON header and the bytes after it. */
export function splitBinaryReply(reply: Reply): { header: { outputs: { name: string; datatype: string; shape: number[]; parameters?: { binary_data_size?: number }; data?: unknown[] }[] } & Record<string, unknown>; binary: Buffer } {
  const length = Number(reply.headers['inference-header-content-length']);
  return { header: JSON.parse(reply.body.subarray(0, length).toString('utf8')), binary: reply.body.subarray(length) };
}

/** Bytes of a typed array's elements. */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
