/**
 * The dynamic batcher and bounded queue, with a fake runner whose runs the
 * test finishes by hand, so every ordering is deterministic.
 */
import { describe, expect, it } from 'vitest';
import { MlctlError } from '../../src/common/errors.js';
import type { HostTensor, IoMeta } from '../../src/runtime/types.js';
import { HttpError } from '../../src/serve/http-error.js';
import type { InferRequest } from '../../src/serve/infer-request.js';
import { RunnerStoppedError, type ModelRunner, type RunResult } from '../../src/serve/runner/worker-runner.js';
import { Scheduler, type SchedulerOptions } from '../../src/serve/scheduler.js';

interface Call {
  feeds: Record<string, HostTensor>;
  outputNames: readonly string[];
  finish: (transform?: (x: Float32Array) => Float32Array) => void;
  fail: (error: Error) => void;
}

/** A runner whose outputs are y = 2x, returned when the test calls `finish`. */
function fakeRunner(): ModelRunner & { calls: Call[] } {
  const calls: Call[] = [];
  const io = (name: string): IoMeta => ({ name, dtype: 'float32', shape: ['batch', 2] });
  return {
    inputs: [io('x')],
    outputs: [io('y')],
    calls,
    run(feeds, outputNames) {
      return new Promise<RunResult>((resolve, reject) => {
        calls.push({
          feeds,
          outputNames,
          finish: (transform) => {
            const x = feeds['x']!;
            const doubled = (x.data as Float32Array).map((value) => value * 2);
            const data = transform === undefined ? doubled : transform(doubled);
            const batch = data.length / 2;
            resolve({ outputs: { y: { dtype: 'float32', dims: [batch, 2], data } }, startNs: 1, endNs: 2 });
          },
          fail: reject,
        });
      });
    },
    release: async () => undefined,
  };
}

function request(values: number[], batchable = true): InferRequest {
  return {
    id: undefined,
    inputs: { x: { dtype: 'float32', dims: [values.length / 2, 2], data: Float32Array.from(values) } },
    outputs: [{ name: 'y', binary: false }],
    batchSize: values.length / 2,
    batchable,
  };
}

const observer = { execution: () => undefined, batchingDisabled: () => undefined };

function scheduler(runner: ModelRunner, options: Partial<SchedulerOptions> = {}): Scheduler {
  return new Scheduler(runner, { maxBatchSize: 8, batchDelayMs: 0, maxQueue: 16, timeoutMs: 10_000, ...options }, observer, "model 'm' version 1");
}

