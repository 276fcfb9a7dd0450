/**
 * End-to-end tests of `mlctl quantize --mode static`: the built CLI in a
 * child process, checking exit codes, stdout, stderr and the file written.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/onnx/model-io.js';
import { DataType } from '../../src/onnx/types.js';
import { repoRoot } from '../helpers/paths.js';
import { assertCliBuilt, runCli } from '../helpers/run-cli.js';
import { runModel } from '../passes/quantize/helpers.js';

const convNet = path.join(repoRoot, 'fixtures/models/conv-net.onnx');
let dir = '';

beforeAll(async () => {
  assertCliBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-static-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mlctl quantize --mode static', () => {
  it('quantizes with random calibration, warns loudly first, prints JSON, writes a model that runs', async () => {
    const output = path.join(dir, 'conv-net.qdq.onnx');
    const result = await runCli(['quantize', convNet, '-o', output, '--mode', 'static', '--calibration-random', '3', '--calibrate', 'percentile', '--debug-report', '--json']);
    expect(result.stderr).toMatch(/^mlctl: warning: calibrating on 3 random samples: ranges measured on noise are not those of real inputs/);
    expect(result.exitCode).toBe(0);
    const outcome = JSON.parse(result.stdout) as {
      schemaVersion: number;
      mode: string;
      calibration: { method: string; samples: number; passes: number };
      report: { nodesQuantized: number };
      debug: { tensor: string; sqnrDb: number }[];
      verification: { metrics: { worstCosine: number } };
    };
    expect(outcome).toMatchObject({ schemaVersion: 1, mode: 'static', calibration: { method: 'percentile', samples: 3, passes: 2 } });
    expect(outcome.report.nodesQuantized).toBe(6);
    expect(outcome.debug.length).toBeGreaterThan(0);
    expect(outcome.verification.metrics.worstCosine).toBeGreaterThan(0.99);
    const { model } = await loadModel(output);
    expect((await runModel(model)).logits!.dims).toEqual([1, 10]);
  });

  it('computes Conv bias scales in the graph by default; --explicit-bias-scales stores them; both files give the same outputs', async () => {
    const computed = path.join(dir, 'conv-net.computed.onnx');
    const explicit = path.join(dir, 'conv-net.explicit.onnx');
    const common = ['--mode', 'static', '--calibration-random', '2', '--no-verify', '--json'];
    expect((await runCli(['quantize', convNet, '-o', computed, ...common])).exitCode).toBe(0);
    const explicitRun = await runCli(['quantize', convNet, '-o', explicit, ...common, '--explicit-bias-scales']);
    expect(explicitRun.exitCode).toBe(0);
    const [a, b] = [(await loadModel(computed)).model, (await loadModel(explicit)).model];
    // The scale input of each DequantizeLinear that feeds a Conv its int32 bias: made by which node, or stored.
    const biasScaleProducers = (graph: NonNullable<typeof a.graph>): string[] =>
      graph.node
        .filter((n) => n.opType === 'DequantizeLinear' && graph.initializer.some((t) => t.name === n.input[0] && t.dataType === DataType.INT32))
        .filter((n) => graph.node.some((m) => m.opType === 'Conv' && m.input[2] === n.output[0]))
        .map((n) => graph.node.find((m) => m.output.includes(n.input[1] ?? ''))?.opType ?? 'initializer');
    expect(new Set(biasScaleProducers(a.graph!))).toEqual(new Set(['Mul']));
    expect(new Set(biasScaleProducers(b.graph!))).toEqual(new Set(['initializer']));
    const [x, y] = [await runModel(a), await runModel(b)];
    expect(Array.from(x.logits!.data as Float32Array)).toEqual(Array.from(y.logits!.data as Float32Array));
  });

  it('exits 2 without calibration data, and for static options in another mode; writes nothing', async () => {
    const output = path.join(dir, 'none.onnx');
    const missing = await runCli(['quantize', convNet, '-o', output, '--mode', 'static']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^mlctl: error: --mode static needs calibration data: pass --calibration <dir> \(real input samples\) or --calibration-random N\n/);
    const wrongMode = await runCli(['quantize', convNet, '-o', output, '--calibration', dir]);
    expect(wrongMode.exitCode).toBe(2);
    expect(wrongMode.stderr).toBe("mlctl: error: --calibration applies to --mode static only (the mode is 'dynamic')\n");
    const refused = await runCli(['quantize', convNet, '-o', output, '--mode', 'static', '--calibration-random', '1', '--weight-type', 'uint8']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/--weight-type does not apply to --mode static: static weights are int8/);
    expect(existsSync(output)).toBe(false);
  });
});
