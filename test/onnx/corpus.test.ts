/**
 * The ONNX backend test suite (Debian's libonnx-testdata: every model.onnx
 * with its test_data_set_N folders of input_N.pb and output_N.pb) and the shared
 * onnx-light corpus: every model loads and saves back byte-identical, and
 * every test value decodes to the element count its dims imply and re-encodes
 * byte-identical.
 *
 * A missing corpus skips with a message saying where to get it, except with
 * MLCTL_REQUIRE_CORPUS=1 (CI), where it fails.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../src/onnx/codec.js';
import { dataTypeInfo } from '../../src/onnx/dtypes.js';
import { decodeModel, loadModel, serializeModel } from '../../src/onnx/model-io.js';
import { tensorData, tensorElementCount } from '../../src/onnx/tensor.js';
import {
  DataType,
  type MapProto,
  type ModelProto,
  type OptionalProto,
  type SequenceProto,
  type SparseTensorProto,
  type TensorProto,
  type TypeProto,
  type ValueInfoProto,
} from '../../src/onnx/types.js';
import { sharedCorpusDir } from '../helpers/paths.js';

/** Where Debian's libonnx-testdata puts the suite; MLCTL_ONNX_TESTDATA_DIR points elsewhere (e.g. an onnx checkout's onnx/backend/test/data). */
const backendTestDataDir = process.env.MLCTL_ONNX_TESTDATA_DIR ?? '/usr/share/libonnx-testdata/data';
const requireCorpus = process.env.MLCTL_REQUIRE_CORPUS === '1';

/** Defines the suite when `dir` exists; otherwise skips it with `missingHint`, or fails under MLCTL_REQUIRE_CORPUS=1. */
function describeCorpus(title: string, dir: string, missingHint: string, body: () => void): void {
  if (existsSync(dir)) {
    describe(title, body);
    return;
  }
  const message = `corpus '${dir}' is missing; ${missingHint}`;
  if (requireCorpus) {
    describe(title, () => {
      it('is present (MLCTL_REQUIRE_CORPUS=1)', () => {
        throw new Error(message);
      });
    });
  } else {
    console.warn(`skipping ${title}: ${message}`);
    describe.skip(`${title} (skipped: ${message})`, () => {
      it('round-trips', () => undefined);
    });
  }
}

type ValueMessage = 'TensorProto' | 'SequenceProto' | 'OptionalProto' | 'MapProto' | 'SparseTensorProto';

/** The message a test value of this graph input/output type is stored as. */
function valueMessageType(type: TypeProto | undefined): ValueMessage {
  if (type?.sequenceType !== undefined) return 'SequenceProto';
  if (type?.optionalType !== undefined) return 'OptionalProto';
  if (type?.mapType !== undefined) return 'MapProto';
  if (type?.sparseTensorType !== undefined) return 'SparseTensorProto';
  return 'TensorProto';
}

const littleEndianHost = os.endianness() === 'LE';

/**
 * Checks that a dense tensor decodes to exactly as many values as its dims
 * imply and, for whole-byte numeric raw_data, that the values are those
 * bytes; returns the dense tensors checked (1).
 */
function checkDenseTensor(tensor: TensorProto, where: string): number {
  const count = tensorElementCount(tensor);
  const info = dataTypeInfo(tensor.dataType ?? 0);
  const values = tensorData(tensor);
  if (values.length !== count * info.valuesPerElement) {
    throw new Error(`${where}: tensorData gives ${values.length} values, dims [${tensor.dims.join(',')}] imply ${count * info.valuesPerElement}`);
  }
  const bits = info.bitsPerElement;
  if (tensor.rawData !== undefined && littleEndianHost && bits !== undefined && bits >= 8 && info.dataType !== DataType.BOOL && !Array.isArray(values)) {
    const decodedBytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    if (Buffer.compare(decodedBytes, tensor.rawData) !== 0) {
      throw new Error(`${where}: tensorData's ${info.name} values are not the tensor's raw_data bytes (raw_data at byte offset ${tensor.rawData.byteOffset} of its buffer)`);
    }
  }
  return 1;
}

function checkSparse(sparse: SparseTensorProto, where: string): number {
  let tensors = 0;
  if (sparse.values !== undefined) tensors += checkDenseTensor(sparse.values, `${where}.values`);
  if (sparse.indices !== undefined) tensors += checkDenseTensor(sparse.indices, `${where}.indices`);
  return tensors;
}

