/**
 * `mlctl prune` end to end: the built CLI spawned as a user runs it, with its
 * exit codes, stdout (tables or one JSON document) and stderr.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../../src/onnx/model-io.js';
import type { PruneOutcome } from '../../../src/verify/prune-job.js';
import { assertCliBuilt, runCli } from '../../helpers/run-cli.js';
import { repoRoot } from '../../helpers/paths.js';
import { floatInput, Net } from './helpers.js';

/** The parts of the --json document these tests read. */
type OutcomeDocument = Pick<PruneOutcome, 'input' | 'output' | 'report' | 'sparseStorageCheck' | 'rewriteCheck'> & { schemaVersion: number };

let dir: string;
let mlpPath: string;
const convNet = path.join(repoRoot, 'fixtures/models/conv-net.onnx');

beforeAll(async () => {
  assertCliBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-prune-'));
  const net = new Net();
  const h = net.relu(net.node('MatMul', ['x', net.tensor('w1', [64, 256])], {}, 1, 'fc1'));
  const y = net.node('MatMul', [h, net.tensor('w2', [256, 128])], {}, 1, 'fc2');
  mlpPath = path.join(dir, 'mlp.onnx');
  await saveModel(net.model([floatInput('x', ['batch', 64])], [y]), mlpPath);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mlctl prune', () => {
  it('--sparse-storage at 90%: a file at least 3× smaller, outputs identical to the dense pruned model, provenance', async () => {
    const out = path.join(dir, 'sparse.onnx');
    const result = await runCli(['prune', mlpPath, '-o', out, '--sparsity', '0.9', '--sparse-storage', '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const doc = JSON.parse(result.stdout) as OutcomeDocument;
    expect(doc.schemaVersion).toBe(1);
    expect(doc.report.tensors.map((t) => `${t.name}:${t.storage}`)).toEqual(['w1:sparse', 'w2:sparse']);
    expect(doc.sparseStorageCheck).toEqual({ identical: true, maxAbsError: 0 });
    expect(doc.input.sizeBytes / doc.output!.sizeBytes).toBeGreaterThanOrEqual(3);
    expect((await stat(out)).size).toBe(doc.output!.sizeBytes);
    const { model } = await loadModel(out);
    const metadata = Object.fromEntries(model.metadataProps.map((e) => [e.key, e.value]));
    expect(metadata['mlctl.command']).toBe('prune');
    expect(JSON.parse(metadata['mlctl.parameters']!)).toMatchObject({ method: 'magnitude', sparsity: 0.9, sparseStorage: true });
    expect(metadata['mlctl.source_sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--method channels prints tables with MACs, parameters and the groups', async () => {
    const out = path.join(dir, 'channels.onnx');
    const result = await runCli(['prune', convNet, '-o', out, '--method', 'channels', '--sparsity', '0.5']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/│ Settings\s+│ channels, sparsity 0.5, l1 norm/);
    expect(result.stdout).toMatch(/│ MACs\s+│ 516,256 → 184,400 \(35.7%\)/);
    expect(result.stdout).toMatch(/│ conv1\.out\s+│ 8 → 4\s+│/);
    expect(result.stdout).toMatch(/│ logits\s+│ output channels left unpruned: they reach the graph output 'logits'/);
    expect(result.stdout).toMatch(/│ Rewrite check\s+│ vs the original with the removed channels masked: cosine 1\.000000/);
    expect(existsSync(out)).toBe(true);
  });

  it('--min-cosine not met: exit 1, the outcome on stdout, nothing written', async () => {
    const out = path.join(dir, 'gated.onnx');
    const result = await runCli(['prune', convNet, '-o', out, '--method', 'channels', '--sparsity', '0.5', '--min-cosine', '0.999', '--json']);
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ gate: { minCosine: 0.999, passed: false } });
    expect(result.stderr).toMatch(/^mlctl: error: the lowest output cosine 0\.\d+ is below --min-cosine 0\.999; nothing was written\nmlctl: hint: /);
    expect(existsSync(out)).toBe(false);
  });

  const usageCases: Array<{ name: string; args: (out: string) => string[]; exitCode: number; stderr: RegExp }> = [
    { name: 'no --sparsity', args: (out) => [mlpPath, '-o', out], exitCode: 2, stderr: /^mlctl: error: prune needs a target: pass --sparsity <fraction>/ },
    { name: 'a sparsity of 1.5', args: (out) => [mlpPath, '-o', out, '--sparsity', '1.5'], exitCode: 2, stderr: /^mlctl: error: --sparsity '1\.5' is not a number in \[0, 1\)/ },
    { name: 'an unknown --op-types entry', args: (out) => [mlpPath, '-o', out, '--sparsity', '0.5', '--op-types', 'Conv,LSTM'], exitCode: 2, stderr: /--op-types 'Conv,LSTM' names 'LSTM'/ },
    { name: 'no -o', args: () => [mlpPath, '--sparsity', '0.5'], exitCode: 2, stderr: /^mlctl: error: prune needs an output path: pass -o <out.onnx>/ },
    { name: 'the input as output', args: () => [mlpPath, '-o', mlpPath, '--sparsity', '0.5'], exitCode: 2, stderr: /is the input model; prune never overwrites its input/ },
    { name: 'an existing output without --force', args: () => [mlpPath, '-o', convNet, '--sparsity', '0.5'], exitCode: 2, stderr: /already exists\nmlctl: hint: pass --force to overwrite it/ },
    { name: 'a missing model', args: (out) => [path.join(dir, 'nope.onnx'), '-o', out, '--sparsity', '0.5'], exitCode: 3, stderr: /^mlctl: error: cannot read '.*nope\.onnx': no such file/ },
  ];
  for (const usage of usageCases) {
    it(`refuses ${usage.name} (exit ${usage.exitCode})`, async () => {
      const out = path.join(dir, 'never.onnx');
      const result = await runCli(['prune', ...usage.args(out)]);
      expect(result.exitCode).toBe(usage.exitCode);
      expect(result.stderr).toMatch(usage.stderr);
      expect(result.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    });
  }

  it('is listed by mlctl --help', async () => {
    const result = await runCli(['--help']);
    expect(result.stdout).toMatch(/prune \[options\] <model>\s+prune weights \(magnitude\) or whole channels/);
  });
});
