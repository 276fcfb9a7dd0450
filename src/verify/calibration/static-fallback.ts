/**
 * The float fallback of static mode: when onnxruntime cannot load or run the
 * QDQ model, the quantized nodes to blame are put back in float one at a
 * time until it runs (the loop is `fallBackToFloat` in verify-model.ts,
 * which dynamic mode uses too).
 */
import type { StaticQuantizeReport, StaticQuantizeResult } from '../../passes/quantize/static/index.js';
import { fallBackToFloat, type FallbackCandidate, type FallbackNode } from '../verify-model.js';
import type { AccuracyMetrics } from './accuracy.js';

/** The reason a node left in float by the fallback gets in the report. */
export const FALLBACK_REASON = 'left in float by the fallback: onnxruntime failed on its quantized form';

/**
 * The nodes a static report quantized, in graph order, as the fallback sees
 * them. A quantized node keeps its name in the QDQ model, and onnxruntime's
 * messages quote it, or the name of the integer kernel it fuses the node
 * into (`<name>_token_<n>`, which the fallback matches too). Its
 * QuantizeLinear/DequantizeLinear pairs are not listed: one pair can sit
 * between two quantized nodes, and blaming both would put a healthy one in
 * float; bisection finds the culprit instead.
 */
export function staticFallbackCandidates(report: StaticQuantizeReport): FallbackCandidate[] {
  return report.nodes.filter((node) => node.action === 'quantized').map((node) => ({ node: node.node, opType: node.opType, key: node.key, names: [node.node] }));
}

/** See {@link staticFloatFallback}. */
export interface StaticFallbackResult {
  result: StaticQuantizeResult;
  /** The result's metrics on the reference samples. */
  metrics: AccuracyMetrics;
  /** The keys `result` was built with: `alreadyFloat`, then the fallback's. */
  forceFloat: string[];
  /** The nodes this call put back in float. */
  fallbacks: FallbackNode[];
}

/**
 * Builds the static model with `alreadyFloat` in float and measures it;
 * while onnxruntime fails on it, puts the quantized nodes to blame back in
 * float too.
 * @param quantize - the static pass with the given nodes (keys) forced to float.
 * @param alreadyFloat - keys left in float whatever happens (the accuracy-driven search's choice, an earlier fallback's).
 * @param measure - runs a result on the reference samples; throws when onnxruntime cannot load or run it.
 * @throws MlctlError MLCTL_RUNTIME when the model fails even with no quantized node left (see `fallBackToFloat`).
 */
export async function staticFloatFallback(
  quantize: (forceFloat: readonly string[]) => StaticQuantizeResult,
  alreadyFloat: readonly string[],
  measure: (forceFloat: readonly string[], result: StaticQuantizeResult) => Promise<AccuracyMetrics>,
): Promise<StaticFallbackResult> {
  const settled = await fallBackToFloat({
    quantize: (extra) => {
      const forceFloat = [...alreadyFloat, ...extra];
      return { forceFloat, result: quantize(forceFloat) };
    },
    candidates: (built) => staticFallbackCandidates(built.result.report),
    run: (built) => measure(built.forceFloat, built.result),
  });
  return { result: settled.result.result, metrics: settled.measured, forceFloat: settled.result.forceFloat, fallbacks: settled.fallbacks };
}

/** `report` with the reason of each node in `fallbacks` set to {@link FALLBACK_REASON} (the pass only knows they were forced). */
export function withFallbackReasons(report: StaticQuantizeReport, fallbacks: readonly FallbackNode[]): StaticQuantizeReport {
  if (fallbacks.length === 0) return report;
  const keys = new Set(fallbacks.map((entry) => entry.key));
  return { ...report, nodes: report.nodes.map((node) => (keys.has(node.key) ? { ...node, reason: FALLBACK_REASON } : node)) };
}
