/**
 * `mlctl inspect --macs`: multiply-accumulate counts against hand-computed
 * values, run through the built CLI as a user would.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { corpusModel, repoRoot } from '../helpers/paths.js';
import { assertCliBuilt, runCli } from '../helpers/run-cli.js';

interface MacsJson {
  macs: { total: number; byOpType: Record<string, number>; uncounted: string[]; shapes: Record<string, number[]> };
}

beforeAll(() => {
  assertCliBuilt();
});

describe('mlctl inspect --macs', () => {
  it('counts an MLP exactly: batch × (64·128 + 128·10) MACs', { timeout: 30_000 }, async () => {
    const result = await runCli(['inspect', path.join(repoRoot, 'fixtures/models/mlp.onnx'), '--macs', '--shape', 'x=4,64', '--json']);
    expect(result.exitCode).toBe(0);
    const { macs } = JSON.parse(result.stdout) as MacsJson;
    expect(macs).toEqual({ total: 4 * (64 * 128 + 128 * 10), byOpType: { MatMul: 4 * (64 * 128 + 128 * 10) }, uncounted: [], shapes: { x: [4, 64] } });
  });

  it("gives ResNet50's well-known 4.09 GMACs at 224×224 and prints a table", { timeout: 60_000 }, async () => {
    const result = await runCli(['inspect', corpusModel('light_resnet50.onnx'), '--macs', '--json']);
    expect(result.exitCode).toBe(0);
    const { macs } = JSON.parse(result.stdout) as MacsJson;
    // The fully connected layer: 2048 × 1000; every other MAC is in the 53 Convs.
    expect(macs.byOpType.Gemm).toBe(2048 * 1000);
    expect(macs.total).toBeGreaterThan(4.08e9);
    expect(macs.total).toBeLessThan(4.10e9);
    expect(macs.uncounted).toEqual([]);
    const table = await runCli(['inspect', corpusModel('light_resnet50.onnx'), '--macs']);
    expect(table.stdout).toMatch(/MACs by operator[\s\S]*Conv[\s\S]*total\s*│\s*4,089,184,256/);
  });

  it('rejects a malformed --shape with exit 2', { timeout: 30_000 }, async () => {
    const result = await runCli(['inspect', path.join(repoRoot, 'fixtures/models/mlp.onnx'), '--macs', '--shape', 'x=4,a']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe("mlctl: error: --shape 'x=4,a' is not name=dims; expected e.g. --shape input=1,3,224,224");
  });
});