function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Scheduler', () => {
  it('runs one request at a time without batching and keeps the order', async () => {
    const runner = fakeRunner();
    const s = scheduler(runner, { maxBatchSize: 1 });
    const results = [s.submit(request([1, 1])), s.submit(request([2, 2]))];
    await tick();
    expect(runner.calls).toHaveLength(1);
    expect(s.pending).toBe(2);
    runner.calls[0]!.finish();
    await tick();
    expect(runner.calls).toHaveLength(2);
    runner.calls[1]!.finish();
    const [first, second] = await Promise.all(results);
    expect(Array.from(first!.outputs['y']!.data as Float32Array)).toEqual([2, 2]);
    expect(Array.from(second!.outputs['y']!.data as Float32Array)).toEqual([4, 4]);
    expect(s.pending).toBe(0);
  });

  it('concatenates what queued during a run into one batch, up to maxBatchSize inferences, and splits the outputs', async () => {
    const runner = fakeRunner();
    const s = scheduler(runner, { maxBatchSize: 3 });
    const first = s.submit(request([1, 1]));
    const queued = [s.submit(request([2, 2, 3, 3])), s.submit(request([4, 4])), s.submit(request([5, 5]))];
    await tick();
    runner.calls[0]!.finish();
    await tick();
    // [2,2,3,3] (batch 2) + [4,4] (batch 1) fill the batch of 3; [5,5] waits for the next run.
    expect(runner.calls).toHaveLength(2);
    expect(runner.calls[1]!.feeds['x']!.dims).toEqual([3, 2]);
    expect(Array.from(runner.calls[1]!.feeds['x']!.data as Float32Array)).toEqual([2, 2, 3, 3, 4, 4]);
    runner.calls[1]!.finish();
    await tick();
    runner.calls[2]!.finish();
    const results = await Promise.all([first, ...queued]);
    expect(results.map((result) => Array.from(result.outputs['y']!.data as Float32Array))).toEqual([[2, 2], [4, 4, 6, 6], [8, 8], [10, 10]]);
    expect(results[1]!.outputs['y']!.dims).toEqual([2, 2]);
  });

  it('waits up to batchDelayMs for a batch to fill', async () => {
    const runner = fakeRunner();
    const s = scheduler(runner, { maxBatchSize: 4, batchDelayMs: 30 });
    const a = s.submit(request([1, 1]));
    await tick(5);
    expect(runner.calls).toHaveLength(0);
    const b = s.submit(request([2, 2]));
    await tick(50);
    expect(runner.calls).toHaveLength(1);
    expect(runner.calls[0]!.feeds['x']!.dims).toEqual([2, 2]);
    runner.calls[0]!.finish();
    await Promise.all([a, b]);
  });

  it('runs at once when the batch is full, without waiting for the delay', async () => {
    const runner = fakeRunner();
    const s = scheduler(runner, { maxBatchSize: 2, batchDelayMs: 10_000 });
    const results = [s.submit(request([1, 1])), s.submit(request([2, 2]))];
    await tick();
    expect(runner.calls).toHaveLength(1);
    runner.calls[0]!.finish();
    await Promise.all(results);
  });

  it('does not batch requests whose non-batch dims differ or that are not batchable', async () => {
    const runner = fakeRunner();
    const s = scheduler(runner);
    const blocker = s.submit(request([0, 0]));
    const odd: InferRequest = { ...request([1, 1, 1]), inputs: { x: { dtype: 'float32', dims: [1, 3], data: Float32Array.from([1, 1, 1]) } }, batchSize: 1 };
    const others = [s.submit(request([2, 2])), s.submit(odd), s.submit(request([3, 3], false)), s.submit(request([4, 4]))];
    await tick();
    runner.calls[0]!.finish();
    await tick();
    expect(runner.calls[1]!.feeds['x']!.dims).toEqual([2, 2]);
    expect(Array.from(runner.calls[1]!.feeds['x']!.data as Float32Array)).toEqual([2, 2, 4, 4]);
    runner.calls[1]!.finish();
    await tick();
    expect(runner.calls[2]!.feeds['x']!.dims).toEqual([1, 3]);
    runner.calls[2]!.finish();
    await tick();
    runner.calls[3]!.finish();
    await Promise.all([blocker, ...others]);
  });

  it('refuses with 503 and Retry-After when the queue is full', async () => {
    const runner = fakeRunner();
    const s = scheduler(runner, { maxBatchSize: 1, maxQueue: 2 });
    const accepted = [s.submit(request([1, 1])), s.submit(request([2, 2])), s.submit(request([3, 3]))];
    const refused = s.submit(request([4, 4]));
    await expect(refused).rejects.toMatchObject({ status: 503, headers: { 'retry-after': '1' }, message: "model 'm' version 1 has 2 requests queued, the limit (--max-queue 2); retry later" });
    for (let i = 0; i < 3; i++) {
      await tick();
      runner.calls[i]!.finish();
    }
    await Promise.all(accepted);
  });

  it('refuses with 503 a request that waited longer than timeoutMs', async () => {
    const runner = fakeRunner();
    const s = scheduler(runner, { maxBatchSize: 1, timeoutMs: 20 });
    const first = s.submit(request([1, 1]));
    const late = s.submit(request([2, 2]));
    await expect(late).rejects.toMatchObject({ status: 503, message: "model 'm' version 1 did not start this request within 20 ms (--timeout-ms); retry later" });
    runner.calls[0]!.finish();
    await first;
    await tick();
    expect(s.pending).toBe(0);
  });

  it('reruns a failed batch one request at a time, so only the bad request fails', async () => {
    const runner = fakeRunner();
    const s = scheduler(runner);
    const blocker = s.submit(request([0, 0]));
    const good = s.submit(request([1, 1]));
    const bad = s.submit(request([9, 9]));
    await tick();
    runner.calls[0]!.finish();
    await tick();
    runner.calls[1]!.fail(new MlctlError('MLCTL_RUNTIME', 'running failed: index 9 out of range'));
    await tick();
    runner.calls[2]!.finish();
    await tick();
    runner.calls[3]!.fail(new MlctlError('MLCTL_RUNTIME', 'running failed: index 9 out of range'));
    await blocker;
    expect(Array.from((await good).outputs['y']!.data as Float32Array)).toEqual([2, 2]);
    const error = await bad.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 400, message: "model 'm' version 1 failed on this request's input: running failed: index 9 out of range" });
  });

  it('turns batching off when an output does not follow the batch dimension', async () => {
    const runner = fakeRunner();
    const reasons: string[] = [];
    const s = new Scheduler(runner, { maxBatchSize: 8, batchDelayMs: 0, maxQueue: 16, timeoutMs: 10_000 }, { execution: () => undefined, batchingDisabled: (reason) => reasons.push(reason) }, 'm');
    const blocker = s.submit(request([0, 0]));
    const pair = [s.submit(request([1, 1])), s.submit(request([2, 2]))];
    await tick();
    runner.calls[0]!.finish();
    await tick();
    runner.calls[1]!.finish((y) => y.subarray(0, 2));
    await tick();
    runner.calls[2]!.finish();
    await tick();
    runner.calls[3]!.finish();
    await Promise.all([blocker, ...pair]);
    expect(reasons).toEqual(["output 'y' has shape [1, 2], whose first dimension is not the batch size 2"]);
  });

  it('answers 503 when the worker is gone, and idle() resolves once everything finished', async () => {
    const runner = fakeRunner();
    const s = scheduler(runner);
    const result = s.submit(request([1, 1]));
    await tick();
    let idle = false;
    void s.idle().then(() => { idle = true; });
    runner.calls[0]!.fail(new RunnerStoppedError('the worker running m exited (code 1)'));
    await expect(result).rejects.toMatchObject({ status: 503 });
    await tick();
    expect(idle).toBe(true);
  });
});