function checkSequence(sequence: SequenceProto, where: string): number {
  let tensors = 0;
  sequence.tensorValues.forEach((t, i) => (tensors += checkDenseTensor(t, `${where}[${i}]`)));
  sequence.sparseTensorValues.forEach((s, i) => (tensors += checkSparse(s, `${where}[${i}]`)));
  sequence.sequenceValues.forEach((s, i) => (tensors += checkSequence(s, `${where}[${i}]`)));
  sequence.mapValues.forEach((m, i) => (tensors += checkMap(m, `${where}[${i}]`)));
  sequence.optionalValues.forEach((o, i) => (tensors += checkOptional(o, `${where}[${i}]`)));
  return tensors;
}

function checkMap(map: MapProto, where: string): number {
  const keyCount = map.keys.length + map.stringKeys.length;
  const values = map.values;
  if (values !== undefined) {
    const valueCount = values.tensorValues.length + values.sparseTensorValues.length + values.sequenceValues.length +
      values.mapValues.length + values.optionalValues.length;
    if (valueCount !== keyCount) throw new Error(`${where}: map has ${keyCount} keys but ${valueCount} values`);
    return checkSequence(values, `${where}.values`);
  }
  return 0;
}

function checkOptional(optional: OptionalProto, where: string): number {
  let tensors = 0;
  if (optional.tensorValue !== undefined) tensors += checkDenseTensor(optional.tensorValue, where);
  if (optional.sparseTensorValue !== undefined) tensors += checkSparse(optional.sparseTensorValue, where);
  if (optional.sequenceValue !== undefined) tensors += checkSequence(optional.sequenceValue, where);
  if (optional.mapValue !== undefined) tensors += checkMap(optional.mapValue, where);
  if (optional.optionalValue !== undefined) tensors += checkOptional(optional.optionalValue, where);
  return tensors;
}

/**
 * A file's bytes as a plain Uint8Array, as loadModel passes them to the codec
 * (a Node Buffer is tested on its own below).
 */
