/**
 * `mlctl serve` with an API key, TLS and CORS, end to end over HTTPS with a
 * self-signed certificate made by openssl for this test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt } from '../helpers/run-cli.js';
import { request } from './helpers/http.js';
import { addToRepository, scaleModel } from './helpers/models.js';
import { startServer, type ServerProcess } from './helpers/server.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const openssl = hasOpenssl();
if (!openssl && process.env.MLCTL_REQUIRE_CORPUS === '1') {
  throw new Error('the openssl command (Debian package openssl) is needed to make a test certificate, and MLCTL_REQUIRE_CORPUS=1 requires it');
}
if (!openssl) console.warn('serve security tests skipped: the openssl command is needed to make a test certificate');

const apiKey = 'test-key-0123456789';
const origin = 'https://app.example';
let root: string;
let ca: Buffer;
let server: ServerProcess;
let url: string;

describe.skipIf(!openssl)('API key, TLS and CORS', () => {
  beforeAll(async () => {
    assertCliBuilt();
    root = await mkdtemp(path.join(tmpdir(), 'mlctl-serve-security-'));
    await addToRepository(path.join(root, 'models'), 'scale', 1, scaleModel(3));
    const cert = path.join(root, 'cert.pem');
    const key = path.join(root, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    ca = await readFile(cert);
    server = await startServer([path.join(root, 'models'), '--port', '0', '--log-format', 'json', '--tls-cert', cert, '--tls-key', key, '--cors', origin],
      { env: { MLCTL_API_KEY: apiKey } });
    url = server.url;
  }, 120_000);

  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
    await rm(root, { recursive: true, force: true });
  });

  const auth = { authorization: `Bearer ${apiKey}` };

  it('serves HTTPS and prints an https ready URL', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const reply = await request(`${url}/v2`, { ca, headers: auth });
    expect(reply.status).toBe(200);
  });

  it('health routes need no key; every other route does', async () => {
    expect((await request(`${url}/v2/health/live`, { ca })).status).toBe(200);
    expect((await request(`${url}/v2/health/ready`, { ca })).status).toBe(200);
    for (const route of ['/v2', '/v2/models/scale', '/v2/models/scale/ready', '/v2/models/stats', '/metrics', '/v2/models/nope']) {
      const reply = await request(url + route, { ca });
      expect(reply.status, route).toBe(401);
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer realm="mlctl"/);
      expect(reply.json).toEqual({ error: 'this server needs an API key: send the header "Authorization: Bearer <key>"' });
    }
  });

  it('a wrong key, another scheme or a prefix of the key gets 401', async () => {
    for (const authorization of [`Bearer ${apiKey}x`, `Bearer ${apiKey.slice(0, -1)}`, `Basic ${apiKey}`, apiKey, 'Bearer ']) {
      const reply = await request(`${url}/v2/models/scale`, { ca, headers: { authorization } });
      expect(reply.status, authorization).toBe(401);
      expect((reply.json as { error: string }).error).toBe('the API key is wrong or the Authorization header is not "Bearer <key>"');
    }
  });

  it('the right key opens inference', async () => {
    const reply = await request(`${url}/v2/models/scale/infer`, { ca, headers: auth, body: { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ outputs: [{ data: [3, 6, 9, 12] }] });
  });

  it('CORS: an allowed origin is echoed with the exposed headers; others get none', async () => {
    const allowed = await request(`${url}/v2/health/live`, { ca, headers: { origin } });
    expect(allowed.headers['access-control-allow-origin']).toBe(origin);
    expect(allowed.headers['access-control-expose-headers']).toBe('Inference-Header-Content-Length, Retry-After');
    expect(allowed.headers['vary']).toMatch(/Origin/);
    const other = await request(`${url}/v2/health/live`, { ca, headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('CORS preflight needs no key and names the methods and headers', async () => {
    const reply = await request(`${url}/v2/models/scale/infer`, {
      ca,
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(reply.status).toBe(204);
    expect(reply.headers['access-control-allow-origin']).toBe(origin);
    expect(reply.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
    expect(reply.headers['access-control-allow-headers']).toBe('Authorization, Content-Type, Inference-Header-Content-Length');
  });

  it('plain HTTP to the TLS port gets no inference', async () => {
    const status = await request(url.replace('https:', 'http:') + '/v2/health/live', { timeoutMs: 3000 }).then((reply) => reply.status, () => 0);
    expect(status).not.toBe(200);
  });
});
