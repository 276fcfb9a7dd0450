/**
 * End-to-end tests of `mlctl inspect`: the built CLI runs in a child process
 * on real models and on broken files, as a user would run it.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../src/onnx/summary.js';
import { corpusModel, repoRoot, ppOcrClsModel, ppOcrDetModel, ppOcrRecModel, sileroVadModel } from '../helpers/paths.js';
import {
  decodeReferenceModel,
  walkReferenceNodes,
  type ReferenceModel,
  type ReferenceNode,
  type ReferenceValueInfo,
} from '../helpers/reference-onnx.js';
import { assertCliBuilt, runCli, type CliResult } from '../helpers/run-cli.js';

const corpusModels = [
  'light_bvlc_alexnet.onnx',
  'light_densenet121.onnx',
  'light_inception_v1.onnx',
  'light_inception_v2.onnx',
  'light_resnet50.onnx',
  'light_shufflenet.onnx',
  'light_squeezenet.onnx',
  'light_vgg19.onnx',
  'light_zfnet512.onnx',
];

let tempDir = '';

beforeAll(async () => {
  assertCliBuilt();
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-inspect-'));
});

afterAll(async () => {
  if (tempDir !== '') await rm(tempDir, { recursive: true, force: true });
});

async function inspectJson(model: string): Promise<{ result: CliResult; summary: ModelSummary }> {
  const result = await runCli(['inspect', model, '--json']);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return { result, summary: JSON.parse(result.stdout) as ModelSummary };
}

/** All nodes of the model: main graph and subgraphs, then function bodies. */
function referenceNodes(model: ReferenceModel): ReferenceNode[] {
  const nodes: ReferenceNode[] = [];
  if (model.graph !== undefined) walkReferenceNodes(model.graph, (node) => nodes.push(node));
  for (const fn of model.functions ?? []) walkReferenceNodes({ node: fn.node ?? [] }, (node) => nodes.push(node));
  return nodes;
}

function referenceHistogram(model: ReferenceModel): Record<string, number> {
  const histogram: Record<string, number> = {};
  for (const node of referenceNodes(model)) {
    const domain = node.domain ?? '';
    const key = domain === '' || domain === 'ai.onnx' ? (node.opType ?? '') : `${domain}::${node.opType ?? ''}`;
    histogram[key] = (histogram[key] ?? 0) + 1;
  }
  return histogram;
}

function referenceValue(info: ReferenceValueInfo): { name: string; shape: (number | string | null)[] | undefined } {
  const shape = info.type?.tensorType?.shape?.dim?.map((dim) =>
    dim.dimValue !== undefined ? Number(dim.dimValue) : dim.dimParam !== undefined && dim.dimParam !== '' ? dim.dimParam : null,
  );
  return { name: info.name ?? '', shape };
}

/** Graph inputs that are not initializers (IR < 4 models list weights as inputs too). */
function referenceRuntimeInputs(model: ReferenceModel): ReferenceValueInfo[] {
  const initializers = new Set((model.graph?.initializer ?? []).map((tensor) => tensor.name));
  return (model.graph?.input ?? []).filter((input) => !initializers.has(input.name));
}

function elementCount(dims: readonly string[] | undefined): number {
  return (dims ?? []).reduce((product, dim) => product * Number(dim), 1);
}

