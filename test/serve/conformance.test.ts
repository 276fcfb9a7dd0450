/**
 * KServe V2 conformance of `mlctl serve`, end to end: a spawned server, a
 * real HTTP client, every route, every datatype in JSON and binary, and every
 * client mistake answered with the right status and an expected-versus-got
 * message (never 500).
 */
import { mkdtemp, mkdir, rm, copyFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt } from '../helpers/run-cli.js';
import { repoRoot } from '../helpers/paths.js';
import { badRequests, binaryMistakes, binaryValues, jsonValues } from './helpers/cases.js';
import { bytesOf, binaryBody, request, splitBinaryReply } from './helpers/http.js';
import { addSubModel, addToRepository, gatherModel, identityModel, identityTypes, scaleModel } from './helpers/models.js';
import { startServer, type ServerProcess } from './helpers/server.js';

let root: string;
let server: ServerProcess;
let url: string;

beforeAll(async () => {
  assertCliBuilt();
  root = await mkdtemp(path.join(tmpdir(), 'mlctl-serve-conformance-'));
  for (const [datatype, elemType] of Object.entries(identityTypes)) {
    await addToRepository(root, `id_${datatype.toLowerCase()}`, 1, identityModel(elemType));
  }
  await addToRepository(root, 'add_sub', 1, addSubModel());
  await addToRepository(root, 'scale', 1, scaleModel(1));
  await addToRepository(root, 'scale', 2, scaleModel(2));
  await addToRepository(root, 'gather', 1, gatherModel());
  await addToRepository(root, 'object_names', 1, identityModel(identityTypes['FP32']!, ['n'], ['constructor', 'toString']));
  await mkdir(path.join(root, 'mlp', '1'), { recursive: true });
  await copyFile(path.join(repoRoot, 'fixtures/models/mlp.onnx'), path.join(root, 'mlp', '1', 'model.onnx'));
  await mkdir(path.join(root, 'bad name', '1'), { recursive: true });
  await mkdir(path.join(root, 'empty_model'), { recursive: true });
  server = await startServer([root, '--port', '0', '--log-format', 'json', '--max-batch-size', '8', '--batch-delay-ms', '50', '--body-limit', '1m']);
  url = server.url;
}, 120_000);

afterAll(async () => {
  const code = await server?.stop('SIGTERM');
  expect(code).toBe(0);
  expect(server.events().filter((event) => event['event'] === 'internal-error')).toEqual([]);
  await rm(root, { recursive: true, force: true });
}, 30_000);

function infer(model: string, body: unknown, headers: Record<string, string> = {}): ReturnType<typeof request> {
  return request(`${url}/v2/models/${model}/infer`, { method: 'POST', body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), headers });
}

describe('startup', () => {
  it('prints exactly one ready line on stdout and logs skipped repository entries', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.stdout().trim().split('\n')).toEqual([JSON.stringify({ event: 'ready', url: server.url })]);
    const skipped = server.events().filter((event) => event['event'] === 'repository-entry-skipped').map((event) => String(event['path']));
    expect(skipped.some((entry) => entry.endsWith('bad name'))).toBe(true);
    expect(skipped.some((entry) => entry.endsWith('empty_model'))).toBe(true);
  });
});

