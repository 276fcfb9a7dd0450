/**
 * Real models from npm packages (PP-OCR det/rec/cls, every Silero VAD build):
 * they save back byte-identical, and onnxruntime (through mlctl's runtime
 * adapter) gives bitwise-identical outputs for the original file, the re-saved
 * file, and a copy whose metadata was changed, on the same seeded inputs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel, serializeModel } from '../../src/onnx/model-io.js';
import type { ModelProto } from '../../src/onnx/types.js';
import { createSession } from '../../src/runtime/onnxruntime.js';
import { randomInputs } from '../../src/runtime/random-inputs.js';
import type { HostTensor, SessionOptions } from '../../src/runtime/types.js';
import { ppOcrClsModel, ppOcrDetModel, ppOcrRecModel, sileroVadModel } from '../helpers/paths.js';

interface RealModel {
  title: string;
  file: string;
  /** Input shapes for the symbolic dims. */
  shapes: Record<string, number[]>;
  floatRange: [number, number];
  /** Inputs with fixed values instead of random ones. */
  fixed?: Record<string, HostTensor>;
}

const sileroDir = path.dirname(sileroVadModel);
const sampleRate: HostTensor = { dtype: 'int64', dims: [], data: new BigInt64Array([16000n]) };

const realModels: RealModel[] = [
  { title: 'PP-OCRv4 det', file: ppOcrDetModel, shapes: { x: [1, 3, 64, 64] }, floatRange: [0, 1] },
  { title: 'PP-OCRv4 rec', file: ppOcrRecModel, shapes: { x: [1, 3, 48, 160] }, floatRange: [0, 1] },
  { title: 'PP-OCR v2.0 cls', file: ppOcrClsModel, shapes: { x: [1, 3, 48, 192] }, floatRange: [0, 1] },
  // Every build in the package; one 512-sample chunk at 16 kHz, batch 1 (state [2, 1, 128]).
  ...readdirSync(sileroDir).filter((name) => name.endsWith('.onnx')).sort().map((name): RealModel => ({
    title: `Silero VAD ${name}`,
    file: path.join(sileroDir, name),
    shapes: { input: [1, 512] },
    floatRange: [-0.5, 0.5],
    fixed: { sr: sampleRate },
  })),
];

// One thread: the comparison is bitwise, so rule out any thread-dependent summation order.
const sessionOptions: SessionOptions = { intraOpThreads: 1, interOpThreads: 1 };

/** Runs a model file on seeded random inputs (plus the fixed ones it takes). */
async function runModel(file: string, spec: RealModel): Promise<Record<string, HostTensor>> {
  const session = await createSession(file, sessionOptions);
  try {
    const random = randomInputs(session.inputs.filter((input) => spec.fixed?.[input.name] === undefined), {
      seed: 1234,
      shapeOverrides: spec.shapes,
      floatRange: spec.floatRange,
    });
    const fixed = Object.fromEntries(session.inputs.filter((input) => spec.fixed?.[input.name] !== undefined).map((input) => [input.name, spec.fixed![input.name]!]));
    return await session.run({ ...random, ...fixed });
  } finally {
    await session.release();
  }
}

function bytesOf(tensor: HostTensor): Uint8Array {
  if (Array.isArray(tensor.data)) return new TextEncoder().encode(JSON.stringify(tensor.data));
  const data = tensor.data as Exclude<HostTensor['data'], string[]>;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function expectBitwiseEqual(actual: Record<string, HostTensor>, expected: Record<string, HostTensor>): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [name, tensor] of Object.entries(expected)) {
    const other = actual[name]!;
    expect(other.dtype, name).toBe(tensor.dtype);
    expect(other.dims, name).toEqual(tensor.dims);
    expect(Buffer.compare(bytesOf(other), bytesOf(tensor)), `output '${name}' differs bitwise`).toBe(0);
  }
}

/** A model's outline: header fields, opsets, graph inputs/outputs, node ops and initializer names, dims and sizes. */
function structure(model: ModelProto): unknown {
  const graph = model.graph;
  return {
    irVersion: model.irVersion,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    docString: model.docString,
    opsets: model.opsetImport,
    metadata: model.metadataProps,
    inputs: graph?.input.map((v) => v.name),
    outputs: graph?.output.map((v) => v.name),
    nodes: graph?.node.map((n) => `${n.domain ?? ''}:${n.opType ?? ''}(${n.input.join(',')})->(${n.output.join(',')})/${n.attribute.length}`),
    initializers: graph?.initializer.map((t) => `${t.name ?? ''}:${t.dataType ?? 0}[${t.dims.join(',')}]:${t.rawData?.length ?? -1}`),
    functions: model.functions.map((f) => f.name),
  };
}

let tempDir: string;
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'mlctl-real-models-'));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

describe('real models', () => {
  it('include PP-OCR det/rec/cls and the 4 Silero VAD builds', () => {
    expect(realModels.map((m) => path.basename(m.file))).toEqual([
      'ch_PP-OCRv4_det_infer.onnx',
      'ch_PP-OCRv4_rec_infer.onnx',
      'ch_ppocr_mobile_v2.0_cls_infer.onnx',
      'silero_vad.onnx',
      'silero_vad_16k_op15.onnx',
      'silero_vad_half.onnx',
      'silero_vad_op18_ifless.onnx',
    ]);
  });

  describe.each(realModels)('$title', (spec) => {
    it('saves back byte-identical and runs identically in onnxruntime', async () => {
      const loaded = await loadModel(spec.file);
      expect(Buffer.compare(serializeModel(loaded.model), loaded.bytes)).toBe(0);

      const savedFile = path.join(tempDir, `resaved-${path.basename(spec.file)}`);
      const saved = await saveModel(loaded.model, savedFile);
      expect(saved.sizeBytes).toBe(loaded.sizeBytes);
      expect(Buffer.compare(readFileSync(savedFile), readFileSync(spec.file))).toBe(0);

      const original = await runModel(spec.file, spec);
      expect(Object.keys(original).length).toBeGreaterThan(0);
      expectBitwiseEqual(await runModel(savedFile, spec), original);
    }, 60_000);

    it('saves a modified model that re-decodes with the change, is otherwise equal, and runs identically', async () => {
      const loaded = await loadModel(spec.file);
      const producerName = 'mlctl real-models test';
      const modified: ModelProto = { ...loaded.model, producerName, docString: 'changed by mlctl' };
      const modifiedFile = path.join(tempDir, `modified-${path.basename(spec.file)}`);
      await saveModel(modified, modifiedFile);

      const reloaded = (await loadModel(modifiedFile)).model;
      expect(reloaded.producerName).toBe(producerName);
      expect(reloaded.docString).toBe('changed by mlctl');
      const restored: ModelProto = { ...reloaded, producerName: loaded.model.producerName, docString: loaded.model.docString };
      if (restored.producerName === undefined) delete restored.producerName;
      if (restored.docString === undefined) delete restored.docString;
      // Same structure, and with the change undone, the original file's exact bytes.
      expect(structure(restored)).toEqual(structure(loaded.model));
      expect(Buffer.compare(serializeModel(restored), loaded.bytes)).toBe(0);

      expectBitwiseEqual(await runModel(modifiedFile, spec), await runModel(spec.file, spec));
    }, 60_000);
  });
});
