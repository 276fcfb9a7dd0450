/**
 * Seeded fuzzing of the model decoder: mutated and truncated models either
 * load (and re-encode) or are rejected with ModelFormatError, never another
 * exception and never a hang; plus targeted hostile inputs.
 *
 * The fuzz loop runs in a worker thread so that a hang is cut off by a
 * watchdog (a synchronous loop cannot be interrupted by a test timeout).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/common/errors.js';
import { makeGraph, makeModel, makeNode, makeTensorValueInfo } from '../../src/onnx/builder.js';
import { decodeMessage } from '../../src/onnx/codec.js';
import { decodeModel, serializeModel } from '../../src/onnx/model-io.js';
import { tensorData } from '../../src/onnx/tensor.js';
import { DataType, type TensorProto } from '../../src/onnx/types.js';
import { sharedCorpusDir } from '../helpers/paths.js';
import { encodeVarint, lengthPrefixes, makeVariant, mutationKinds, type FuzzFixture, type FuzzReport } from './fuzz-harness.js';
import { floatTensor, nestedModel } from './model-fixtures.js';

const seed = 20_240_601;
const minimumVariants = 10_000;
const watchdogMs = 75_000;

const backendTestDataDir = '/usr/share/libonnx-testdata/data';
/** Small real models covering subgraphs (If, Loop, Scan), sequences, training info, strings and weights. */
const backendFixtures = [
  'node/test_add', 'node/test_if', 'node/test_loop11', 'node/test_scan9_sum', 'node/test_constant',
  'simple/test_sequence_model3', 'simple/test_gradient_of_add_and_mul', 'simple/test_strnorm_model_monday_casesensintive_upper',
  'pytorch-operator/test_operator_add_size1_broadcast',
];
const lightFixtures = ['light_bvlc_alexnet.onnx', 'light_zfnet512.onnx', 'light_squeezenet.onnx'];

/** A model with an initializer in raw_data, typed data and int64 attributes. */
function convModel(): Uint8Array {
  const model = makeModel({
    opsets: { '': 17 },
    producerName: 'mlctl-fuzz',
    graph: makeGraph({
      name: 'conv',
      nodes: [makeNode('Conv', ['x', 'w'], ['y'], { pads: [1, 1, 1, 1], strides: [1, 1], kernel_shape: [3, 3] }, { name: 'conv' })],
      inputs: [makeTensorValueInfo('x', DataType.FLOAT, ['N', 1, 8, 8])],
      outputs: [makeTensorValueInfo('y', DataType.FLOAT, ['N', 2, 8, 8])],
      initializers: [floatTensor('w', [2, 1, 3, 3], Array.from({ length: 18 }, (_, i) => i / 7))],
    }),
  });
  return serializeModel(model);
}

function fuzzFixtures(): FuzzFixture[] {
  const fixtures: FuzzFixture[] = [
    { name: 'built nestedModel', bytes: serializeModel(nestedModel()) },
    { name: 'built conv', bytes: convModel() },
  ];
  for (const dir of backendFixtures) {
    const file = path.join(backendTestDataDir, dir, 'model.onnx');
    if (existsSync(file)) fixtures.push({ name: dir, bytes: new Uint8Array(readFileSync(file)) });
  }
  for (const name of lightFixtures) {
    const file = path.join(sharedCorpusDir, name);
    if (existsSync(file)) fixtures.push({ name, bytes: new Uint8Array(readFileSync(file)) });
  }
  return fixtures;
}