describe('health and metadata routes', () => {
  it('GET /v2/health/live and /ready answer 200 with an empty body', async () => {
    for (const route of ['/v2/health/live', '/v2/health/ready', '/v2/models/scale/ready', '/v2/models/scale/versions/1/ready']) {
      const reply = await request(url + route);
      expect(reply.status, route).toBe(200);
      expect(reply.body.length, route).toBe(0);
    }
  });

  it('GET /v2 names the server and its extensions', async () => {
    const reply = await request(`${url}/v2`);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ name: 'mlctl', version: expect.stringMatching(/^\d+\.\d+\.\d+/), extensions: ['binary_tensor_data', 'statistics'] });
  });

  it('GET /v2/models/{m} gives V2 datatypes, -1 for dynamic dims and the onnx platform', async () => {
    expect((await request(`${url}/v2/models/add_sub`)).json).toEqual({
      name: 'add_sub',
      versions: ['1'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [2, 3] }, { name: 'b', datatype: 'FP32', shape: [2, 3] }],
      outputs: [{ name: 'sum', datatype: 'FP32', shape: [2, 3] }, { name: 'diff', datatype: 'FP32', shape: [2, 3] }],
    });
    for (const datatype of Object.keys(identityTypes)) {
      const reply = await request(`${url}/v2/models/id_${datatype.toLowerCase()}`);
      expect(reply.json, datatype).toMatchObject({ inputs: [{ name: 'x', datatype, shape: [-1] }], outputs: [{ name: 'y', datatype, shape: [-1] }] });
    }
  });

  it('lists every version and addresses each one; the highest is the default', async () => {
    expect((await request(`${url}/v2/models/scale`)).json).toMatchObject({ name: 'scale', versions: ['1', '2'] });
    expect((await request(`${url}/v2/models/scale/versions/1`)).status).toBe(200);
    const x = { name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] };
    const byDefault = await infer('scale', { inputs: [x] });
    expect(byDefault.json).toMatchObject({ model_name: 'scale', model_version: '2', outputs: [{ data: [2, 4, 6, 8] }] });
    const first = await infer('scale/versions/1', { inputs: [x] });
    expect(first.json).toMatchObject({ model_name: 'scale', model_version: '1', outputs: [{ data: [1, 2, 3, 4] }] });
  });
});


describe('inference with JSON tensors', () => {
  it.each(Object.entries(jsonValues))('%s round-trips through an Identity model', async (datatype, values) => {
    const reply = await infer(`id_${datatype.toLowerCase()}`, { id: `req-${datatype}`, inputs: [{ name: 'x', shape: [3], datatype, data: values }] });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json).toEqual({ model_name: `id_${datatype.toLowerCase()}`, model_version: '1', id: `req-${datatype}`, outputs: [{ name: 'y', datatype, shape: [3], data: values }] });
  });

  it('writes 64-bit integers exactly', async () => {
    // 2^63 − 1 cannot come in as a JSON number, but it must go out exactly: send it as binary, ask for JSON.
    const big = new BigInt64Array([9223372036854775807n, -9223372036854775808n]);
    const { body, headers } = binaryBody({ inputs: [{ name: 'x', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } }] }, bytesOf(big));
    const reply = await infer('id_int64', body, headers);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.text).toContain('"data":[9223372036854775807,-9223372036854775808]');
  });

  it('accepts nested data, returns only the requested outputs, and echoes the id', async () => {
    const reply = await infer('add_sub', {
      id: '42',
      inputs: [
        { name: 'a', shape: [2, 3], datatype: 'FP32', data: [[1, 2, 3], [4, 5, 6]] },
        { name: 'b', shape: [2, 3], datatype: 'FP32', data: [1, 1, 1, 1, 1, 1] },
      ],
      outputs: [{ name: 'diff' }],
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({ model_name: 'add_sub', model_version: '1', id: '42', outputs: [{ name: 'diff', datatype: 'FP32', shape: [2, 3], data: [0, 1, 2, 3, 4, 5] }] });
  });

  it('tensors named like Object properties are ordinary names', async () => {
    const reply = await infer('object_names', { inputs: [{ name: 'constructor', shape: [2], datatype: 'FP32', data: [1, 2] }] });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ outputs: [{ name: 'toString', data: [1, 2] }] });
    const missing = await infer('object_names', { inputs: [] });
    expect((missing.json as { error: string }).error).toMatch(/needs input 'constructor'/);
  });

  it('answers FP16 in JSON with a 400 that says to send binary data', async () => {
    const reply = await infer('id_fp16', { inputs: [{ name: 'x', shape: [1], datatype: 'FP16', data: [1] }] });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ error: "input 'x': FP16 data cannot be sent as JSON; send it as binary data (parameters.binary_data_size) instead" });
  });
});


