/**
 * Drives one concurrency level against an endpoint: `concurrency` callers,
 * each sending the prepared request again as soon as its previous response
 * has arrived (a closed loop, as perf_analyzer does), first for the warm-up
 * time, then for the measured time.
 */
import type { PreparedRequest } from './endpoint.js';
import { httpRequest, type HttpResponse, type HttpTarget } from './http-client.js';

/** What one level measured. */
export interface LevelSamples {
  concurrency: number;
  /** Latencies of successful requests started in the measured window, in completion order, ms. */
  samplesMs: number[];
  /** Latencies of successful warm-up requests, ms. */
  warmupSamplesMs: number[];
  warmupMs: number;
  /** From the end of warm-up until the last measured response, ms. */
  durationMs: number;
  /** Requests sent in warm-up and measured window together. */
  requests: number;
  /** Failed requests (warm-up included) by kind: `HTTP 503`, `ECONNRESET`, `bad response`. */
  failures: Record<string, number>;
  /** The first failure's message, to show what went wrong. */
  firstFailure: string | undefined;
}

/** Timing of a level. */
export interface LevelTiming {
  warmupMs: number;
  durationMs: number;
  /** Per-request timeout, ms. */
  requestTimeoutMs: number;
}

function checkResponse(response: HttpResponse, prepared: PreparedRequest, deep: boolean): string | undefined {
  if (response.status !== 200) {
    const text = response.body.toString('utf8', 0, Math.min(response.body.length, 300));
    return `HTTP ${response.status}: ${text}`;
  }
  if (!deep) return response.body.length > 0 ? undefined : 'bad response: empty body';
  const headerLength = response.headers['inference-header-content-length'];
  const jsonBytes = headerLength === undefined ? response.body : response.body.subarray(0, Number(headerLength));
  try {
    const parsed = JSON.parse(jsonBytes.toString('utf8')) as { outputs?: { name?: unknown }[] };
    const names = new Set((parsed.outputs ?? []).map((output) => output.name));
    const missing = prepared.outputNames.filter((name) => !names.has(name));
    return missing.length === 0 ? undefined : `bad response: outputs ${missing.join(', ')} missing`;
  } catch (error) {
    return `bad response: ${(error as Error).message}`;
  }
}

function failureKind(message: string): string {
  const match = /^(HTTP \d+|bad response)/.exec(message);
  return match?.[1] ?? message;
}

/** Runs one level (see the module comment). */
export async function driveLevel(target: HttpTarget, prepared: PreparedRequest, concurrency: number, timing: LevelTiming): Promise<LevelSamples> {
  const result: LevelSamples = {
    concurrency,
    samplesMs: [],
    warmupSamplesMs: [],
    warmupMs: timing.warmupMs,
    durationMs: 0,
    requests: 0,
    failures: {},
    firstFailure: undefined,
  };
  const start = performance.now();
  const measureFrom = start + timing.warmupMs;
  const end = measureFrom + timing.durationMs;
  let lastResponse = measureFrom;
  let validated = false;

  const fail = (message: string): void => {
    const kind = failureKind(message);
    result.failures[kind] = (result.failures[kind] ?? 0) + 1;
    result.firstFailure ??= message;
  };

  const caller = async (): Promise<void> => {
    for (;;) {
      const sent = performance.now();
      if (sent >= end) return;
      result.requests++;
      try {
        const response = await httpRequest(target, 'POST', prepared.path, prepared.body, prepared.headers, timing.requestTimeoutMs);
        const received = performance.now();
        // Every response is checked for its status; the first successful one also for its outputs.
        const problem = checkResponse(response, prepared, !validated);
        if (problem !== undefined) {
          fail(problem);
          continue;
        }
        validated = true;
        if (sent >= measureFrom) {
          result.samplesMs.push(received - sent);
          lastResponse = Math.max(lastResponse, received);
        } else {
          result.warmupSamplesMs.push(received - sent);
        }
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        fail(code ?? (error as Error).message);
        // A refused or reset connection fails at once; do not spin on it.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  result.durationMs = Math.max(lastResponse, end) - measureFrom;
  return result;
}