function readBytes(file: string): Uint8Array {
  const buffer = readFileSync(file);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Decodes one .pb test value, checks its tensors and its exact re-encoding; returns the dense tensors checked. */
function checkValueFile(file: string, messageType: ValueMessage): number {
  const bytes = readBytes(file);
  const check = <T extends object>(checkValue: (value: T, where: string) => number): number => {
    const value = decodeMessage<T>(messageType, bytes);
    const reencoded = encodeMessage(messageType, value);
    if (Buffer.compare(reencoded, bytes) !== 0) {
      throw new Error(`${file}: ${messageType} re-encodes to ${reencoded.length} different bytes (file has ${bytes.length})`);
    }
    return checkValue(value, file);
  };
  switch (messageType) {
    case 'TensorProto': return check(checkDenseTensor);
    case 'SequenceProto': return check(checkSequence);
    case 'OptionalProto': return check(checkOptional);
    case 'MapProto': return check(checkMap);
    case 'SparseTensorProto': return check(checkSparse);
  }
}

function expectByteIdentical(saved: Uint8Array, original: Uint8Array): void {
  expect(saved.length).toBe(original.length);
  expect(Buffer.compare(saved, original)).toBe(0);
}

/** Graph inputs that test data feeds: those without an initializer of the same name (older IRs list weights as inputs). */
function fedInputs(model: ModelProto): ValueInfoProto[] {
  const graph = model.graph;
  if (graph === undefined) return [];
  const initializers = new Set(graph.initializer.map((t) => t.name));
  return graph.input.filter((input) => !initializers.has(input.name));
}

const totals = { models: 0, modelBytes: 0, dataFiles: 0, tensors: 0, byMessage: new Map<string, number>() };

describeCorpus('ONNX backend test data (libonnx-testdata)', backendTestDataDir,
  "install the Debian package 'libonnx-testdata' (apt-get install libonnx-testdata)", () => {
    const folders = existsSync(backendTestDataDir) ? readdirSync(backendTestDataDir).sort() : [];

    for (const folder of folders) {
      const modelDirs = readdirSync(path.join(backendTestDataDir, folder))
        .map((name) => path.join(backendTestDataDir, folder, name))
        .filter((dir) => existsSync(path.join(dir, 'model.onnx')))
        .sort();
      if (modelDirs.length === 0) continue;

      describe(folder, () => {
        it.each(modelDirs.map((dir) => [path.basename(dir), dir]))('%s', async (_name, dir) => {
          const file = path.join(dir, 'model.onnx');
          const loaded = await loadModel(file);
          expectByteIdentical(serializeModel(loaded.model), loaded.bytes);
          totals.models++;
          totals.modelBytes += loaded.sizeBytes;

          const inputs = fedInputs(loaded.model);
          const outputs = loaded.model.graph?.output ?? [];
          for (const dataSet of readdirSync(dir).filter((name) => name.startsWith('test_data_set_')).sort()) {
            for (const name of readdirSync(path.join(dir, dataSet)).filter((n) => n.endsWith('.pb')).sort()) {
              const match = /^(input|output)_(\d+)\.pb$/.exec(name);
              if (match === null) throw new Error(`unexpected test data file '${name}' in ${dataSet}`);
              const io = (match[1] === 'input' ? inputs : outputs)[Number(match[2])];
              const messageType = valueMessageType(io?.type);
              totals.tensors += checkValueFile(path.join(dir, dataSet, name), messageType);
              totals.dataFiles++;
              totals.byMessage.set(messageType, (totals.byMessage.get(messageType) ?? 0) + 1);
            }
          }
        }, 30_000);
      });
    }

    afterAll(() => {
      console.info(`libonnx-testdata: ${totals.models} models (${(totals.modelBytes / 2 ** 20).toFixed(1)} MiB) round-tripped byte-identical; ` +
        `${totals.dataFiles} test values (${[...totals.byMessage].map(([type, n]) => `${n} ${type}`).join(', ')}) decoded, ` +
        `${totals.tensors} dense tensors checked`);
    });

    it('decodes a test value read into a Node Buffer like one read into a Uint8Array', () => {
      // readFileSync gives a Buffer, whose slice() shares memory instead of copying.
      const file = path.join(backendTestDataDir, 'node/test_add/test_data_set_0/input_0.pb');
      const bytes = readBytes(file);
      const buffer = Buffer.alloc(bytes.length); // unpooled: byteOffset 0, so raw_data stays unaligned at byte 14
      buffer.set(bytes);
      const fromBuffer = decodeMessage<TensorProto>('TensorProto', buffer);
      const fromBytes = decodeMessage<TensorProto>('TensorProto', bytes);
      expect(fromBuffer.rawData?.byteOffset).toBe(14);
      expect(Array.from(tensorData(fromBuffer) as Float32Array)).toEqual(Array.from(tensorData(fromBytes) as Float32Array));
    });

    it('covers the whole corpus', () => {
      // Runs after the per-model tests (tests in a file run in order). The Debian package ships 1,072 models.
      const expected = folders.reduce((sum, folder) => sum + readdirSync(path.join(backendTestDataDir, folder))
        .filter((name) => existsSync(path.join(backendTestDataDir, folder, name, 'model.onnx'))).length, 0);
      expect(expected).toBeGreaterThanOrEqual(1000);
      expect(totals.models).toBe(expected);
      expect(totals.dataFiles).toBeGreaterThanOrEqual(3000);
    });
  });

describeCorpus('onnx-light corpus', sharedCorpusDir,
  'it is the shared corpus of light ONNX models kept next to the checkout (../shared/corpus/onnx-light)', () => {
    const modelFiles = existsSync(sharedCorpusDir)
      ? readdirSync(sharedCorpusDir).filter((name) => name.endsWith('.onnx')).sort()
      : [];

    it('has the 9 architectures', () => {
      expect(modelFiles).toHaveLength(9);
    });

    it.each(modelFiles)('%s round-trips byte-identical and its output_0.pb decodes', (fileName) => {
      const file = path.join(sharedCorpusDir, fileName);
      const bytes = readBytes(file);
      const model = decodeModel(bytes, file);
      expectByteIdentical(serializeModel(model), bytes);

      const outputFile = file.replace(/\.onnx$/, '_output_0.pb');
      expect(existsSync(outputFile)).toBe(true);
      const messageType = valueMessageType(model.graph?.output[0]?.type);
      expect(messageType).toBe('TensorProto');
      expect(checkValueFile(outputFile, messageType)).toBe(1);
    }, 30_000);
  });
