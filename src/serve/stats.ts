/**
 * Per model version counters for Triton's statistics extension
 * (`GET /v2/models[/m[/versions/v]]/stats`) and the Prometheus metrics built
 * from them. They live apart from the loaded session, so a hot reload keeps
 * counting where the old session stopped.
 */

/** Triton's `$duration_stat`: how many times, and the total nanoseconds. */
export interface DurationStat {
  count: number;
  ns: number;
}

/** Why a request failed, as Triton's `nv_inference_request_failure` `reason` label names it. */
export type FailureReason = 'REJECTED' | 'BACKEND' | 'OTHER';

/** The statistics of one executed batch size. */
export interface BatchStat {
  batch_size: number;
  compute_input: DurationStat;
  compute_infer: DurationStat;
  compute_output: DurationStat;
}

/** Timing of one successful request, in nanoseconds. */
export interface RequestTiming {
  totalNs: number;
  queueNs: number;
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}

function zero(): DurationStat {
  return { count: 0, ns: 0 };
}

function add(stat: DurationStat, ns: number, count = 1): void {
  stat.count += count;
  stat.ns += Math.max(0, Math.round(ns));
}

/** Counters of one model version (see the module comment). */
export class ModelStats {
  readonly name: string;
  readonly version: string;
  lastInferenceMs = 0;
  inferenceCount = 0;
  executionCount = 0;
  readonly success = zero();
  readonly fail = zero();
  readonly queue = zero();
  readonly computeInput = zero();
  readonly computeInfer = zero();
  readonly computeOutput = zero();
  readonly failuresByReason: Record<FailureReason, number> = { REJECTED: 0, BACKEND: 0, OTHER: 0 };
  readonly #batches = new Map<number, BatchStat>();

  constructor(name: string, version: string) {
    this.name = name;
    this.version = version;
  }

  /** Records a successful request holding `inferences` inferences (its batch size). */
  recordSuccess(inferences: number, timing: RequestTiming): void {
    this.lastInferenceMs = Date.now();
    this.inferenceCount += inferences;
    add(this.success, timing.totalNs);
    add(this.queue, timing.queueNs);
    add(this.computeInput, timing.computeInputNs);
    add(this.computeInfer, timing.computeInferNs);
    add(this.computeOutput, timing.computeOutputNs);
  }

  /** Records a failed request for this model (bad input, queue full, runtime failure). */
  recordFailure(reason: FailureReason, totalNs: number): void {
    this.lastInferenceMs = Date.now();
    add(this.fail, totalNs);
    this.failuresByReason[reason] += 1;
  }

  /** Records one model execution of `batchSize` inferences. */
  recordExecution(batchSize: number, computeInputNs: number, computeInferNs: number, computeOutputNs: number): void {
    this.executionCount += 1;
    let stat = this.#batches.get(batchSize);
    if (stat === undefined) {
      stat = { batch_size: batchSize, compute_input: zero(), compute_infer: zero(), compute_output: zero() };
      this.#batches.set(batchSize, stat);
    }
    add(stat.compute_input, computeInputNs);
    add(stat.compute_infer, computeInferNs);
    add(stat.compute_output, computeOutputNs);
  }

  /** Triton's `$model_stat` object. */
  toJSON(): object {
    return {
      name: this.name,
      version: this.version,
      last_inference: this.lastInferenceMs,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: { ...this.success },
        fail: { ...this.fail },
        queue: { ...this.queue },
        compute_input: { ...this.computeInput },
        compute_infer: { ...this.computeInfer },
        compute_output: { ...this.computeOutput },
        cache_hit: zero(),
        cache_miss: zero(),
      },
      batch_stats: [...this.#batches.values()].sort((a, b) => a.batch_size - b.batch_size),
    };
  }
}
