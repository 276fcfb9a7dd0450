/**
 * Watches the JavaScript runtime while samples are taken: garbage-collection
 * pauses and event-loop delay (perf_hooks), so a report can tell runtime
 * noise from model time.
 */
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';
import type { RuntimeNoise } from './report-types.js';

/** Event-loop delay sampling period; coarse enough that its timer costs nothing measurable. */
const LOOP_DELAY_RESOLUTION_MS = 10;

/** Peak resident set size of this process so far. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Collects GC pauses and event-loop delay between start() and stop(). */
export class RuntimeNoiseMonitor {
  #gcPauseMs = 0;
  #gcCount = 0;
  #observer: PerformanceObserver | undefined;
  #loopDelay: IntervalHistogram | undefined;

  #record(entries: readonly PerformanceEntry[]): void {
    for (const entry of entries) {
      this.#gcPauseMs += entry.duration;
      this.#gcCount += 1;
    }
  }

  /** Starts watching; call stop() to end it (also after a failure). */
  start(): void {
    this.#observer = new PerformanceObserver((list) => this.#record(list.getEntries()));
    this.#observer.observe({ entryTypes: ['gc'] });
    this.#loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    this.#loopDelay.enable();
  }

  /** Stops watching and returns what was seen since start(). Calling it twice returns the same totals. */
  stop(): RuntimeNoise {
    if (this.#observer !== undefined) {
      // Entries not yet delivered to the callback would otherwise be lost.
      this.#record(this.#observer.takeRecords());
      this.#observer.disconnect();
      this.#observer = undefined;
    }
    const histogram = this.#loopDelay;
    this.#loopDelay?.disable();
    const nsToMs = 1e-6;
    const eventLoopDelay = histogram !== undefined && histogram.count > 0
      ? {
          meanMs: histogram.mean * nsToMs,
          p50Ms: histogram.percentile(50) * nsToMs,
          p99Ms: histogram.percentile(99) * nsToMs,
          maxMs: histogram.max * nsToMs,
        }
      : null;
    return { gcPauseMs: this.#gcPauseMs, gcCount: this.#gcCount, eventLoopDelay, peakRssBytes: peakRssBytes() };
  }
}
