/**
 * End-to-end tests of `mlctl quantize`: the built CLI in a child process, on
 * fixture models and bad input, checking exit codes, stdout, stderr and the
 * files left behind.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/onnx/model-io.js';
import { provenanceKeys } from '../../src/onnx/provenance.js';
import { sha256File } from '../../src/common/hash.js';
import { repoRoot } from '../helpers/paths.js';
import { assertCliBuilt, runCli } from '../helpers/run-cli.js';
import { runModel } from '../passes/quantize/helpers.js';
import { defaultMinElements, opTypeChoices } from '../../src/cli/commands/quantize.js';
import { DEFAULT_MIN_ELEMENTS, quantizableOpTypes } from '../../src/passes/quantize/index.js';

const fixture = (file: string): string => path.join(repoRoot, 'fixtures/models', file);
let tempDir = '';

beforeAll(async () => {
  assertCliBuilt();
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-quantize-'));
});

afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

function out(name: string): string {
  return path.join(tempDir, name);
}

interface OutcomeJson {
  schemaVersion: number;
  output?: { path: string; sizeBytes: number };
  quantizedSizeBytes: number;
  report: { nodesQuantized: number; nodesSkipped: number; tensors: { name: string; sqnrDb: number | null }[]; nodes: { node: string; action: string }[] };
  verification?: { worstCosine: number; outputs: { name: string; cosine: number; top1Agreement: number | null }[] };
  gate?: { passed: boolean };
}

describe('mlctl quantize: option table', () => {
  it('repeats the pass defaults it shows in --help', () => {
    expect(defaultMinElements).toBe(DEFAULT_MIN_ELEMENTS);
    expect([...opTypeChoices]).toEqual([...quantizableOpTypes]);
  });
});

describe('mlctl quantize', () => {
  it('quantizes the MLP, verifies it and records provenance', async () => {
    const target = out('mlp.int8.onnx');
    const result = await runCli(['quantize', fixture('mlp.onnx'), '-o', target, '--min-elements', '0', '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const outcome = JSON.parse(result.stdout) as OutcomeJson;
    expect(outcome.schemaVersion).toBe(1);
    expect(outcome.report.nodesQuantized).toBe(2);
    expect(outcome.verification!.worstCosine).toBeGreaterThan(0.999);
    expect(outcome.verification!.outputs[0]!.top1Agreement).toBe(1);
    const { model, sizeBytes } = await loadModel(target);
    expect(sizeBytes).toBe(outcome.output!.sizeBytes);
    const metadata = Object.fromEntries(model.metadataProps.map((entry) => [entry.key, entry.value]));
    expect(metadata[provenanceKeys.command]).toBe('quantize');
    expect(metadata[provenanceKeys.sourceSha256]).toBe(await sha256File(fixture('mlp.onnx')));
    expect(JSON.parse(metadata[provenanceKeys.parameters]!)).toMatchObject({ mode: 'dynamic', weightType: 'int8', minElements: 0 });
    expect(metadata['author']).toBe('mlctl fixtures');
    expect(Object.keys(await runModel(model))).toEqual(['probs']);
  });

  it('prints tables by default, with the weight-only note', async () => {
    const result = await runCli(['quantize', fixture('conv-net.onnx'), '-o', out('conv.onnx'), '--min-elements', '0', '--mode', 'weight-only']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/Settings\s+│ weight-only, int8, per-channel, symmetric/);
    expect(result.stdout).toMatch(/SQNR dB/);
    expect(result.stdout).toMatch(/Cosine/);
    expect(result.stdout).toMatch(/Note: weight-only nodes buy size, not speed/);
  });

  it('--dry-run shows the plan and an estimated size, and writes nothing', async () => {
    const target = out('never.onnx');
    const result = await runCli(['quantize', fixture('matmul-chain.onnx'), '-o', target, '--dry-run', '--min-elements', '0', '--exclude', '/^mm3|matmul_3$/']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/Size \(estimated\)/);
    expect(result.stdout).toMatch(/dry run: nothing written/);
    expect(existsSync(target)).toBe(false);
    const plan = await runCli(['quantize', fixture('matmul-chain.onnx'), '--dry-run', '--json', '--no-verify']);
    expect(plan.exitCode).toBe(0);
    const outcome = JSON.parse(plan.stdout) as OutcomeJson;
    expect(outcome.output).toBeUndefined();
    // With the default --min-elements 1024, the [32,48] and [48,24] weights qualify, the [24,8] one does not.
    expect(outcome.report.nodes.map((n) => n.action)).toEqual(['dynamic', 'dynamic', 'skipped']);
  });

  it('quantizes weights kept in external data', async () => {
    const dir = out('external');
    await mkdir(dir);
    await copyFile(fixture('external-data.onnx'), path.join(dir, 'external-data.onnx'));
    await copyFile(fixture('external-data.bin'), path.join(dir, 'external-data.bin'));
    const target = out('external.int8.onnx');
    const result = await runCli(['quantize', path.join(dir, 'external-data.onnx'), '-o', target, '--min-elements', '0', '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const outcome = JSON.parse(result.stdout) as OutcomeJson;
    expect(outcome.report.nodesQuantized).toBe(2);
    expect(outcome.verification!.worstCosine).toBeGreaterThan(0.999);
    expect(existsSync(target)).toBe(true);
  });

  it('--min-cosine gates: exit 1 and no file when not met', async () => {
    const target = out('gated.onnx');
    const result = await runCli(['quantize', fixture('mlp.onnx'), '-o', target, '--min-elements', '0', '--reduce-range', '--min-cosine', '1']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/--min-cosine 1: NOT met/);
    expect(result.stderr).toMatch(/^mlctl: error: the lowest output cosine 0\.\d+ is below --min-cosine 1; nothing was written/);
    expect(existsSync(target)).toBe(false);
    const passing = await runCli(['quantize', fixture('mlp.onnx'), '-o', target, '--min-elements', '0', '--min-cosine', '0.99']);
    expect(passing.exitCode).toBe(0);
    expect(existsSync(target)).toBe(true);
  });

  it('--check-speed times both models and advises', async () => {
    const result = await runCli(['quantize', fixture('matmul-chain.onnx'), '-o', out('speed.onnx'), '--min-elements', '0', '--check-speed', '--json']);
    expect(result.exitCode).toBe(0);
    const outcome = JSON.parse(result.stdout) as OutcomeJson & { speed: { runs: number; originalMs: number; quantizedMs: number; ratio: number; advice: string } };
    expect(outcome.speed.runs).toBe(10);
    expect(outcome.speed.ratio).toBeGreaterThan(0);
    expect(outcome.speed.advice).toMatch(/the quantized model (runs at|is)/);
    const tables = await runCli(['quantize', fixture('mlp.onnx'), '-o', out('speed2.onnx'), '--min-elements', '0', '--mode', 'weight-only', '--check-speed', '--no-verify']);
    expect(tables.exitCode).toBe(0);
    expect(tables.stdout).toMatch(/Note: --check-speed: [\d.]+ ms → [\d.]+ ms per inference \(median of 10\)/);
  });

  it('--no-verify skips onnxruntime', async () => {
    const result = await runCli(['quantize', fixture('gemm-transb.onnx'), '-o', out('gemm.onnx'), '--min-elements', '0', '--no-verify']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/Verification: skipped with --no-verify/);
  });
});

describe('mlctl quantize: bad input leaves no file behind', () => {
  async function expectFailure(args: string[], exitCode: number, message: RegExp, target?: string): Promise<void> {
    const before = await readdir(tempDir);
    const result = await runCli(['quantize', ...args]);
    expect(result.exitCode).toBe(exitCode);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    if (target !== undefined) expect(existsSync(target)).toBe(false);
    expect(await readdir(tempDir)).toEqual(before);
  }

  it('a missing input exits 3', async () => {
    await expectFailure([out('missing.onnx'), '-o', out('a.onnx')], 3, /^mlctl: error: cannot read '.*missing\.onnx': no such file/, out('a.onnx'));
  });

  it('a file that is not a model exits 3', async () => {
    await expectFailure([path.join(repoRoot, 'fixtures/bad/text.onnx'), '-o', out('b.onnx')], 3, /is a text file, not an ONNX model/, out('b.onnx'));
    await expectFailure([path.join(repoRoot, 'fixtures/bad/truncated.onnx'), '-o', out('c.onnx')], 3, /not a valid ONNX model/, out('c.onnx'));
  });

  it('an output path equal to the input exits 2', async () => {
    const copy = out('self.onnx');
    await copyFile(fixture('mlp.onnx'), copy);
    const result = await runCli(['quantize', copy, '-o', path.join(tempDir, '.', 'self.onnx')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/the output path '.*self\.onnx' is the input model; quantize never overwrites its input/);
    await rm(copy);
  });

  it('an unwritable output exits 3, an existing one without --force exits 2', async () => {
    await expectFailure([fixture('mlp.onnx'), '-o', out('no-such-dir/x.onnx'), '--min-elements', '0'], 3, /cannot write .*the folder does not exist/);
    const existing = out('existing.onnx');
    await copyFile(fixture('mlp.onnx'), existing);
    await expectFailure([fixture('mlp.onnx'), '-o', existing], 2, /already exists/);
    const forced = await runCli(['quantize', fixture('mlp.onnx'), '-o', existing, '--force', '--min-elements', '0']);
    expect(forced.exitCode).toBe(0);
    await rm(existing);
  });

  it('usage mistakes exit 2', async () => {
    await expectFailure([fixture('mlp.onnx'), '-o', out('d.onnx'), '--per-channel', '--per-tensor'], 2, /--per-channel and --per-tensor contradict/);
    await expectFailure([fixture('mlp.onnx'), '-o', out('d.onnx'), '--op-types', 'MatMul,Foo'], 2, /--op-types 'MatMul,Foo' names 'Foo'/);
    await expectFailure([fixture('mlp.onnx'), '-o', out('d.onnx'), '--min-cosine', '2'], 2, /--min-cosine '2' is not a number between -1 and 1/);
    await expectFailure([fixture('mlp.onnx'), '-o', out('d.onnx'), '--mode', 'static'], 2, /--mode static needs calibration data/);
    await expectFailure([fixture('mlp.onnx'), '-o', out('d.onnx'), '--mode', 'int4'], 2, /argument 'int4' is invalid/);
    await expectFailure([fixture('mlp.onnx')], 2, /quantize needs an output path/);
  });
});