describe('mlctl inspect on real models', () => {
  it('summarizes light_resnet50.onnx as JSON, matching an independent decode', { timeout: 30_000 }, async () => {
    const file = corpusModel('light_resnet50.onnx');
    const reference = decodeReferenceModel(file);
    const { summary } = await inspectJson(file);

    expect(summary.schemaVersion).toBe(1);
    expect(summary.file).toEqual({ path: file, sizeBytes: (await readFile(file)).length });
    expect(summary.irVersion).toBe(3);
    expect(summary.opsetImports).toEqual([{ domain: '', version: 9 }]);
    expect(summary.opTypeHistogram['Conv']).toBe(53);
    expect(summary.opTypeHistogram['BatchNormalization']).toBe(53);
    expect(summary.opTypeHistogram).toEqual(referenceHistogram(reference));
    // Sorted by count, most frequent first.
    const counts = Object.values(summary.opTypeHistogram);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(summary.nodeCount).toBe(reference.graph?.node?.length);
    expect(summary.mainGraphNodeCount).toBe(summary.nodeCount);
    expect(summary.subgraphCount).toBe(0);
    // IR 3: the 269 initializers are graph inputs too, but not runtime inputs.
    expect(reference.graph?.input?.length).toBe(270);
    expect(summary.inputs).toEqual([{ name: 'gpu_0/data_0', dtype: 'float32', shape: [1, 3, 224, 224] }]);
    expect(summary.outputs).toEqual([{ name: 'gpu_0/softmax_1', dtype: 'float32', shape: [1, 1000] }]);
    expect(summary.initializerCount).toBe(reference.graph?.initializer?.length);
    expect(summary.initializerParameterCount).toBe(
      (reference.graph?.initializer ?? []).reduce((sum, tensor) => sum + elementCount(tensor.dims), 0),
    );
    expect(summary.externalDataFiles).toEqual([]);
  });

  it('prints overview, inputs/outputs and operator tables for light_resnet50.onnx', { timeout: 30_000 }, async () => {
    const result = await runCli(['inspect', corpusModel('light_resnet50.onnx')]);
    expect(result.exitCode).toBe(0);
    // No spinner or progress text when stderr is not a terminal.
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('IR version');
    expect(result.stdout).toMatch(/│ input +│ gpu_0\/data_0 +│ float32 │ \[1, 3, 224, 224\] │/);
    expect(result.stdout).toMatch(/│ output +│ gpu_0\/softmax_1 +│ float32 │ \[1, 1000\] +│/);
    expect(result.stdout).toMatch(/│ Conv +│ +53 │/);
    expect(result.stdout).toMatch(/│ ConstantOfShape +│ +239 │/);
    // The most frequent operator comes first.
    expect(result.stdout.indexOf('ConstantOfShape')).toBeLessThan(result.stdout.indexOf('│ Conv '));
  });

  it.each(corpusModels)('matches the independent decode for %s', { timeout: 30_000 }, async (name) => {
    const file = corpusModel(name);
    const reference = decodeReferenceModel(file);
    const { summary } = await inspectJson(file);
    expect(summary.opTypeHistogram).toEqual(referenceHistogram(reference));
    expect(summary.nodeCount).toBe(referenceNodes(reference).length);
    expect(summary.inputs.map(({ name: inputName, shape }) => ({ name: inputName, shape }))).toEqual(
      referenceRuntimeInputs(reference).map(referenceValue),
    );
    expect(summary.outputs.map(({ name: outputName, shape }) => ({ name: outputName, shape }))).toEqual(
      (reference.graph?.output ?? []).map(referenceValue),
    );
  });

  it('counts the weights PP-OCRv4 det keeps in Constant nodes', { timeout: 30_000 }, async () => {
    const reference = decodeReferenceModel(ppOcrDetModel);
    const constantElements = referenceNodes(reference)
      .filter((node) => node.opType === 'Constant')
      .reduce((sum, node) => sum + elementCount(node.attribute?.find((a) => a.name === 'value')?.t?.dims), 0);
    const { summary } = await inspectJson(ppOcrDetModel);

    expect(constantElements).toBeGreaterThan(1_000_000);
    expect(summary.constantParameterCount).toBe(constantElements);
    expect(summary.parameterCount).toBe(summary.initializerParameterCount + summary.constantParameterCount);
    expect(summary.parameterCount).toBeGreaterThan(0);
    expect(summary.bytesByDtype['float32']).toBeGreaterThan(4 * 1_000_000);
    expect(summary.opTypeHistogram).toEqual(referenceHistogram(reference));
    expect(summary.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'] }]);
  });

  it.each([ppOcrRecModel, ppOcrClsModel])('summarizes %s', { timeout: 30_000 }, async (file) => {
    const reference = decodeReferenceModel(file);
    const { summary } = await inspectJson(file);
    expect(summary.opTypeHistogram).toEqual(referenceHistogram(reference));
    expect(summary.parameterCount).toBeGreaterThan(0);
  });

  it('counts nodes inside the If subgraphs of Silero VAD', { timeout: 30_000 }, async () => {
    const reference = decodeReferenceModel(sileroVadModel);
    const { summary } = await inspectJson(sileroVadModel);
    expect(summary.subgraphCount).toBeGreaterThan(0);
    expect(summary.opTypeHistogram['If']).toBeGreaterThan(0);
    expect(summary.nodeCount).toBe(referenceNodes(reference).length);
    expect(summary.nodeCount).toBeGreaterThan(summary.mainGraphNodeCount);
    expect(summary.mainGraphNodeCount).toBe(reference.graph?.node?.length);
    expect(summary.opTypeHistogram).toEqual(referenceHistogram(reference));
  });
});

/** Deterministic pseudo-random bytes (a linear congruential generator), so the case never flakes. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

const jpegHeader = Uint8Array.from([
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x01, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00,
  0xff, 0xdb, 0x00, 0x43, 0x00,
]);

interface BadInputCase {
  name: string;
  /** Creates the bad input inside `dir` and returns the path to pass to mlctl. */
  setup: (dir: string) => Promise<string>;
  /** The expected error line, given the path. */
  message: (file: string) => string | RegExp;
}