describe('binary tensor data extension', () => {
  it.each(Object.entries(binaryValues))('%s round-trips as binary data', async (datatype, bytes) => {
    const { body, headers } = binaryBody({
      inputs: [{ name: 'x', shape: [3], datatype, parameters: { binary_data_size: bytes.byteLength } }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    }, bytes);
    const reply = await infer(`id_${datatype.toLowerCase()}`, body, headers);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers['content-type']).toBe('application/octet-stream');
    const { header, binary } = splitBinaryReply(reply);
    expect(header.outputs).toEqual([{ name: 'y', datatype, shape: [3], parameters: { binary_data_size: bytes.byteLength } }]);
    expect(Buffer.from(binary).equals(Buffer.from(bytes))).toBe(true);
    expect(Number(reply.headers['content-length'])).toBe(reply.body.length);
  });

  it('binary_data_output returns every output as binary; binary_data: false on one overrides it', async () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = new Float32Array([1, 1, 1, 1, 1, 1]);
    const { body, headers } = binaryBody({
      parameters: { binary_data_output: true },
      inputs: [
        { name: 'a', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: 24 } },
        { name: 'b', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: 24 } },
      ],
      outputs: [{ name: 'sum' }, { name: 'diff', parameters: { binary_data: false } }],
    }, bytesOf(a), bytesOf(b));
    const reply = await infer('add_sub', body, headers);
    expect(reply.status, reply.text).toBe(200);
    const { header, binary } = splitBinaryReply(reply);
    expect(header.outputs[0]).toEqual({ name: 'sum', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } });
    expect(Array.from(new Float32Array(binary.buffer.slice(binary.byteOffset, binary.byteOffset + 24)))).toEqual([2, 3, 4, 5, 6, 7]);
    expect(header.outputs[1]).toEqual({ name: 'diff', datatype: 'FP32', shape: [2, 3], data: [0, 1, 2, 3, 4, 5] });
  });

  it('mixes a binary input with a JSON input', async () => {
    const { body, headers } = binaryBody({
      inputs: [
        { name: 'a', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: 24 } },
        { name: 'b', shape: [2, 3], datatype: 'FP32', data: [0, 0, 0, 0, 0, 1] },
      ],
      outputs: [{ name: 'sum' }],
    }, bytesOf(new Float32Array([1, 2, 3, 4, 5, 6])));
    const reply = await infer('add_sub', body, headers);
    expect(reply.json).toMatchObject({ outputs: [{ name: 'sum', data: [1, 2, 3, 4, 5, 7] }] });
  });
});



describe('client mistakes get 400 with expected-versus-got wording', () => {
  it.each(badRequests)('%s', async (_name, model, body, headers, message) => {
    let payload = body;
    let extra = headers;
    if (body === '__fp16_json_output__') {
      const built = binaryBody({ inputs: [{ name: 'x', shape: [1], datatype: 'FP16', parameters: { binary_data_size: 2 } }] }, new Uint8Array([0, 0x3c]));
      payload = built.body;
      extra = built.headers;
    }
    const reply = await infer(model, payload, extra);
    expect(reply.status, reply.text).toBe(400);
    expect(Object.keys(reply.json as object)).toEqual(['error']);
    expect((reply.json as { error: string }).error).toMatch(message);
  });


  it.each(binaryMistakes)('binary: %s', async (_name, header, bytes, override, message) => {
    const built = binaryBody(header, bytes);
    const reply = await infer('scale', built.body, { ...built.headers, ...override });
    expect(reply.status, reply.text).toBe(400);
    expect((reply.json as { error: string }).error).toMatch(message);
  });

  it('binary: a BOOL byte other than 0 or 1, and BYTES lengths that do not add up', async () => {
    const bools = binaryBody({ inputs: [{ name: 'x', shape: [2], datatype: 'BOOL', parameters: { binary_data_size: 2 } }] }, new Uint8Array([1, 2]));
    const boolReply = await infer('id_bool', bools.body, bools.headers);
    expect(boolReply.status).toBe(400);
    expect((boolReply.json as { error: string }).error).toBe("input 'x': BOOL element 1 is the byte 2; binary BOOL elements are 0 or 1");
    const strings = binaryBody({ inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 6 } }] }, new Uint8Array([200, 0, 0, 0, 65, 66]));
    const bytesReply = await infer('id_bytes', strings.body, strings.headers);
    expect(bytesReply.status).toBe(400);
    expect((bytesReply.json as { error: string }).error).toBe("input 'x': BYTES element 0 claims 200 bytes but only 2 remain in its binary data");
    const notUtf8 = binaryBody({ inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 5 } }] }, new Uint8Array([1, 0, 0, 0, 0xff]));
    expect((await infer('id_bytes', notUtf8.body, notUtf8.headers)).status).toBe(400);
  });

  it('a value the model itself rejects at run time is a 400 naming the runtime error', async () => {
    const reply = await infer('gather', { inputs: [{ name: 'ids', shape: [2], datatype: 'INT64', data: [1, 50] }] });
    expect(reply.status).toBe(400);
    expect((reply.json as { error: string }).error).toMatch(/^model 'gather' version 1 failed on this request's input: .*indices/i);
    const good = await infer('gather', { inputs: [{ name: 'ids', shape: [2], datatype: 'INT64', data: [1, 9] }] });
    expect(good.json).toMatchObject({ outputs: [{ name: 'y', shape: [2, 2], data: [2, 3, 18, 19] }] });
  });
});

