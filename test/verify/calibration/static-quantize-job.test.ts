/**
 * runStaticQuantizeJob end to end: calibration from `.pb` and `.npy`
 * samples, the written model loads and runs in onnxruntime, provenance; the
 * accuracy-driven search reaches a target the plain static model misses by
 * keeping a reported node in float; the --min-cosine gate; the memory bound; usage errors.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../../src/onnx/model-io.js';
import { provenanceKeys } from '../../../src/onnx/provenance.js';
import { estimateStaticMemory } from '../../../src/verify/calibration/static-memory.js';
import { runStaticQuantizeJob, type StaticQuantizeJob } from '../../../src/verify/calibration/static-quantize-job.js';
import { repoRoot } from '../../helpers/paths.js';
import { runModel } from '../../passes/quantize/helpers.js';
import { floatTensor } from '../../passes/quantize/static/static-helpers.js';
import { writeSamples } from './calibration-files.js';
import { outlierSample, outlierWeightModel } from './job-models.js';

let dir = '';
const convNet = path.join(repoRoot, 'fixtures/models/conv-net.onnx');

function job(overrides: Partial<StaticQuantizeJob>): StaticQuantizeJob {
  return {
    input: convNet,
    calibration: {},
    settings: { method: 'minmax' },
    options: {},
    toolVersion: '0.0.0-test',
    parameters: { mode: 'static' },
    ...overrides,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-static-job-'));
  await writeSamples(path.join(dir, 'pb'), [1, 2, 3, 4].map((seed) => floatTensor([1, 3, 32, 32], seed)), 'pb');
  await writeSamples(path.join(dir, 'npy'), [1, 2, 3, 4, 5, 6].map(outlierSample), 'npy');
  await saveModel(outlierWeightModel(), path.join(dir, 'outlier.onnx'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runStaticQuantizeJob', () => {
  it('calibrates from .pb samples and writes a QDQ model that loads, runs and records its provenance', async () => {
    const output = path.join(dir, 'conv-net.qdq.onnx');
    const outcome = await runStaticQuantizeJob(job({ output, calibration: { dir: path.join(dir, 'pb') }, debugReport: true }));
    expect(outcome.calibration).toMatchObject({ method: 'minmax', samples: 4, random: false, passes: 1, skipped: [] });
    expect(outcome.report.nodesQuantized).toBe(6);
    expect(outcome.verification!.metrics.worstCosine).toBeGreaterThan(0.999);
    expect(outcome.verification!.source).toBe('the first 4 calibration samples');
    expect(outcome.debug!.map((row) => row.tensor)).toEqual(outcome.report.activations.map((a) => a.tensor));
    expect(outcome.warnings).toEqual([]);
    expect(outcome.fallbacks).toEqual([]);
    const { model } = await loadModel(output);
    expect(model.graph!.node.filter((n) => n.opType === 'QuantizeLinear')).toHaveLength(outcome.report.activations.length);
    const metadata = Object.fromEntries(model.metadataProps.map((entry) => [entry.key, entry.value]));
    expect(metadata[provenanceKeys.command]).toBe('quantize');
    expect(JSON.parse(metadata[provenanceKeys.parameters]!)).toEqual({ mode: 'static' });
    const outputs = await runModel(model);
    expect(outputs.logits!.dims).toEqual([1, 10]);
  });

  it('calibrates from .npy samples; with --target-cosine it keeps the harmful node in float and reports the ranking', async () => {
    const input = path.join(dir, 'outlier.onnx');
    const plain = await runStaticQuantizeJob(job({ input, dryRun: true, calibration: { dir: path.join(dir, 'npy') } }));
    expect(plain.verification!.metrics.worstCosine).toBeLessThan(0.99);

    const output = path.join(dir, 'outlier.qdq.onnx');
    const outcome = await runStaticQuantizeJob(job({ input, output, calibration: { dir: path.join(dir, 'npy') }, target: { kind: 'cosine', value: 0.995 } }));
    const selection = outcome.selection!;
    expect(selection.baseline.worstCosine).toBeLessThan(0.99);
    expect(selection.ranking.map((entry) => entry.node)).toEqual(['mm1', 'mm2']);
    // Quantized alone, mm1 costs much more than mm2.
    expect(selection.ranking[0]!.gain).toBeGreaterThan(10 * selection.ranking[1]!.gain);
    expect(selection.keptFloat).toEqual(['mm1']);
    expect(selection.met).toBe(true);
    expect(outcome.fallbacks).toEqual([]);
    expect(outcome.verification!.metrics.worstCosine).toBeGreaterThanOrEqual(0.995);
    expect(outcome.report.nodes.find((n) => n.node === 'mm1')).toMatchObject({ action: 'float', reason: 'kept in float by the accuracy-driven search' });
    expect(outcome.report.nodes.find((n) => n.node === 'mm2')!.action).toBe('quantized');
    // The written model is the selected one: mm1 reads its float weight.
    const { model } = await loadModel(output);
    expect(model.graph!.node.find((n) => n.name === 'mm1')!.input[1]).toBe('w1');
  });

  it('--min-cosine: a model below the gate is not written', async () => {
    const output = path.join(dir, 'gated.onnx');
    const outcome = await runStaticQuantizeJob(job({ input: path.join(dir, 'outlier.onnx'), output, calibration: { dir: path.join(dir, 'npy') }, minCosine: 0.999 }));
    expect(outcome.gate).toMatchObject({ minCosine: 0.999, passed: false });
    expect(outcome.output).toBeUndefined();
    expect(existsSync(output)).toBe(false);
  });

  it('random calibration warns; --dry-run writes nothing', async () => {
    const output = path.join(dir, 'dry.onnx');
    const outcome = await runStaticQuantizeJob(job({ output, dryRun: true, calibration: { random: 2 }, verify: false }));
    expect(outcome.warnings[0]).toMatch(/^calibrating on 2 random samples: ranges measured on noise are not those of real inputs/);
    expect(outcome.calibration.random).toBe(true);
    expect(outcome.verification).toBeUndefined();
    // Nothing ran the quantized model, so there was nothing to fall back from.
    expect(outcome.fallbacks).toEqual([]);
    expect(existsSync(output)).toBe(false);
  });

  it("refuses, before calibrating, a model whose memory estimate exceeds the machine's (MLCTL_TOO_LARGE, exit 3); writes nothing", async () => {
    const output = path.join(dir, 'too-large.onnx');
    const { totalBytes } = await estimateStaticMemory(await loadModel(convNet));
    const error: unknown = await runStaticQuantizeJob(job({ output, calibration: { random: 1 }, totalMemoryBytes: totalBytes - 1 })).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'MLCTL_TOO_LARGE', exitCode: 3 });
    expect((error as Error).message.startsWith(`cannot quantize '${convNet}' statically: calibration holds the whole model in memory, about 0.0 GiB (`)).toBe(true);
    expect(existsSync(output)).toBe(false);
    const fits = await runStaticQuantizeJob(job({ dryRun: true, calibration: { random: 1 }, verify: false, totalMemoryBytes: totalBytes }));
    expect(fits.report.nodesQuantized).toBe(6);
  });

  it('refuses missing or doubled calibration data and an output equal to the input', async () => {
    await expect(runStaticQuantizeJob(job({ output: path.join(dir, 'a.onnx') }))).rejects.toThrow(/--mode static needs calibration data/);
    await expect(runStaticQuantizeJob(job({ output: path.join(dir, 'a.onnx'), calibration: { dir: path.join(dir, 'pb'), random: 2 } }))).rejects.toThrow(/give one of them/);
    await expect(runStaticQuantizeJob(job({ output: convNet, calibration: { random: 1 } }))).rejects.toThrow(/is the input model/);
    expect(existsSync(path.join(dir, 'a.onnx'))).toBe(false);
  });
});