const badInputs: BadInputCase[] = [
  {
    name: 'a missing file',
    setup: (dir) => Promise.resolve(path.join(dir, 'missing.onnx')),
    message: (file) => `mlctl: error: cannot read '${file}': no such file`,
  },
  {
    name: 'a directory',
    setup: async (dir) => {
      const folder = path.join(dir, 'folder.onnx');
      await mkdir(folder);
      return folder;
    },
    message: (file) => `mlctl: error: cannot read '${file}': it is a directory, not an ONNX model file`,
  },
  {
    name: 'an empty file',
    setup: async (dir) => {
      const file = path.join(dir, 'empty.onnx');
      await writeFile(file, new Uint8Array(0));
      return file;
    },
    message: (file) => `mlctl: error: '${file}' is empty, not an ONNX model`,
  },
  {
    name: 'a truncated model',
    setup: async (dir) => {
      const file = path.join(dir, 'truncated.onnx');
      const bytes = await readFile(corpusModel('light_resnet50.onnx'));
      await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
      return file;
    },
    message: (file) => new RegExp(`^mlctl: error: '${escapeRegExp(file)}' is not a valid ONNX model: .+ at byte \\d+$`),
  },
  {
    name: 'a valid protobuf that is not a model (a TensorProto)',
    setup: async (dir) => {
      const file = path.join(dir, 'tensor.onnx');
      await copyFile(corpusModel('light_resnet50_output_0.pb'), file);
      return file;
    },
    // Field 1 of a TensorProto (dims) reads as ir_version, so only the missing graph gives it away.
    message: (file) => `mlctl: error: '${file}' is not an ONNX model: it has no graph`,
  },
  {
    name: 'random bytes',
    setup: async (dir) => {
      const file = path.join(dir, 'random.onnx');
      await writeFile(file, pseudoRandomBytes(4096, 42));
      return file;
    },
    message: (file) => new RegExp(`^mlctl: error: '${escapeRegExp(file)}' is not a valid ONNX model: .+ at byte \\d+$`),
  },
  {
    name: 'a JPEG renamed .onnx',
    setup: async (dir) => {
      const file = path.join(dir, 'photo.onnx');
      await writeFile(file, jpegHeader);
      return file;
    },
    message: (file) => `mlctl: error: '${file}' is a JPEG image, not an ONNX model`,
  },
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Error output is one `mlctl: error:` line (plus optional hint lines) and never a stack trace. */
function expectOneErrorLine(result: CliResult, expected: string | RegExp): void {
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  const [errorLine = '', ...rest] = lines;
  if (typeof expected === 'string') expect(errorLine).toBe(expected);
  else expect(errorLine).toMatch(expected);
  expect(rest.every((line) => line.startsWith('mlctl: hint: '))).toBe(true);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe('mlctl inspect on bad input', () => {
  it.each(badInputs)('rejects $name with exit code 3 and one error line naming the file', { timeout: 30_000 }, async (testCase) => {
    const dir = await mkdtemp(path.join(tempDir, 'case-'));
    const file = await testCase.setup(dir);
    for (const args of [['inspect', file], ['inspect', file, '--json']]) {
      const result = await runCli(args);
      expect(result.exitCode).toBe(3);
      expect(result.stdout).toBe('');
      expectOneErrorLine(result, testCase.message(file));
      expect(result.stderr).toContain(file);
    }
  });

  it('adds a stack trace with --debug', { timeout: 30_000 }, async () => {
    const file = path.join(tempDir, 'debug-empty.onnx');
    await writeFile(file, new Uint8Array(0));
    for (const args of [['--debug', 'inspect', file], ['inspect', file, '--debug']]) {
      const result = await runCli(args);
      expect(result.exitCode).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr.split('\n')[0]).toBe(`mlctl: error: '${file}' is empty, not an ONNX model`);
      expect(result.stderr).toMatch(/^ModelFormatError: .*is empty/m);
      expect(result.stderr).toMatch(/^\s+at /m);
    }
  });

  it('treats an unknown option as a usage error (exit code 2)', { timeout: 30_000 }, async () => {
    const result = await runCli(['inspect', corpusModel('light_resnet50.onnx'), '--bogus']);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expectOneErrorLine(result, "mlctl: error: unknown option '--bogus'");
  });
});

describe('mlctl as an executable', () => {
  it('prints its version and help and exits 0', { timeout: 30_000 }, async () => {
    const manifest = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const version = await runCli(['--version']);
    expect(version).toEqual({ exitCode: 0, stdout: `${manifest.version}\n`, stderr: '' });
    const help = await runCli(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^ {2}inspect \[options\] <model>/m);
    expect(help.stderr).toBe('');
  });
});