describe('404, 405 and 413', () => {
  it('404 for an unknown model, version or route', async () => {
    const unknown = await infer('nope', { inputs: [] });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: expect.stringMatching(/^unknown model 'nope'; this server serves 'add_sub', /) });
    const version = await request(`${url}/v2/models/scale/versions/3`);
    expect(version.status).toBe(404);
    expect(version.json).toEqual({ error: "model 'scale' has no version 3; its versions are 1, 2" });
    expect((await request(`${url}/v3/whatever`)).status).toBe(404);
    expect((await request(`${url}/v2/models/nope/ready`)).status).toBe(404);
    expect((await request(`${url}/v2/models/nope/stats`)).status).toBe(404);
  });

  it('400 for a malformed model name or version', async () => {
    expect((await request(`${url}/v2/models/a%20b`)).json).toEqual({ error: "model name 'a b' is not valid; names use only the characters A-Z a-z 0-9 _ . -" });
    expect((await request(`${url}/v2/models/scale/versions/x1`)).status).toBe(400);
  });

  it('405 with an Allow header for a wrong method', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/v2/models/scale/infer', 'POST'],
      ['PUT', '/v2/models/scale/versions/1/infer', 'POST'],
      ['POST', '/v2/models/scale', 'GET, HEAD'],
      ['DELETE', '/v2/health/live', 'GET, HEAD'],
      ['POST', '/v2', 'GET, HEAD'],
      ['POST', '/metrics', 'GET, HEAD'],
    ];
    for (const [method, route, allow] of cases) {
      const reply = await request(url + route, { method });
      expect(reply.status, `${method} ${route}`).toBe(405);
      expect(reply.headers['allow']).toBe(allow);
      expect((reply.json as { error: string }).error).toMatch(new RegExp(`^${method} is not allowed on /`));
    }
  });

  it('requests that fail before routing keep the {"error"} format: bad URL encoding, an over-long name, huge headers, not HTTP', async () => {
    const badUrl = await request(`${url}/v2/models/%E0%A4%A`);
    expect(badUrl.status).toBe(400);
    expect(badUrl.json).toEqual({ error: "'/v2/models/%E0%A4%A' is not a valid url component" });
    const longName = await request(`${url}/v2/models/${'a'.repeat(300)}`);
    expect(longName.status).toBe(414);
    expect(Object.keys(longName.json as object)).toEqual(['error']);
    const headers = await request(`${url}/v2/health/live`, { headers: { 'x-big': 'a'.repeat(20_000) } });
    expect(headers.status).toBe(431);
    expect(headers.json).toEqual({ error: 'the request headers are larger than the server accepts' });
    const { port } = new URL(url);
    const raw = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('GARBAGE\r\n\r\n'));
      socket.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw).toContain('{"error":"the request is not valid HTTP (HPE_INVALID_METHOD)"}');
    expect((await request(`${url}/v2/health/live`)).status).toBe(200);
  });

  it('413 for a body over --body-limit, before reading it', async () => {
    const reply = await infer('scale', Buffer.alloc(2 * 1024 * 1024, 32));
    expect(reply.status).toBe(413);
    expect(reply.json).toEqual({ error: "the request body is larger than the server's limit of 1048576 bytes (--body-limit)" });
  });
});

