/**
 * End-to-end tests of `mlctl convert`: the built CLI in a child process on
 * PP-OCR's direction classifier (opset 9), checking exit codes, stdout,
 * stderr, the written model and the files left behind.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/common/hash.js';
import { opsetVersion } from '../../src/onnx/graph.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { provenanceKeys } from '../../src/onnx/provenance.js';
import type { OpsetConversionReport } from '../../src/passes/convert/opset/index.js';
import { ppOcrClsModel, repoRoot } from '../helpers/paths.js';
import { assertCliBuilt, runCli } from '../helpers/run-cli.js';

let tempDir = '';

beforeAll(async () => {
  assertCliBuilt();
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-convert-'));
});

afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

const out = (name: string): string => path.join(tempDir, name);

interface OutcomeJson {
  schemaVersion: number;
  input: string;
  output: string;
  sizeBytes: number;
  report: OpsetConversionReport;
}

describe.skipIf(!existsSync(ppOcrClsModel))('mlctl convert', () => {
  it('converts PP-OCR cls to opset 13, prints the report and records provenance', { timeout: 30_000 }, async () => {
    const target = out('cls13.onnx');
    const result = await runCli(['convert', ppOcrClsModel, '-o', target, '--opset', '13']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('9 → 13');
    expect(result.stdout).toMatch(/Clip\s+│ 6 → 11\s+│ min\/max attributes → inputs\s+│ 18/);
    const { model } = await loadModel(target);
    expect(opsetVersion(model, '')).toBe(13);
    const metadata = Object.fromEntries(model.metadataProps.map((entry) => [entry.key, entry.value]));
    expect(metadata[provenanceKeys.command]).toBe('convert');
    expect(JSON.parse(metadata[provenanceKeys.parameters] ?? '{}')).toEqual({ opset: 13 });
    expect(metadata[provenanceKeys.sourceSha256]).toBe(await sha256File(ppOcrClsModel));
  });

  it('prints the report as JSON with --json', { timeout: 30_000 }, async () => {
    const target = out('cls26.onnx');
    const result = await runCli(['convert', ppOcrClsModel, '-o', target, '--opset', '26', '--json']);
    expect(result.exitCode).toBe(0);
    const outcome = JSON.parse(result.stdout) as OutcomeJson;
    expect(outcome).toMatchObject({ schemaVersion: 1, input: ppOcrClsModel, output: target });
    expect(outcome.report).toMatchObject({ fromOpset: 9, toOpset: 26, irVersionFrom: 8, irVersionTo: 13 });
    expect(outcome.report.adapters.map((record) => record.opType)).toEqual(['Slice', 'Clip', 'Softmax']);
  });

  it('refuses a conversion without an equivalent with exit 3 and writes nothing', { timeout: 30_000 }, async () => {
    const target = out('cls7.onnx');
    const result = await runCli(['convert', ppOcrClsModel, '-o', target, '--opset', '7']);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`mlctl: error: cannot convert '${ppOcrClsModel}' from opset 9 to 7: 1 node has no equivalent: node #463 (Constant)`);
    expect(result.stderr).toContain("its output 'fill_constant_1.tmp_0' is int32, which Constant accepts only from opset 9 on");
    expect(existsSync(target)).toBe(false);
    expect((await readdir(tempDir)).filter((file) => file.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to overwrite an existing output without --force (exit 2), and overwrites with it', { timeout: 30_000 }, async () => {
    const target = out('existing.onnx');
    await writeFile(target, 'keep me');
    const refused = await runCli(['convert', ppOcrClsModel, '-o', target, '--opset', '13']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toBe(`mlctl: error: '${target}' already exists\nmlctl: hint: pass --force to overwrite it\n`);
    const forced = await runCli(['convert', ppOcrClsModel, '-o', target, '--opset', '13', '--force']);
    expect(forced.exitCode).toBe(0);
    expect(opsetVersion((await loadModel(target)).model, '')).toBe(13);
  });

  it('re-saves the model byte-identically when given no conversion option', { timeout: 30_000 }, async () => {
    const target = out('resaved.onnx');
    const result = await runCli(['convert', ppOcrClsModel, '-o', target, '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ schemaVersion: 1, output: target, identical: true });
    expect(await sha256File(target)).toBe(await sha256File(ppOcrClsModel));
  });

  it('refuses a plain re-save that would leave external data behind, and allows it beside the data', { timeout: 30_000 }, async () => {
    const source = path.join(repoRoot, 'fixtures/models/external-data.onnx');
    const elsewhere = out('external-elsewhere.onnx');
    const refused = await runCli(['convert', source, '-o', elsewhere]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toBe(
      `mlctl: error: '${source}' keeps weights in external data files, which a plain re-save into another folder would leave behind\n` +
      'mlctl: hint: pass --external-data to write the weights next to the output, or --inline-data to put them inside it\n',
    );
    expect(existsSync(elsewhere)).toBe(false);
    const dir = out('beside');
    await mkdir(dir);
    await copyFile(source, path.join(dir, 'external-data.onnx'));
    await copyFile(path.join(repoRoot, 'fixtures/models/external-data.bin'), path.join(dir, 'external-data.bin'));
    const beside = path.join(dir, 'copy.onnx');
    const saved = await runCli(['convert', path.join(dir, 'external-data.onnx'), '-o', beside]);
    expect(saved.exitCode).toBe(0);
    expect(await sha256File(beside)).toBe(await sha256File(source));
    expect((await loadModel(beside)).model.graph?.initializer.length).toBeGreaterThan(0);
  });

  it('never writes over its input (exit 2)', { timeout: 30_000 }, async () => {
    const input = out('input.onnx');
    await copyFile(ppOcrClsModel, input);
    const result = await runCli(['convert', input, '-o', input, '--opset', '13', '--force']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`mlctl: error: the output path '${input}' is the input model; convert never overwrites its input`);
  });

  it.each([
    [['--opset', '13'], 'mlctl: error: convert needs an output path: pass -o <out.onnx>'],
    [['-o', 'x.onnx', '--opset', 'thirteen'], "mlctl: error: --opset 'thirteen' is not an opset version; expected a positive integer such as 13"],
    [['-o', 'x.onnx', '--opset', '99'], 'mlctl: error: --opset 99 is newer than any released ONNX opset; the newest is 27'],
  ])('rejects bad usage %j with exit 2', { timeout: 30_000 }, async (args, message) => {
    const result = await runCli(['convert', ppOcrClsModel, ...args], { cwd: tempDir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(message);
  });
});
