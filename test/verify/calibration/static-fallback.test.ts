/**
 * The float fallback of static mode: the real static pass, with the
 * quantized form of one named node broken in its output model (as a pass
 * bug or a kernel onnxruntime lacks would), unless that node is in float.
 * The fallback must put exactly that node back in float, found by the name
 * onnxruntime quotes or by bisection, leave the rest quantized, and report
 * why; through `staticFloatFallback` and through the whole job, alone and
 * with the accuracy-driven search.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderStaticQuantizeOutcome, staticQuantizeOutcomeJson } from '../../../src/cli/render/static-quantize-report.js';
import { makeAttribute } from '../../../src/onnx/builder.js';
import { loadModel, saveModel, serializeModel } from '../../../src/onnx/model-io.js';
import type { ModelProto } from '../../../src/onnx/types.js';
import { calibrationTensors, prepareForStatic, quantizeStatic, type StaticQuantizeResult } from '../../../src/passes/quantize/static/index.js';
import { evaluateCandidate, runAll, type ReferenceSet } from '../../../src/verify/calibration/accuracy.js';
import { collectRanges } from '../../../src/verify/calibration/collect-ranges.js';
import { samplesFromFeeds } from '../../../src/verify/calibration/samples.js';
import { FALLBACK_REASON, staticFloatFallback, withFallbackReasons } from '../../../src/verify/calibration/static-fallback.js';
import { runStaticQuantizeJob, type StaticQuantizeJob } from '../../../src/verify/calibration/static-quantize-job.js';
import { runOnce } from '../../../src/verify/verify-model.js';
import { runModel } from '../../passes/quantize/helpers.js';
import { feedsFor, residualModel } from '../../passes/quantize/static/static-helpers.js';
import { writeSamples } from './calibration-files.js';
import { outlierSample, outlierWeightModel } from './job-models.js';

/** Which node's quantized form the wrapped `quantizeStatic` breaks, and how. */
const breaking = vi.hoisted(() => ({
  node: undefined as string | undefined,
  how: 'group' as 'group' | 'group-unnamed' | 'swap-inputs',
}));

// The job imports the pass from this module: every model it builds goes through the breakage.
vi.mock('../../../src/passes/quantize/static/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/passes/quantize/static/index.js')>();
  return { ...actual, quantizeStatic: (...args: Parameters<typeof actual.quantizeStatic>) => broken(actual.quantizeStatic(...args)) };
});

/**
 * `result` with the node `breaking.node` broken when the pass quantized it:
 * `group` sets group = 2 on a Conv, which onnxruntime's QLinearConv refuses
 * when it runs, quoting the fused node `<name>_token_<n>`; `group-unnamed`
 * also drops the node's name, so the message names nothing the pass made;
 * `swap-inputs` swaps a MatMul's operands, which fails shape inference at load.
 */
function broken(result: StaticQuantizeResult): StaticQuantizeResult {
  const name = breaking.node;
  if (name === undefined || result.report.nodes.find((n) => n.node === name)?.action !== 'quantized') return result;
  const graph = result.model.graph!;
  const node = graph.node.map((n) => {
    if (n.name !== name) return n;
    if (breaking.how === 'swap-inputs') return { ...n, input: [n.input[1]!, n.input[0]!, ...n.input.slice(2)] };
    const attribute = [...n.attribute.filter((a) => a.name !== 'group'), makeAttribute('group', 2)];
    return { ...n, ...(breaking.how === 'group-unnamed' ? { name: '' } : {}), attribute };
  });
  return { ...result, model: { ...result.model, graph: { ...graph, node } } };
}

afterEach(() => {
  breaking.node = undefined;
});

