/**
 * `mlctl bench --url`: drives any KServe V2 server (mlctl serve, Triton,
 * KServe, MLServer) at one or more concurrency levels, like perf_analyzer,
 * and reports each level as a row of an ordinary bench report (target kind
 * `endpoint`), so the same renderers, `--assert` gates, `--baseline`
 * comparisons and JSON schema apply. Failed requests are counted per level,
 * noted on the row, and gated: any failure fails the report unless allowed.
 */
import { parseAssertion } from '../../bench/assertions.js';
import { environmentFingerprint } from '../../bench/environment.js';
import { buildMeasuredRow } from '../../bench/measured-row.js';
import { RuntimeNoiseMonitor } from '../../bench/noise.js';
import { assembleReport } from '../../bench/report.js';
import type { BenchReport, BenchSettings, GateResult, MeasuredRow } from '../../bench/report-types.js';
import { MlctlError } from '../../common/errors.js';
import { prepareRequest } from './endpoint.js';
import { closeTarget, createTarget } from './http-client.js';
import { driveLevel, type LevelSamples } from './load-driver.js';

/** What to drive. */
export interface EndpointOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8000. */
  url: string;
  model: string;
  /** Model version; the server's default when absent. */
  version?: string | undefined;
  /** Concurrency levels, one row each (default 1, 4, 16, 64). */
  concurrency: readonly number[];
  /** Send tensors with Triton's binary tensor data extension instead of JSON. */
  binary: boolean;
  /** Bearer API key. */
  apiKey?: string | undefined;
  /** Warm-up time per level, ms (default 1000). */
  warmupMs?: number;
  /** Per-request timeout, ms (default 60 000). */
  requestTimeoutMs?: number;
  /** Failed requests tolerated per level before its gate fails (default 0). */
  maxFailures?: number;
}

/** The report plus the raw per-level counts. */
export interface EndpointBenchResult {
  report: BenchReport;
  levels: LevelSamples[];
}

/** Default concurrency levels, as in the issue's load test. */
export const DEFAULT_CONCURRENCY = [1, 4, 16, 64] as const;

function failureText(level: LevelSamples): string {
  return Object.entries(level.failures).map(([kind, count]) => `${count} × ${kind}`).join(', ');
}

/**
 * Runs every level and builds the report. `settings` supplies the steady-state
 * duration (`durationMs`, default 3 s when null), the bootstrap, the seed and
 * shapes of the random inputs, and the `--assert`/`--baseline` gates.
 * @throws MlctlError MLCTL_IO when the endpoint cannot be reached or has no such model;
 *   MLCTL_BAD_INPUT when the model's inputs cannot be generated.
 */
export async function runEndpointBench(options: EndpointOptions, settings: BenchSettings, baseline?: BenchReport): Promise<EndpointBenchResult> {
  const createdAt = new Date().toISOString();
  const started = performance.now();
  const assertions = settings.asserts.map(parseAssertion);
  const levels = options.concurrency.length === 0 ? [...DEFAULT_CONCURRENCY] : [...options.concurrency];
  const target = createTarget(options.url, Math.max(...levels), options.apiKey);
  const shapes = settings.inputs.source === 'random' ? settings.inputs.shapes : {};
  if (settings.inputs.source === 'files') throw new MlctlError('MLCTL_BAD_INPUT', '--inputs is not supported with --url; the load client sends seeded random inputs (--shape sets their shapes)');
  const seed = settings.inputs.source === 'random' ? settings.inputs.seed : 0;
  const rows: MeasuredRow[] = [];
  const samples: LevelSamples[] = [];
  const gates: GateResult[] = [];
  const maxFailures = options.maxFailures ?? 0;
  try {
    const setupStart = performance.now();
    const prepared = await prepareRequest(target, { model: options.model, version: options.version, binary: options.binary, shapes, seed });
    const setupMs = performance.now() - setupStart;
    const encoding = options.binary ? 'binary' : 'json';
    for (const concurrency of levels) {
      const monitor = new RuntimeNoiseMonitor();
      monitor.start();
      const level = await driveLevel(target, prepared, concurrency, {
        warmupMs: options.warmupMs ?? 1000,
        durationMs: settings.durationMs ?? 3000,
        requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      });
      const noise = monitor.stop();
      samples.push(level);
      const id = `endpoint-c${concurrency}-${encoding}`;
      const label = `${options.model}${options.version === undefined ? '' : ` v${options.version}`} @ ${target.origin} ${encoding} concurrency ${concurrency}`;
      if (level.samplesMs.length === 0) {
        throw new MlctlError('MLCTL_RUNTIME', `no request to ${target.origin}${prepared.path} succeeded at concurrency ${concurrency}: ${level.firstFailure ?? 'no response'}`);
      }
      const row = buildMeasuredRow(
        {
          id,
          key: `endpoint|${target.origin}|${options.model}|${options.version ?? ''}|${encoding}|c${concurrency}`,
          label,
          target: { kind: 'endpoint', url: target.origin, name: options.model },
          role: 'single',
          pairId: null,
          config: {
            executionProvider: settings.executionProviders[0] ?? 'cpu',
            batch: null,
            intraOpThreads: null,
            interOpThreads: null,
            graphOptimizationLevel: settings.graphOptimizationLevel,
            executionMode: settings.executionMode,
            concurrency,
          },
        },
        settings,
        { inputs: prepared.inputs, itemsPerInference: prepared.itemsPerInference, sessionCreationMs: setupMs, firstRunMs: level.warmupSamplesMs[0] ?? level.samplesMs[0] ?? 0 },
        { iterations: level.warmupSamplesMs.length, durationMs: level.warmupMs, converged: null, samplesMs: [level.warmupSamplesMs] },
        level.warmupSamplesMs,
        { samplesMs: level.samplesMs, durationMs: level.durationMs, busyMs: level.durationMs, stoppedBy: 'duration' },
        noise,
      );
      // The in-process note about run() calls queuing on the JavaScript thread does not apply to a server.
      row.notes = row.notes.filter((note) => !note.startsWith('onnxruntime-node runs each run()'));
      row.notes.push(`${level.requests} requests with ${prepared.body.byteLength}-byte ${encoding} bodies; throughput counts successful responses in the measured window`);
      const failed = Object.values(level.failures).reduce((sum, count) => sum + count, 0);
      if (failed > 0) row.notes.push(`${failed} failed requests (${failureText(level)}); first: ${level.firstFailure ?? ''}`);
      rows.push(row);
      gates.push({
        kind: 'assert',
        name: `failed requests <= ${maxFailures}`,
        rowId: row.id,
        rowLabel: row.label,
        verdict: failed <= maxFailures ? 'pass' : 'fail',
        observed: `failed requests = ${failed}`,
        detail: failed === 0 ? `all ${level.requests} requests succeeded` : failureText(level),
      });
    }
  } finally {
    closeTarget(target);
  }
  const report = assembleReport({
    settings,
    environment: environmentFingerprint(),
    createdAt,
    started,
    rows,
    comparisons: [],
    gates,
    notes: ['the load client runs on this machine: its own CPU use competes with a server on the same machine'],
    assertions,
    baseline,
  });
  return { report, levels: samples };
}
