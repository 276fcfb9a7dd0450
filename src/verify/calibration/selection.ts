/**
 * Accuracy-driven selection: which quantized nodes to leave in float so that
 * the model meets an accuracy target (Intel Neural Compressor's "fallback"
 * tuning is the reference idea; ONNX Runtime's tool has no such search).
 *
 * Candidates are the nodes that decide a quantization error of their own:
 * Conv, MatMul, Gemm, and operators with their own output range (Add, Mul,
 * Concat, pooling, ...). Method:
 * 1. Measure the fully quantized model. If it meets the target, stop.
 * 2. Measure each candidate's sensitivity. Default, "quantize one at a time"
 *    (`quantize-one`): the model with only that node quantized, every other
 *    candidate in float; its sensitivity is how much the accuracy score (the
 *    worst output cosine, or minus the largest absolute error) drops from the
 *    all-float model's. Alternative, "keep one at a time in float"
 *    (`keep-one-float`, leave-one-out): the model with every node quantized
 *    but that one; its sensitivity is how much the score rises.
 * 3. Rank the nodes by sensitivity, most harmful first, and find the smallest
 *    prefix of the ranking that, kept in float, meets the target: doubling the
 *    prefix until it does, then bisecting. The result is measured, not
 *    predicted; it is the smallest such prefix when accuracy grows with the
 *    prefix, which the bisection assumes.
 *
 * Why quantize-one by default: when the fully quantized model is far from the
 * target, taking one node back to float barely moves a compounded error, and
 * leave-one-out gains are noise. On PP-OCRv4 det (cosine 0.93 on its
 * calibration pages, target 0.98) leave-one-out ranked the early layers last
 * and needed 271 of 278 nodes in float; quantize-one ranked them first and
 * needed 149 (benchmarks/RESULTS.md). Leave-one-out sees a node in the context
 * of the quantized model around it, which can matter when a model is close to
 * its target.
 *
 * Cost: one evaluation per candidate plus about 2·log2(candidates) + 2.
 */
import { accuracyScore, meetsTarget, type AccuracyMetrics, type AccuracyTarget } from './accuracy.js';

/** One node's measured sensitivity. */
export interface SensitivityEntry {
  /** The node's report key (name or `#index`). */
  node: string;
  opType: string;
  /** Metrics with only this node in float. */
  metrics: AccuracyMetrics;
  /** Score with the node in float minus the fully quantized model's (higher: more harmful when quantized). */
  gain: number;
}

/** The outcome of the search. */
export interface SelectionResult {
  target: AccuracyTarget;
  /** The fully quantized model's metrics. */
  baseline: AccuracyMetrics;
  /** Whether the final model meets the target. */
  met: boolean;
  /** Nodes kept in float, most harmful first. */
  keptFloat: string[];
  /** Metrics of the final model. */
  final: AccuracyMetrics;
  /** Every candidate, most harmful first; empty when the baseline already met the target. */
  ranking: SensitivityEntry[];
  /** Models built and measured. */
  evaluations: number;
}

/** Builds a candidate with the given nodes in float and measures it. */
export type Evaluate = (forceFloat: readonly string[]) => Promise<AccuracyMetrics>;

/** Options of {@link selectFloatNodes}. */
export interface SelectionOptions {
  /** Called after each evaluation, for progress. */
  onEvaluation?: (done: number, planned: number) => void;
  /**
   * How each node's sensitivity is measured: `quantize-one` (default; all
   * float but that node) or `keep-one-float` (all quantized but that node).
   */
  ranking?: RankingMethod;
}

/** See {@link SelectionOptions.ranking}. */
export type RankingMethod = 'keep-one-float' | 'quantize-one';

/**
 * Runs the search (see the module comment).
 * @param candidates - node keys and op types, in graph order.
 */
export async function selectFloatNodes(
  candidates: readonly { node: string; opType: string }[],
  target: AccuracyTarget,
  evaluate: Evaluate,
  options: SelectionOptions = {},
): Promise<SelectionResult> {
  let evaluations = 0;
  const planned = candidates.length + 2 * Math.ceil(Math.log2(candidates.length + 1)) + 2;
  const measure = async (forceFloat: readonly string[]): Promise<AccuracyMetrics> => {
    const metrics = await evaluate(forceFloat);
    evaluations += 1;
    options.onEvaluation?.(evaluations, planned);
    return metrics;
  };
  const baseline = await measure([]);
  if (meetsTarget(baseline, target) || candidates.length === 0) {
    return { target, baseline, met: meetsTarget(baseline, target), keptFloat: [], final: baseline, ranking: [], evaluations };
  }
  const baseScore = accuracyScore(baseline, target);
  const ranking: SensitivityEntry[] = [];
  const all = candidates.map((c) => c.node);
  const quantizeOne = options.ranking !== 'keep-one-float';
  const floatScore = quantizeOne ? accuracyScore(await measure(all), target) : 0;
  for (const candidate of candidates) {
    if (quantizeOne) {
      const metrics = await measure(all.filter((node) => node !== candidate.node));
      ranking.push({ ...candidate, metrics, gain: floatScore - accuracyScore(metrics, target) });
    } else {
      const metrics = await measure([candidate.node]);
      ranking.push({ ...candidate, metrics, gain: accuracyScore(metrics, target) - baseScore });
    }
  }
  // Stable: equal gains keep graph order.
  ranking.sort((a, b) => b.gain - a.gain);
  const order = ranking.map((entry) => entry.node);

  const results = new Map<number, AccuracyMetrics>();
  const at = async (k: number): Promise<AccuracyMetrics> => {
    const known = results.get(k);
    if (known !== undefined) return known;
    const metrics = k === 1 && !quantizeOne ? ranking[0]!.metrics : await measure(order.slice(0, k));
    results.set(k, metrics);
    return metrics;
  };
  // Doubling: the first power of two (or all candidates) that meets the target; `low` is the last that failed.
  let low = 0;
  let high = 1;
  while (high < order.length && !meetsTarget(await at(high), target)) {
    low = high;
    high = Math.min(high * 2, order.length);
  }
  const highMetrics = await at(high);
  if (!meetsTarget(highMetrics, target)) {
    return { target, baseline, met: false, keptFloat: order, final: highMetrics, ranking, evaluations };
  }
  // Bisect in (low, high]: low fails (or is 0), high meets.
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (meetsTarget(await at(middle), target)) high = middle;
    else low = middle;
  }
  return { target, baseline, met: true, keptFloat: order.slice(0, high), final: await at(high), ranking, evaluations };
}