/** The residual block prepared and calibrated, the pass bound to its ranges, and the float model's outputs on 4 samples. */
async function calibratedResidual(): Promise<{ quantize: (forceFloat: readonly string[]) => StaticQuantizeResult; reference: ReferenceSet }> {
  const { model: prepared } = prepareForStatic(residualModel());
  const feeds = await Promise.all([1, 2, 3, 4].map((seed) => feedsFor(prepared, seed)));
  const { ranges } = await collectRanges(prepared, calibrationTensors(prepared.graph!), samplesFromFeeds(feeds, 'seeded'), { method: 'minmax' });
  const outputs = await runAll(serializeModel(prepared), feeds, 'the float model');
  return { quantize: (forceFloat) => quantizeStatic(prepared, ranges, { forceFloat }), reference: { feeds, outputs } };
}

function actions(result: StaticQuantizeResult): Record<string, string> {
  return Object.fromEntries(result.report.nodes.map((n) => [n.node, n.action]));
}

describe('staticFloatFallback', () => {
  it('leaves the node onnxruntime names (through its fused QLinearConv) in float and keeps the rest quantized', async () => {
    const { quantize, reference } = await calibratedResidual();
    breaking.node = 'conv2';
    const tried: string[][] = [];
    const measure = (forceFloat: readonly string[], result: StaticQuantizeResult) => {
      tried.push([...forceFloat]);
      return evaluateCandidate(serializeModel(result.model), reference);
    };
    const settled = await staticFloatFallback(quantize, [], measure);
    expect(settled.fallbacks.map((f) => [f.node, f.opType, f.key])).toEqual([['conv2', 'Conv', 'conv2']]);
    // Blamed by name: the failing model, then the one with conv2 in float; no bisection.
    expect(tried).toEqual([[], ['conv2']]);
    expect(settled.fallbacks[0]!.reason).toMatch(/QLinearConv node\. Name:'conv2_token_\d+'/);
    expect(settled.forceFloat).toEqual(['conv2']);
    expect(actions(settled.result)).toMatchObject({ conv1: 'quantized', conv2: 'float', add: 'quantized', gap: 'quantized', fc: 'quantized' });
    expect(settled.metrics.worstCosine).toBeGreaterThan(0.99);
    await expect(runOnce(serializeModel(settled.result.model), reference.feeds[0]!, 'the settled model')).resolves.toHaveProperty('logits');
    expect(withFallbackReasons(settled.result.report, settled.fallbacks).nodes.find((n) => n.node === 'conv2')!.reason).toBe(FALLBACK_REASON);
  });

  it('finds the culprit by bisection when the message names no node of the pass', async () => {
    const { quantize, reference } = await calibratedResidual();
    breaking.node = 'conv2';
    breaking.how = 'group-unnamed';
    const tried: string[][] = [];
    const measure = (forceFloat: readonly string[], result: StaticQuantizeResult) => {
      tried.push([...forceFloat]);
      return evaluateCandidate(serializeModel(result.model), reference);
    };
    const settled = await staticFloatFallback(quantize, ['fc'], measure);
    expect(settled.fallbacks.map((f) => f.node)).toEqual(['conv2']);
    expect(settled.fallbacks[0]!.reason).toMatch(/Name:'_token_\d+'/);
    // Every model built keeps the given nodes in float; bisection tried more than the first and the last.
    expect(tried.every((forceFloat) => forceFloat[0] === 'fc')).toBe(true);
    expect(tried.length).toBeGreaterThan(2);
    expect(settled.forceFloat).toEqual(['fc', 'conv2']);
    expect(actions(settled.result)).toMatchObject({ conv1: 'quantized', conv2: 'float', add: 'quantized', fc: 'float' });
    expect(settled.metrics.worstCosine).toBeGreaterThan(0.99);
  });

  it('changes nothing when the model runs', async () => {
    const { quantize, reference } = await calibratedResidual();
    const settled = await staticFloatFallback(quantize, [], (_forceFloat, result) => evaluateCandidate(serializeModel(result.model), reference));
    expect(settled.fallbacks).toEqual([]);
    expect(settled.forceFloat).toEqual([]);
    expect(settled.result.report).toEqual(quantize([]).report);
  });
});

