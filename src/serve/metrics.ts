/**
 * Prometheus metrics under Triton's names and labels (`model`, `version`),
 * so dashboards built for Triton work unchanged. Values are read from the
 * statistics counters at scrape time; the request path updates only plain
 * numbers.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelRegistry } from './model-registry.js';
import type { FailureReason, ModelStats } from './stats.js';

type Labels = { model: string; version: string };

const nsPerUs = 1000;

/** A metrics registry for one server. */
export interface ServerMetrics {
  contentType: string;
  /** The exposition text. */
  render(): Promise<string>;
}

function labelsOf(stats: ModelStats): Labels {
  return { model: stats.name, version: stats.version };
}

/** Builds the metrics of `models` (see the module comment). */
export function createMetrics(models: ModelRegistry): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const counter = (name: string, help: string, value: (stats: ModelStats) => number): void => {
    new Counter<keyof Labels>({
      name,
      help,
      labelNames: ['model', 'version'],
      registers: [registry],
      collect() {
        this.reset();
        for (const instance of models.instances()) this.inc(labelsOf(instance.stats), value(instance.stats));
      },
    });
  };

  counter('nv_inference_request_success', 'Number of successful inference requests, all batch sizes', (s) => s.success.count);
  counter('nv_inference_count', 'Number of inferences performed (a batch of n counts n)', (s) => s.inferenceCount);
  counter('nv_inference_exec_count', 'Number of model executions performed (a dynamically batched run counts 1)', (s) => s.executionCount);
  counter('nv_inference_request_duration_us', 'Cumulative inference request duration in microseconds', (s) => (s.success.ns + s.fail.ns) / nsPerUs);
  counter('nv_inference_queue_duration_us', 'Cumulative inference queuing duration in microseconds', (s) => s.queue.ns / nsPerUs);
  counter('nv_inference_compute_input_duration_us', 'Cumulative compute input duration in microseconds', (s) => s.computeInput.ns / nsPerUs);
  counter('nv_inference_compute_infer_duration_us', 'Cumulative compute inference duration in microseconds', (s) => s.computeInfer.ns / nsPerUs);
  counter('nv_inference_compute_output_duration_us', 'Cumulative inference compute output duration in microseconds', (s) => s.computeOutput.ns / nsPerUs);

  new Counter<keyof Labels | 'reason'>({
    name: 'nv_inference_request_failure',
    help: 'Number of failed inference requests, all batch sizes',
    labelNames: ['model', 'version', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const instance of models.instances()) {
        for (const [reason, count] of Object.entries(instance.stats.failuresByReason) as [FailureReason, number][]) {
          this.inc({ ...labelsOf(instance.stats), reason }, count);
        }
      }
    },
  });

  new Gauge<keyof Labels>({
    name: 'nv_inference_pending_request_count',
    help: 'Instantaneous number of pending requests awaiting execution per-model.',
    labelNames: ['model', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const instance of models.instances()) this.set(labelsOf(instance.stats), instance.scheduler.pending);
    },
  });

  return { contentType: registry.contentType, render: () => registry.metrics() };
}
