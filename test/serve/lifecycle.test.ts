/**
 * `mlctl serve` over its life: live at once but ready only after load and
 * warm-up; 503 with Retry-After when the queue is full or a request waits
 * too long; SIGTERM under load drains without losing an accepted request;
 * `--watch` reloads under load without a failed request, keeps the old
 * model when a reload fails, and picks up added and removed versions.
 */
import http from 'node:http';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt } from '../helpers/run-cli.js';
import { binaryBody, request, type Reply } from './helpers/http.js';
import { addToRepository, cubeModel, scaleModel } from './helpers/models.js';
import { startServer, type ServerProcess } from './helpers/server.js';

let root: string;
const running: ServerProcess[] = [];

beforeAll(async () => {
  assertCliBuilt();
  root = await mkdtemp(path.join(tmpdir(), 'mlctl-serve-lifecycle-'));
});

afterAll(async () => {
  await Promise.all(running.map((server) => server.stop('SIGKILL')));
  await rm(root, { recursive: true, force: true });
});

async function start(args: string[], options: Parameters<typeof startServer>[1] = {}): Promise<ServerProcess> {
  const server = await startServer([...args, '--port', '0', '--log-format', 'json'], options);
  running.push(server);
  return server;
}

function cubeRequest(n: number): { body: Buffer; headers: Record<string, string> } {
  const values = new Float32Array(n * n).fill(1 / n);
  return binaryBody({ inputs: [{ name: 'x', shape: [n, n], datatype: 'FP32', parameters: { binary_data_size: values.byteLength } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] },
    new Uint8Array(values.buffer));
}

const scaleBody = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });

/** Outcomes of a closed-loop load: each caller sends again as soon as its response arrives, until `stop()` or a refused connection. */
interface LoadOutcome {
  statuses: Map<number, number>;
  networkErrors: number;
  /** First output value of each 200 response, in order. */
  firstValues: number[];
  /** The same responses with when their request was sent and when the response arrived (performance.now()). */
  answers: { sentAt: number; receivedAt: number; value: number }[];
}

