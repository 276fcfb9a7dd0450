/**
 * Timing loops with fake steps: warm-up modes, steady-state stop rules,
 * concurrency, and the alternating order of interleaved runs.
 */
import { describe, expect, it } from 'vitest';
import { runInterleaved, runSteadyState, warmUp, type SteadyStateLimits } from '../../src/bench/sampling.js';

/** A step that keeps the thread busy for about `ms` (like a synchronous inference). */
function busyStep(ms: number): () => Promise<void> {
  return async () => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // spin
    }
  };
}

const far = (): number => performance.now() + 60_000;
const limits = (overrides: Partial<SteadyStateLimits>): SteadyStateLimits => ({
  iterations: null, durationMs: null, minIterations: 1, deadline: far(), ...overrides,
});

describe('warmUp', () => {
  it('runs a fixed count per target, interleaved', async () => {
    const calls: string[] = [];
    const result = await warmUp([async () => calls.push('a'), async () => calls.push('b')], { mode: 3, deadline: far() });
    expect(result.iterations).toBe(3);
    expect(result.converged).toBeNull();
    expect(calls).toEqual(['a', 'b', 'b', 'a', 'a', 'b']);
    expect(result.samplesMs.map((list) => list.length)).toEqual([3, 3]);
  });

  it('auto: stops once successive windows agree', async () => {
    const result = await warmUp([busyStep(0.2)], { mode: 'auto', deadline: far() });
    expect(result.converged).toBe(true);
    // First call, then at least two windows of 5 to 200 calls.
    expect(result.iterations).toBeGreaterThanOrEqual(11);
    expect(result.samplesMs[0]).toHaveLength(result.iterations);
  });

  it('auto: gives up at the deadline when the step keeps slowing down', async () => {
    let delayMs = 0.05;
    const slowingDown = async (): Promise<void> => {
      delayMs *= 1.2;
      await busyStep(Math.min(delayMs, 5))();
    };
    const result = await warmUp([slowingDown], { mode: 'auto', deadline: performance.now() + 150 });
    expect(result.converged).toBe(false);
    expect(result.durationMs).toBeLessThan(1000);
  });
});

describe('runSteadyState', () => {
  it('stops after the asked iterations', async () => {
    const result = await runSteadyState(busyStep(0.01), limits({ iterations: 25 }));
    expect(result.samplesMs).toHaveLength(25);
    expect(result.stoppedBy).toBe('iterations');
    expect(result.samplesMs.every((sample) => sample >= 0.01)).toBe(true);
  });

  it('stops after the duration, but not before the minimum count', async () => {
    const timed = await runSteadyState(busyStep(0.5), limits({ durationMs: 20, minIterations: 3 }));
    expect(timed.stoppedBy).toBe('duration');
    expect(timed.durationMs).toBeGreaterThanOrEqual(20);
    const counted = await runSteadyState(busyStep(2), limits({ durationMs: 1, minIterations: 6 }));
    expect(counted.samplesMs).toHaveLength(6);
  });

  it('stops at the deadline (time budget) whatever else says', async () => {
    const result = await runSteadyState(busyStep(1), limits({ iterations: 1_000_000, deadline: performance.now() + 20 }));
    expect(result.stoppedBy).toBe('time-budget');
    expect(result.samplesMs.length).toBeLessThan(1000);
  });

  it('keeps N calls in flight and records each call', async () => {
    let inFlight = 0;
    let most = 0;
    const step = async (): Promise<void> => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
    };
    const result = await runSteadyState(step, limits({ iterations: 40 }), 4);
    expect(result.samplesMs).toHaveLength(40);
    expect(most).toBe(4);
  });
});

describe('runInterleaved', () => {
  it('alternates the order AB, BA, … and pairs the samples by round', async () => {
    const calls: string[] = [];
    const result = await runInterleaved([async () => calls.push('a'), async () => calls.push('b')], limits({ iterations: 4 }));
    expect(calls.join('')).toBe('abbaabba');
    expect(result.samplesMs.map((list) => list.length)).toEqual([4, 4]);
    expect(result.stoppedBy).toBe('iterations');
  });
});
