/**
 * The ONNX backend node tests (Debian's libonnx-testdata, opsets 1 to 17):
 * every test model is converted and must still produce the test's expected
 * outputs in onnxruntime. Tests whose original model onnxruntime cannot run,
 * or whose data the runtime adapter cannot feed (sequences, optionals), are
 * counted apart; where onnxruntime already disagrees with ONNX on the
 * original, the converted model must agree with the original instead.
 * Converted models at opsets 13 and 17 must also pass onnx.checker.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { opsetVersion } from '../../../src/onnx/graph.js';
import { serializeModel } from '../../../src/onnx/model-io.js';
import { ortMaxOpset } from '../../../src/onnx/opset.js';
import { convertOpset } from '../../../src/passes/convert/opset/index.js';
import { loadNodeTest, nodeTestNames, nodeTestsDir, runNodeTest, type NodeTestConversion, type NodeTestOutcome } from './helpers/backend-node-tests.js';
import { allExist, checkerMaxOpset, describeIf, hasPythonOnnx, onnxCheckerFailures, python } from './helpers/corpus.js';

const names = nodeTestNames();

async function runAll(conversion: NodeTestConversion): Promise<Map<NodeTestOutcome['kind'], NodeTestOutcome[]>> {
  const byKind = new Map<NodeTestOutcome['kind'], NodeTestOutcome[]>();
  for (const name of names) {
    const outcome = await runNodeTest(name, conversion);
    byKind.set(outcome.kind, [...(byKind.get(outcome.kind) ?? []), outcome]);
  }
  return byKind;
}

function summary(label: string, byKind: Map<NodeTestOutcome['kind'], NodeTestOutcome[]>): string {
  const count = (kind: NodeTestOutcome['kind']): number => byKind.get(kind)?.length ?? 0;
  const refusals = new Map<string, number>();
  for (const outcome of byKind.get('refused') ?? []) {
    if (outcome.kind !== 'refused') continue;
    for (const reason of new Set(outcome.reasons)) refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
  }
  const lines = [
    `${label}: ${names.length} node tests: ${count('converted')} converted and match the expected outputs, ` +
      `${count('matchesOriginal')} converted and match the original (onnxruntime already disagrees with ONNX there), ` +
      `${count('refused')} refused, ${count('mismatch')} mismatch, ${count('ortLacksKernel')} converted but onnxruntime lacks a kernel, ` +
      `${count('ortFailsOriginal')} onnxruntime cannot run the original, ${count('unfeedable')} not feedable (sequences, optionals)`,
    ...[...refusals].sort((a, b) => b[1] - a[1]).map(([reason, times]) => `  refused ×${times}: ${reason}`),
    ...(byKind.get('ortLacksKernel') ?? []).map((outcome) => `  no kernel: ${outcome.name}: ${'why' in outcome ? outcome.why : ''}`),
  ];
  return lines.join('\n');
}

function mismatches(byKind: Map<NodeTestOutcome['kind'], NodeTestOutcome[]>): string[] {
  return (byKind.get('mismatch') ?? []).map((outcome) => `${outcome.name}: ${'why' in outcome ? outcome.why : ''}`);
}

describeIf(allExist(nodeTestsDir), 'ONNX backend node tests, converted', `'${nodeTestsDir}' is missing; install Debian's libonnx-testdata or set MLCTL_ONNX_TESTDATA_DIR`, () => {
  it(`converts every node test up to opset ${ortMaxOpset} with the expected outputs`, { timeout: 120_000 }, async () => {
    const byKind = await runAll(ortMaxOpset);
    console.log(summary(`up to ${ortMaxOpset}`, byKind));
    expect(mismatches(byKind)).toEqual([]);
    expect((byKind.get('refused') ?? []).map((outcome) => outcome.name)).toEqual(['test_scan_sum']);
    const matched = (byKind.get('converted')?.length ?? 0) + (byKind.get('matchesOriginal')?.length ?? 0);
    expect(matched).toBeGreaterThanOrEqual(850);
  });

  it('converts node tests down to opset 12 where the operators allow, with the expected outputs', { timeout: 120_000 }, async () => {
    const byKind = await runAll(12);
    console.log(summary('down to 12', byKind));
    expect(mismatches(byKind)).toEqual([]);
    expect(byKind.get('converted')?.length ?? 0).toBeGreaterThanOrEqual(700);
  });

  it(`round-trips every node test from opset 7 on up to ${ortMaxOpset} and back to its own opset`, { timeout: 120_000 }, async () => {
    const roundTrip = (model: Parameters<typeof convertOpset>[0]) => {
      const source = opsetVersion(model, '') ?? 0;
      const up = convertOpset(model, ortMaxOpset).model;
      return convertOpset(up, Math.max(source, 7)).model;
    };
    const byKind = await runAll(roundTrip);
    console.log(summary('round trip', byKind));
    expect(mismatches(byKind)).toEqual([]);
    expect((byKind.get('refused') ?? []).map((outcome) => outcome.name)).toEqual(['test_scan_sum']);
  });

  describeIf(hasPythonOnnx(), 'onnx.checker', `${python} cannot import onnx (install Debian's python3-onnx)`, () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-convert-check-'));
    });
    afterAll(async () => {
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    });

    it.each([13, checkerMaxOpset])('accepts every node test converted to opset %i (full_check)', { timeout: 120_000 }, async (target) => {
      const files: string[] = [];
      for (const name of names) {
        const test = loadNodeTest(name);
        if ('unfeedable' in test && test.unfeedable === 'no graph') continue;
        const model = 'model' in test ? test.model : undefined;
        if (model === undefined) continue;
        let converted;
        try {
          converted = convertOpset(model, target).model;
        } catch {
          continue;
        }
        const file = path.join(dir, `${name}.${target}.onnx`);
        await writeFile(file, serializeModel(converted));
        files.push(file);
      }
      console.log(`onnx.checker at opset ${target}: ${files.length} converted node-test models checked`);
      expect(files.length).toBeGreaterThan(700);
      expect(onnxCheckerFailures(files)).toEqual([]);
    });
  });
});