function closedLoopLoad(url: string, concurrency: number): { stop: () => void; done: Promise<LoadOutcome> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const outcome: LoadOutcome = { statuses: new Map(), networkErrors: 0, firstValues: [], answers: [] };
  let stopped = false;
  const caller = async (): Promise<void> => {
    while (!stopped) {
      let reply: Reply;
      const sentAt = performance.now();
      try {
        reply = await request(`${url}/v2/models/scale/infer`, { body: scaleBody, agent, timeoutMs: 10_000 });
      } catch {
        outcome.networkErrors++;
        // A refused connection means the server has stopped listening: this caller is done.
        return;
      }
      outcome.statuses.set(reply.status, (outcome.statuses.get(reply.status) ?? 0) + 1);
      if (reply.status === 200) {
        const value = (reply.json as { outputs: { data: number[] }[] }).outputs[0]!.data[0]!;
        outcome.firstValues.push(value);
        outcome.answers.push({ sentAt, receivedAt: performance.now(), value });
      }
      if (reply.status === 503) return;
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, caller)).then(() => {
    agent.destroy();
    return outcome;
  });
  return { stop: () => { stopped = true; }, done };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('readiness', () => {
  it('is live at once, answers 503 with Retry-After until the models are warm, then ready', async () => {
    // A fixed [2048, 2048] cube: its warm-up run takes long enough to be observed.
    await addToRepository(path.join(root, 'slow-warmup'), 'cube', 1, cubeModel([2048, 2048]));
    const server = await start([path.join(root, 'slow-warmup')], { untilListening: true });
    const live = await request(`${server.url}/v2/health/live`);
    expect(live.status).toBe(200);
    const ready = await request(`${server.url}/v2/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers['retry-after']).toBe('1');
    const modelReady = await request(`${server.url}/v2/models/cube/ready`);
    expect(modelReady.status).toBe(503);
    expect(modelReady.json).toEqual({ error: "model 'cube' is still loading; retry shortly" });
    const infer = await request(`${server.url}/v2/models/cube/infer`, { body: '{}' });
    expect(infer.status).toBe(503);
    expect(server.stdout()).toBe('');
    await waitFor('the ready line', () => server.stdout().includes('"ready"'), 60_000);
    expect((await request(`${server.url}/v2/health/ready`)).status).toBe(200);
    const loaded = server.events().find((event) => event['event'] === 'model-loaded');
    expect(loaded).toMatchObject({ model: 'cube', version: '1', warmupMs: expect.any(Number) });
    expect(await server.stop()).toBe(0);
  }, 90_000);
});

describe('shutdown during startup', () => {
  it('a SIGTERM before the models are ready stops the server with exit 0 and no ready line', async () => {
    const server = await start([path.join(root, 'slow-warmup')], { untilListening: true });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stdout()).toBe('');
    expect(server.events()).toContainEqual(expect.objectContaining({ event: 'stopping', reason: 'SIGTERM', during: 'startup' }));
  }, 60_000);
});

describe('bounded queue', () => {
  it('answers 503 with Retry-After when the queue is full or a request waited past --timeout-ms', async () => {
    await addToRepository(path.join(root, 'cube'), 'cube', 1, cubeModel());
    const server = await start([path.join(root, 'cube'), '--max-queue', '3', '--timeout-ms', '100']);
    const big = cubeRequest(3072);
    const small = cubeRequest(2);
    const first = request(`${server.url}/v2/models/cube/infer`, { body: big.body, headers: big.headers, timeoutMs: 60_000 });
    await waitFor('the big request to run', async () => (await request(`${server.url}/metrics`)).text.includes('nv_inference_pending_request_count{model="cube",version="1"} 1'));
    const replies = await Promise.all(Array.from({ length: 10 }, () => request(`${server.url}/v2/models/cube/infer`, { body: small.body, headers: small.headers })));
    expect((await first).status).toBe(200);
    expect(replies.map((reply) => reply.status)).toEqual(Array.from({ length: 10 }, () => 503));
    const errors = replies.map((reply) => (reply.json as { error: string }).error);
    for (const reply of replies) {
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('1');
    }
    expect(errors.filter((error) => error === "model 'cube' version 1 did not start this request within 100 ms (--timeout-ms); retry later")).toHaveLength(3);
    expect(errors.filter((error) => error === "model 'cube' version 1 has 3 requests queued, the limit (--max-queue 3); retry later")).toHaveLength(7);
    const metrics = (await request(`${server.url}/metrics`)).text;
    expect(metrics).toContain('nv_inference_request_failure{model="cube",version="1",reason="REJECTED"} 10');
    expect(await server.stop()).toBe(0);
  }, 90_000);
});

describe('SIGTERM under load', () => {
  it('stops accepting, finishes every accepted request, and exits 0', async () => {
    const repository = path.join(root, 'drain');
    await addToRepository(repository, 'scale', 1, scaleModel(1));
    await addToRepository(repository, 'cube', 1, cubeModel());
    const server = await start([repository, '--max-batch-size', '8']);
    const load = closedLoopLoad(server.url, 8);
    await sleep(400);
    const big = cubeRequest(3072);
    const slow = request(`${server.url}/v2/models/cube/infer`, { body: big.body, headers: big.headers, timeoutMs: 60_000 });
    await waitFor('the slow request to run', async () => (await request(`${server.url}/metrics`)).text.includes('nv_inference_pending_request_count{model="cube",version="1"} 1'));
    server.child.kill('SIGTERM');
    const slowReply = await slow;
    const outcome = await load.done;
    expect(await server.exited).toBe(0);

    expect(slowReply.status).toBe(200);
    expect([...outcome.statuses.keys()].every((status) => status === 200 || status === 503)).toBe(true);
    const logged = server.events().filter((event) => event['event'] === 'request' && event['path'] === '/v2/models/scale/infer');
    const loggedOk = logged.filter((event) => event['status'] === 200).length;
    expect(outcome.statuses.get(200)).toBe(loggedOk);
    expect(logged.every((event) => event['status'] === 200 || event['status'] === 503)).toBe(true);
    // Every request the server accepted got its response: the client saw as many responses as the server logged.
    expect((outcome.statuses.get(200) ?? 0) + (outcome.statuses.get(503) ?? 0)).toBe(logged.length);
    expect(loggedOk).toBeGreaterThan(50);
    const events = server.events().map((event) => event['event']);
    expect(events.indexOf('draining')).toBeLessThan(events.indexOf('stopped'));
    // The slow request was running when the drain began, and finished after it.
    const slowLog = server.events().findIndex((event) => event['event'] === 'request' && event['path'] === '/v2/models/cube/infer');
    expect(slowLog).toBeGreaterThan(events.indexOf('draining'));
    expect(server.events()[slowLog]).toMatchObject({ status: 200 });
  }, 90_000);
});

describe('--watch', () => {
  it('reloads a changed model atomically under load, keeps the old one when a reload fails, and tracks versions', async () => {
    const repository = path.join(root, 'watch');
    const file = await addToRepository(repository, 'scale', 1, scaleModel(1));
    const server = await start([repository, '--watch', '--watch-interval-ms', '100', '--max-batch-size', '4']);
    const load = closedLoopLoad(server.url, 4);
    await sleep(300);
    await addToRepository(repository, 'scale', 1, scaleModel(5));
    await waitFor('the reload', () => server.events().some((event) => event['event'] === 'model-reloaded'));
    await sleep(300);

    // A broken file, written atomically: the reload fails and the old session keeps serving.
    const temporary = `${file}.tmp`;
    await writeFile(temporary, 'not a model');
    await rename(temporary, file);
    await waitFor('the failed reload', () => server.events().some((event) => event['event'] === 'reload-failed'));
    await sleep(300);
    load.stop();
    const outcome = await load.done;

    expect(outcome.networkErrors).toBe(0);
    expect([...outcome.statuses.keys()]).toEqual([200]);
    const values = outcome.firstValues;
    const switched = values.indexOf(5);
    expect(switched).toBeGreaterThan(0);
    expect(values.slice(0, switched).every((value) => value === 1)).toBe(true);
    // Every answer came from one model or the other. A request already running on the old session when the new one
    // took over may still answer 1 after another caller's 5 arrived; but no request sent after a 5 arrived gets the old model.
    expect(values.every((value) => value === 1 || value === 5)).toBe(true);
    const firstNewAt = outcome.answers[switched]!.receivedAt;
    expect(outcome.answers.filter((answer) => answer.sentAt > firstNewAt && answer.value !== 5)).toEqual([]);
    expect(outcome.answers.filter((answer) => answer.sentAt > firstNewAt).length).toBeGreaterThan(0);
    const failure = server.events().find((event) => event['event'] === 'reload-failed');
    expect(failure).toMatchObject({ model: 'scale', version: '1', action: 'keeps serving the previous load', error: expect.stringMatching(/\S/) });
    expect((await request(`${server.url}/v2/health/ready`)).status).toBe(200);

    // A new version is loaded and becomes the default; removing it unloads it.
    await addToRepository(repository, 'scale', 2, scaleModel(7));
    await waitFor('version 2', async () => ((await request(`${server.url}/v2/models/scale`)).json as { versions: string[] }).versions.includes('2'));
    const latest = await request(`${server.url}/v2/models/scale/infer`, { body: scaleBody });
    expect(latest.json).toMatchObject({ model_version: '2', outputs: [{ data: [7, 14, 21, 28] }] });
    await rm(path.join(repository, 'scale', '2'), { recursive: true });
    await waitFor('version 2 to go', async () => (await request(`${server.url}/v2/models/scale/versions/2`)).status === 404);
    expect((await request(`${server.url}/v2/models/scale/infer`, { body: scaleBody })).json).toMatchObject({ model_version: '1', outputs: [{ data: [5, 10, 15, 20] }] });
    expect(await server.stop()).toBe(0);
  }, 90_000);
});
