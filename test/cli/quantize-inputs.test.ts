/**
 * `mlctl quantize --inputs <dir>`: verification on real inputs from files
 * (`.pb` TensorProto as in ONNX's backend test data, `.npy`, JSON), through
 * the built CLI.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';
import { assertCliBuilt, runCli } from '../helpers/run-cli.js';

const fixture = (file: string): string => path.join(repoRoot, 'fixtures/models', file);
/** An ONNX backend test (Debian package libonnx-testdata): a Conv with a 13×16×3×3 weight, one input '0' of [20, 16, 50, 40]. */
const backendConvDir = path.join(process.env.MLCTL_ONNX_TESTDATA_DIR ?? '/usr/share/libonnx-testdata/data', 'pytorch-operator/test_operator_conv');
const requireCorpus = process.env.MLCTL_REQUIRE_CORPUS === '1';

let tempDir = '';

beforeAll(async () => {
  assertCliBuilt();
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-quantize-inputs-'));
});

afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

/** A version-1 `.npy` file. */
function npy(descr: string, shape: readonly number[], data: ArrayBufferView): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = new Uint8Array(10);
  prefix.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(prefix.buffer).setUint16(8, header.length, true);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]);
}

async function inputsDir(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = path.join(tempDir, name);
  await mkdir(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) await writeFile(path.join(dir, file), content);
  return dir;
}

interface VerificationJson {
  inputs: { name: string; dtype: string; dims: number[]; random: boolean; file?: string }[];
  outputs: { name: string; cosine: number | null }[];
  worstCosine: number | null;
}

function verificationOf(stdout: string): VerificationJson {
  const outcome = JSON.parse(stdout) as { verification?: VerificationJson };
  expect(outcome.verification).toBeDefined();
  return outcome.verification!;
}

describe('mlctl quantize --inputs', () => {
  it.skipIf(!existsSync(backendConvDir) && !requireCorpus)('verifies on the .pb inputs of an ONNX backend test (libonnx-testdata)', async () => {
    const target = path.join(tempDir, 'conv.int8.onnx');
    const result = await runCli(['quantize', path.join(backendConvDir, 'model.onnx'), '-o', target, '--min-elements', '0', '--inputs', path.join(backendConvDir, 'test_data_set_0'), '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const verification = verificationOf(result.stdout);
    expect(verification.inputs).toEqual([
      { name: '0', dtype: 'float32', dims: [20, 16, 50, 40], random: false, file: path.join(backendConvDir, 'test_data_set_0', 'input_0.pb') },
    ]);
    expect(verification.worstCosine).toBeGreaterThan(0.999);
    expect(existsSync(target)).toBe(true);
  });

  it('reads .npy and JSON inputs, each named after its input', async () => {
    const x = Float32Array.from({ length: 3 * 64 }, (_, i) => Math.sin(i));
    const dir = await inputsDir('mlp', { 'x.npy': npy('<f4', [3, 64], x), 'notes.txt': 'ignored' });
    const result = await runCli(['quantize', fixture('mlp.onnx'), '-o', path.join(tempDir, 'mlp.int8.onnx'), '--min-elements', '0', '--inputs', dir, '--json']);
    expect(result.exitCode).toBe(0);
    const verification = verificationOf(result.stdout);
    // Batch 3 comes from the file: random inputs would have batch 1.
    expect(verification.inputs).toEqual([{ name: 'x', dtype: 'float32', dims: [3, 64], random: false, file: path.join(dir, 'x.npy') }]);
    expect(verification.worstCosine).toBeGreaterThan(0.99);

    const ifDir = await inputsDir('if', { 'cond.npy': npy('|b1', [], new Uint8Array([1])), 'x.json': '[0.5, -1, 2, 0.25]' });
    const branch = await runCli(['quantize', fixture('if-subgraph.onnx'), '-o', path.join(tempDir, 'if.int8.onnx'), '--min-elements', '0', '--inputs', ifDir, '--json']);
    expect(branch.exitCode).toBe(0);
    expect(verificationOf(branch.stdout).inputs).toEqual([
      { name: 'cond', dtype: 'bool', dims: [], random: false, file: path.join(ifDir, 'cond.npy') },
      { name: 'x', dtype: 'float32', dims: [4], random: false, file: path.join(ifDir, 'x.json') },
    ]);

    const table = await runCli(['quantize', fixture('mlp.onnx'), '--dry-run', '--min-elements', '0', '--inputs', dir]);
    expect(table.stdout).toContain(`Inputs: x[3,64] from ${path.join(dir, 'x.npy')}`);
  });

  it('exits 3 and writes nothing when a file is missing, malformed or does not fit the input', async () => {
    const target = path.join(tempDir, 'bad.int8.onnx');
    const cases: [Record<string, string | Uint8Array>, string][] = [
      [{ 'cond.npy': npy('|b1', [], new Uint8Array([1])) }, "has no file for input 'x'"],
      [{ 'cond.npy': npy('|b1', [], new Uint8Array([1])), 'x.json': '[1, 2, 3, 4, 5]' }, "has shape [5], but input 'x' takes [4]"],
      [{ 'cond.npy': npy('<f4', [], new Float32Array([1])), 'x.json': '[1, 2, 3, 4]' }, "holds float32 values, but input 'cond' takes bool"],
      [{ 'cond.npy': 'not numpy', 'x.json': '[1, 2, 3, 4]' }, 'is not a usable .npy file'],
    ];
    for (const [index, [files, message]] of cases.entries()) {
      const dir = await inputsDir(`bad-${index}`, files);
      const result = await runCli(['quantize', fixture('if-subgraph.onnx'), '-o', target, '--inputs', dir]);
      expect(result.exitCode, message).toBe(3);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
      expect(existsSync(target)).toBe(false);
    }
  });

  it('exits 2 for --inputs with --shape, or without verification', async () => {
    const dir = await inputsDir('usage', {});
    const withShape = await runCli(['quantize', fixture('mlp.onnx'), '--dry-run', '--inputs', dir, '--shape', 'x=1,64']);
    expect(withShape.exitCode).toBe(2);
    expect(withShape.stderr).toContain('mlctl: error: --inputs gives the tensors themselves; --shape applies to random inputs only');
    const unverified = await runCli(['quantize', fixture('mlp.onnx'), '--dry-run', '--inputs', dir, '--no-verify']);
    expect(unverified.exitCode).toBe(2);
    expect(unverified.stderr).toContain('mlctl: error: --inputs feeds the verification, which --no-verify turns off');
  });
});