describe('dynamic batching', () => {
  it('batches concurrent requests into fewer runs and gives each its own slice', async () => {
    const before = (await request(`${url}/v2/models/scale/versions/1/stats`)).json as { model_stats: { execution_count: number; inference_count: number }[] };
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => infer('scale/versions/1', {
      inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [i, i, i, i + 0.5] }],
    })));
    replies.forEach((reply, i) => expect(reply.json).toMatchObject({ outputs: [{ shape: [1, 4], data: [i, i, i, i + 0.5] }] }));
    const after = (await request(`${url}/v2/models/scale/versions/1/stats`)).json as { model_stats: { execution_count: number; inference_count: number; batch_stats: { batch_size: number }[] }[] };
    const stats = after.model_stats[0]!;
    expect(stats.inference_count - before.model_stats[0]!.inference_count).toBe(8);
    expect(stats.execution_count - before.model_stats[0]!.execution_count).toBeLessThan(8);
    expect(stats.batch_stats.some((batch) => batch.batch_size > 1)).toBe(true);
  });

  it('a request the model rejects does not fail the others in its batch', async () => {
    const replies = await Promise.all([1, 50, 2].map((id) => infer('gather', { inputs: [{ name: 'ids', shape: [1], datatype: 'INT64', data: [id] }] })));
    expect(replies.map((reply) => reply.status)).toEqual([200, 400, 200]);
  });
});

describe('statistics extension and Prometheus metrics', () => {
  it('GET /v2/models/stats follows the statistics extension schema', async () => {
    await infer('add_sub', { inputs: [{ name: 'a', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }, { name: 'b', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
    const all = (await request(`${url}/v2/models/stats`)).json as { model_stats: Record<string, unknown>[] };
    expect(all.model_stats.map((stat) => `${String(stat['name'])}/${String(stat['version'])}`)).toContain('scale/2');
    const one = (await request(`${url}/v2/models/add_sub/stats`)).json as { model_stats: Record<string, unknown>[] };
    expect(one.model_stats).toHaveLength(1);
    const duration = { count: expect.any(Number), ns: expect.any(Number) };
    expect(one.model_stats[0]).toEqual({
      name: 'add_sub',
      version: '1',
      last_inference: expect.any(Number),
      inference_count: expect.any(Number),
      execution_count: expect.any(Number),
      inference_stats: { success: duration, fail: duration, queue: duration, compute_input: duration, compute_infer: duration, compute_output: duration, cache_hit: duration, cache_miss: duration },
      batch_stats: expect.arrayContaining([{ batch_size: 1, compute_input: duration, compute_infer: duration, compute_output: duration }]),
    });
    const stat = one.model_stats[0] as { inference_stats: { success: { count: number; ns: number } }; last_inference: number };
    expect(stat.inference_stats.success.count).toBeGreaterThanOrEqual(1);
    expect(stat.inference_stats.success.ns).toBeGreaterThan(0);
    expect(Math.abs(stat.last_inference - Date.now())).toBeLessThan(60_000);
    const versions = (await request(`${url}/v2/models/scale/stats`)).json as { model_stats: { version: string }[] };
    expect(versions.model_stats.map((s) => s.version)).toEqual(['1', '2']);
  });

  it('GET /metrics has Triton\'s metric names, labelled by model and version, agreeing with the statistics', async () => {
    const reply = await request(`${url}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/plain/);
    for (const name of ['nv_inference_request_success', 'nv_inference_request_failure', 'nv_inference_count', 'nv_inference_exec_count',
      'nv_inference_request_duration_us', 'nv_inference_queue_duration_us', 'nv_inference_compute_infer_duration_us', 'nv_inference_pending_request_count']) {
      expect(reply.text, name).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
      expect(reply.text, name).toMatch(new RegExp(`^${name}\\{model="scale",version="1"(,reason="\\w+")?\\} \\d`, 'm'));
    }
    const stats = ((await request(`${url}/v2/models/scale/versions/1/stats`)).json as { model_stats: { inference_stats: { success: { count: number } }; execution_count: number }[] }).model_stats[0]!;
    const metrics = (await request(`${url}/metrics`)).text;
    expect(metrics).toContain(`nv_inference_request_success{model="scale",version="1"} ${stats.inference_stats.success.count}`);
    expect(metrics).toContain(`nv_inference_exec_count{model="scale",version="1"} ${stats.execution_count}`);
    expect(metrics).toMatch(/nv_inference_request_failure\{model="gather",version="1",reason="BACKEND"\} [1-9]/);
  });
});

describe('request logs', () => {
  it('logs one structured line per request with status and duration', async () => {
    await request(`${url}/v2/models/scale`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const logged = server.events().filter((event) => event['event'] === 'request' && event['path'] === '/v2/models/scale');
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.at(-1)).toMatchObject({ level: 'info', method: 'GET', status: 200, model: 'scale', durationMs: expect.any(Number), time: expect.any(String) });
  });
});