describe('runStaticQuantizeJob with a node onnxruntime fails on', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-static-fallback-'));
    await saveModel(residualModel(), path.join(dir, 'residual.onnx'));
    await saveModel(outlierWeightModel(), path.join(dir, 'outlier.onnx'));
    await writeSamples(path.join(dir, 'outlier-samples'), [1, 2, 3, 4, 5, 6].map(outlierSample), 'npy');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const job = (overrides: Partial<StaticQuantizeJob>): StaticQuantizeJob => ({
    input: path.join(dir, 'residual.onnx'),
    calibration: { random: 4 },
    settings: { method: 'minmax' },
    options: {},
    toolVersion: '0.0.0-test',
    parameters: { mode: 'static' },
    ...overrides,
  });

  it('writes the model with that node in float, verified, and reports why', async () => {
    breaking.node = 'conv2';
    breaking.how = 'group';
    const output = path.join(dir, 'residual.qdq.onnx');
    const outcome = await runStaticQuantizeJob(job({ output }));
    expect(outcome.fallbacks).toHaveLength(1);
    expect(outcome.fallbacks[0]).toMatchObject({ node: 'conv2', opType: 'Conv', key: 'conv2' });
    expect(outcome.fallbacks[0]!.reason).toMatch(/Input channels C is not equal to kernel channels \* group/);
    expect(outcome.report.nodes.find((n) => n.node === 'conv2')).toMatchObject({ action: 'float', reason: FALLBACK_REASON });
    expect(outcome.report.nodes.filter((n) => n.action === 'quantized').map((n) => n.node)).toEqual(['conv1', 'add', 'gap', 'flatten', 'fc']);
    expect(outcome.verification!.metrics.worstCosine).toBeGreaterThan(0.99);

    const { model } = await loadModel(output);
    const conv2 = model.graph!.node.find((n) => n.name === 'conv2')!;
    expect(conv2.input[1]).toBe('w2');
    expect(conv2.attribute.some((a) => a.name === 'group')).toBe(false);
    const outputs = await runModel(model as ModelProto);
    expect(outputs.logits!.dims).toEqual([1, 5]);

    const text = renderStaticQuantizeOutcome(outcome);
    expect(text).toMatch(/Left in float by the fallback\s+│\s+Op\s+│\s+onnxruntime failed with/);
    expect(text).toMatch(/conv2\s+│\s+Conv\s+│\s+running 'the quantized model' failed: Non-zero status code returned while running QLinearConv node/);
    const json = JSON.parse(staticQuantizeOutcomeJson(outcome)) as { fallbacks: { node: string; reason: string }[] };
    expect(json.fallbacks.map((f) => f.node)).toEqual(['conv2']);
  });

  it('with --target-cosine: the fallback and the search each keep their node in float', async () => {
    breaking.node = 'mm2';
    breaking.how = 'swap-inputs';
    const outcome = await runStaticQuantizeJob(
      job({ input: path.join(dir, 'outlier.onnx'), dryRun: true, calibration: { dir: path.join(dir, 'outlier-samples') }, target: { kind: 'cosine', value: 0.995 } }),
    );
    expect(outcome.fallbacks.map((f) => [f.node, f.opType])).toEqual([['mm2', 'MatMul']]);
    expect(outcome.fallbacks[0]!.reason).toMatch(/Incompatible dimensions/);
    // The search only ranks what still is quantized, on models that keep mm2 in float.
    expect(outcome.selection!.ranking.map((entry) => entry.node)).toEqual(['mm1']);
    expect(outcome.selection!.keptFloat).toEqual(['mm1']);
    expect(outcome.report.nodes.find((n) => n.node === 'mm1')).toMatchObject({ action: 'float', reason: 'kept in float by the accuracy-driven search' });
    expect(outcome.report.nodes.find((n) => n.node === 'mm2')).toMatchObject({ action: 'float', reason: FALLBACK_REASON });
    expect(outcome.verification!.metrics.worstCosine).toBeGreaterThanOrEqual(0.995);
  });
});