/** Runs the fuzz loop in a worker (TypeScript through tsx's API); terminates it and says where if it outlives `limitMs`. */
async function runFuzzInWorker(fixtures: FuzzFixture[], variantsPerFixture: number, limitMs: number): Promise<FuzzReport> {
  const tsxApi = path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs');
  const progress = new Int32Array(new SharedArrayBuffer(8));
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.tsxApi)
      .then(({ tsImport }) => tsImport(workerData.harness, workerData.parent))
      .then(({ runFuzz }) => parentPort.postMessage(runFuzz(workerData.fixtures, workerData.options)));
  `;
  const worker = new Worker(source, {
    eval: true,
    workerData: {
      tsxApi: pathToFileURL(tsxApi).href,
      harness: new URL('./fuzz-harness.ts', import.meta.url).href,
      parent: import.meta.url,
      fixtures,
      options: { seed, variantsPerFixture, progress },
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<FuzzReport>((resolve, reject) => {
      worker.once('message', (report: FuzzReport) => resolve(report));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`fuzz worker exited with code ${code} before reporting`)));
      timer = setTimeout(() => {
        const [fixtureIndex = 0, variantIndex = 0] = Array.from(progress);
        const fixture = fixtures[fixtureIndex]!;
        const variant = makeVariant(fixture, lengthPrefixes(fixture.bytes), seed, fixtureIndex, variantIndex);
        reject(new Error(`fuzzing took over ${limitMs} ms; stuck on ${variant.note}`));
      }, limitMs);
    });
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}

/** One fuzz run shared by the tests below (started by the first that needs it). */
let fuzzRun: Promise<{ report: FuzzReport; fixtures: number }> | undefined;
function fuzzReport(): Promise<{ report: FuzzReport; fixtures: number }> {
  fuzzRun ??= (async () => {
    const fixtures = fuzzFixtures();
    // At least 10,000 variants also when the corpora are missing and only the built fixtures remain.
    const variantsPerFixture = Math.max(800, Math.ceil(12_000 / fixtures.length));
    const report = await runFuzzInWorker(fixtures, variantsPerFixture, watchdogMs);
    console.info(
      `fuzz: ${report.variants} variants of ${fixtures.length} fixtures in ${(report.elapsedMs / 1000).toFixed(1)} s: ` +
      `${report.loaded} loaded (${report.reencodedExact} re-encoded byte-identical), ${report.rejected} rejected with ModelFormatError, ` +
      `${report.failures.length} contract failures; slowest ${report.slowestMs.toFixed(1)} ms (${report.slowest}); ` +
      `variants by kind ${JSON.stringify(report.byKind)}; loaded by kind ${JSON.stringify(report.loadedByKind)}; ` +
      `padded-prefix variants re-encoded byte-identically: ${report.padded.exact} of ${report.padded.loaded}`,
    );
    return { report, fixtures: fixtures.length };
  })();
  return fuzzRun;
}

describe('fuzzing the model decoder', () => {
  it(`decodes at least ${minimumVariants} mutated models, rejecting bad ones only with ModelFormatError`, async () => {
    const { report } = await fuzzReport();
    expect(report.failures.slice(0, 20)).toEqual([]);
    expect(report.variants).toBeGreaterThanOrEqual(minimumVariants);
    expect(report.loaded + report.rejected).toBe(report.variants);
    expect(report.loaded).toBeGreaterThan(0);
    expect(report.rejected).toBeGreaterThan(0);
    expect(Object.keys(report.byKind).sort()).toEqual([...mutationKinds, 'stacked'].sort());
    expect(report.slowestMs).toBeLessThan(2_000);
  }, watchdogMs + 15_000);

  it('loads every variant whose length prefix was only padded (an equivalent encoding)', async () => {
    const { report } = await fuzzReport();
    expect(report.loadedByKind.padLengthPrefix).toBe(report.byKind.padLengthPrefix);
  }, watchdogMs + 15_000);

  it('re-encodes every variant it loads byte-identically', async () => {
    // A loaded variant is well-formed protobuf, which the codec promises to reproduce exactly.
    const { report } = await fuzzReport();
    expect(report.inexact).toEqual([]);
    expect(report.reencodedExact).toBe(report.loaded - (report.padded.loaded - report.padded.exact));
  }, watchdogMs + 15_000);

  it('re-encodes variants with padded (non-minimal) length prefixes byte-identically', async () => {
    const { report } = await fuzzReport();
    expect(report.padded.loaded).toBeGreaterThan(0);
    expect(report.padded.examples).toEqual([]);
    expect(report.padded.exact).toBe(report.padded.loaded);
  }, watchdogMs + 15_000);
});

/** Bytes of a message field: tag, length prefix, payload. */
function field(fieldNumber: number, payload: ArrayLike<number>): number[] {
  return [...encodeVarint(fieldNumber * 8 + 2), ...encodeVarint(payload.length), ...Array.from(payload)];
}

/** A ModelProto with ir_version 7 and a graph built from `graphBody` bytes. */
function modelWithGraph(graphBody: ArrayLike<number>): Uint8Array {
  return new Uint8Array([0x08, 0x07, ...field(7, graphBody)]);
}

/** A TypeProto nesting `levels` sequence_type wrappers around a float tensor type. */
function nestedSequenceType(levels: number): Uint8Array {
  // Built inside out: each level's two prefixes depend on the size of what they wrap.
  const core = field(1, [0x08, 0x01]); // tensor_type { elem_type: FLOAT }
  const prefixes: number[][] = [];
  let size = core.length;
  for (let level = 0; level < levels; level++) {
    // TypeProto.sequence_type (4) { elem_type (1): TypeProto }
    const sequence = [...encodeVarint(1 * 8 + 2), ...encodeVarint(size)];
    size += sequence.length;
    const type = [...encodeVarint(4 * 8 + 2), ...encodeVarint(size)];
    size += type.length;
    prefixes.push(sequence, type);
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (let i = prefixes.length - 1; i >= 0; i--) {
    out.set(prefixes[i]!, pos);
    pos += prefixes[i]!.length;
  }
  out.set(core, pos);
  return out;
}

function expectModelFormatError(body: () => unknown): ModelFormatError {
  let caught: unknown;
  try {
    body();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ModelFormatError);
  return caught as ModelFormatError;
}

describe('hostile inputs', () => {
  it('rejects a length prefix larger than the remaining input', () => {
    // graph field claims 100 bytes, 5 follow.
    const bytes = new Uint8Array([0x08, 0x07, 0x3a, 100, 0x0a, 0x01, 0x61, 0x12, 0x00]);
    const error = expectModelFormatError(() => decodeModel(bytes, 'short.onnx'));
    expect(error.message).toMatch(/^'short\.onnx' is not a valid ONNX model: .*length prefix claims 100 bytes but only 5 remain/);
  });

  it('rejects a length prefix of 2^32 - 1 inside a nested message', () => {
    const bytes = new Uint8Array([0x08, 0x07, 0x3a, 0x07, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x61]);
    expectModelFormatError(() => decodeModel(bytes, 'huge-length.onnx'));
  });

  it('rejects 10,000 nested sequence types as too deep, not with a stack overflow', () => {
    const type = nestedSequenceType(10_000);
    const valueInfo = [...field(1, [0x78]), ...field(2, type)]; // name "x", type
    const bytes = modelWithGraph([...field(2, [0x67]), ...field(11, valueInfo)]);
    const error = expectModelFormatError(() => decodeModel(bytes, 'deep.onnx'));
    expect(error.message).toMatch(/^'deep\.onnx' is not a valid ONNX model: messages nested deeper than 100 levels at byte \d+$/);
  });

  it('rejects 100,000 nested types with no depth limit as ModelFormatError, never RangeError', () => {
    const type = nestedSequenceType(100_000);
    expectModelFormatError(() => decodeMessage('TypeProto', type, { maxDepth: Number.POSITIVE_INFINITY }));
  });

  it('rejects 10,000 nested groups in an unknown field', () => {
    // Unknown field 99 as start-group tags (wire type 3), never closed properly deep down.
    const open = encodeVarint(99 * 8 + 3);
    const close = encodeVarint(99 * 8 + 4);
    const groups: number[] = [];
    for (let i = 0; i < 10_000; i++) groups.push(...open);
    for (let i = 0; i < 10_000; i++) groups.push(...close);
    const bytes = new Uint8Array([0x08, 0x07, ...groups, ...field(7, field(2, [0x67]))]);
    expectModelFormatError(() => decodeModel(bytes, 'groups.onnx'));
  });

  it('rejects a 6-byte length prefix of 2^35 instead of reading it as 0', () => {
    // graph: length varint 80 80 80 80 80 01 (= 2^35), then 3 bytes of graph.
    const bytes = new Uint8Array([0x08, 0x07, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x12, 0x01, 0x67]);
    expectModelFormatError(() => decodeModel(bytes, 'length-2^35.onnx'));
  });

  it.each([
    ['a padded graph length', [0x08, 0x07, 0x3a, 0x83, 0x00, 0x12, 0x01, 0x67]],
    ['a padded graph-name length', [0x08, 0x07, 0x3a, 0x04, 0x12, 0x81, 0x00, 0x67]],
    ['a padded ir_version tag', [0x88, 0x00, 0x07, 0x3a, 0x03, 0x12, 0x01, 0x67]],
    ['a padded ir_version value', [0x08, 0x87, 0x00, 0x3a, 0x03, 0x12, 0x01, 0x67]],
  ])('re-encodes %s (a valid non-minimal varint) byte-identically', (_what, input) => {
    const bytes = new Uint8Array(input);
    const model = decodeModel(bytes, 'padded.onnx');
    expect(model.graph?.name).toBe('g');
    expect(Buffer.from(serializeModel(model)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });

  const hugeTensors: Array<[string, Partial<TensorProto>, string]> = [
    ['10^12 elements with 4 bytes of raw_data', { dims: [1_000_000n, 1_000_000n], rawData: new Uint8Array(4) },
      "tensor 'huge': raw_data holds 4 bytes, but dims [1000000,1000000] of float32 need 4000000000000"],
    ['10^12 elements with one float_data value', { dims: [1_000_000n, 1_000_000n], floatData: [1] },
      "tensor 'huge': float_data holds 1 values, but dims [1000000,1000000] of float32 need 1000000000000"],
    ['2^80 elements (beyond 2^53)', { dims: [2n ** 40n, 2n ** 40n], rawData: new Uint8Array(4) },
      "tensor 'huge': dims [1099511627776,1099511627776] make 1208925819614629174706176 elements, more than the 9007199254740991 mlctl supports"],
    ['a negative dim', { dims: [-1n, 4n], rawData: new Uint8Array(16) },
      "tensor 'huge': dims [-1,4] hold a negative dimension (-1); tensor dims must be 0 or more"],
  ];
  it.each(hugeTensors)('loads a model whose tensor claims %s, then tensorData throws ModelFormatError without allocating', (_what, tensorFields, message) => {
    const tensor: TensorProto = { ...floatTensor('huge', [1], [0]), ...tensorFields };
    if (tensorFields.floatData !== undefined) delete tensor.rawData;
    const model = makeModel({
      opsets: { '': 17 },
      graph: makeGraph({
        name: 'huge',
        nodes: [makeNode('Identity', ['huge'], ['y'])],
        inputs: [],
        outputs: [makeTensorValueInfo('y', DataType.FLOAT)],
        initializers: [tensor],
      }),
    });
    const loaded = decodeModel(serializeModel(model), 'huge.onnx');
    const initializer = loaded.graph!.initializer[0]!;
    expect(initializer.dims).toEqual(tensorFields.dims);

    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const error = expectModelFormatError(() => tensorData(initializer));
    expect(performance.now() - t0).toBeLessThan(100);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
    expect(error.message).toBe(message);
  });
});
